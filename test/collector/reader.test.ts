import { test } from "node:test";
import assert from "node:assert/strict";
import type { ContainerClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter, flowLogContainer, type FlowLogKind } from "../support/flowLogWriter";
import { parseRecordBytes, readNewData, type BlobRef, type ReadChunk } from "../../collector/src/source/blobReader";
import { downloadRange } from "../../collector/src/source/download";
import { coveringBlocks, planRead } from "../../collector/src/source/blockPlan";
import { emptyCheckpoint, type BlobCheckpoint } from "../../collector/src/checkpoint/state";

const HOUR = new Date("2026-11-20T10:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());

async function freshContainer(kind: FlowLogKind): Promise<ContainerClient> {
  const container = scratch.container(`${flowLogContainer(kind)}-r`);
  await container.create();
  return container;
}

/** The chunk's records parsed as delivery parses them; none of these tests writes a balanced record that is not JSON. */
function recordValues(chunk: ReadChunk): unknown[] {
  return chunk.records.map((record) => {
    const parsed = parseRecordBytes(record);
    assert.equal(parsed.malformed, undefined);
    return parsed.value;
  });
}

function countTuples(records: unknown[]): number {
  let tuples = 0;
  for (const record of records as Array<Record<string, any>>) {
    const groups = record.properties ? record.properties.flows.flatMap((r: any) => r.flows) : record.flowRecords.flows.flatMap((f: any) => f.flowGroups);
    for (const group of groups) tuples += group.flowTuples.length;
  }
  return tuples;
}

/** Drives the reader the way the service does, with an in-memory checkpoint. */
class Harness {
  checkpoint: BlobCheckpoint;
  tuples = 0;
  records = 0;
  downloaded = 0;
  restarts: string[] = [];
  chunks: ReadChunk[] = [];
  constructor(readonly container: ContainerClient, readonly name: string, readonly windowBytes = 4 << 20) {
    this.checkpoint = emptyCheckpoint(container.containerName, name);
  }
  async poll() {
    const properties = await this.container.getBlobClient(this.name).getProperties();
    const ref: BlobRef = { container: this.container.containerName, name: this.name, etag: properties.etag?.replace(/"/g, ""), createdOn: properties.createdOn };
    return readNewData(this.container, ref, this.checkpoint, {
      windowBytes: this.windowBytes,
      onDownload: (bytes) => { this.downloaded += bytes; },
      onRestart: (reason) => { this.restarts.push(reason); this.checkpoint = emptyCheckpoint(this.container.containerName, this.name); },
    }, async (chunk) => {
      this.chunks.push(chunk);
      assert.equal(chunk.firstRecord, this.checkpoint.records, `records are numbered continuously across windows (${this.restarts.join("; ")})`);
      this.tuples += countTuples(recordValues(chunk));
      this.records += recordValues(chunk).length;
    }, async (checkpoint) => { this.checkpoint = checkpoint; });
  }
}

for (const kind of ["nsg-v1", "nsg-v2", "vnet-v4"] as const) {
  test(`${kind}: minute-by-minute growth is read with exact counts and every data byte downloaded once`, async () => {
    const container = await freshContainer(kind);
    const writer = new FlowLogBlobWriter(container, { kind, hour: HOUR, seed: 7 });
    const reader = new Harness(container, writer.blobName);
    for (let minute = 0; minute < 12; minute++) {
      const oldTail = writer.length - 2;
      await writer.appendMinute({ records: 1 + (minute % 3) });
      const result = await reader.poll();
      // The tail moved: the next read starts where the old `]}` was, which now holds the new block's `,{`.
      if (minute > 0) assert.equal(reader.chunks[reader.chunks.length - 1].start, oldTail);
      assert.equal(result.caughtUp, true);
      assert.equal(reader.tuples, writer.tuples, `after minute ${minute}`);
      assert.equal(reader.records, writer.records);
    }
    // Data bytes only: not the 12-byte head, not the 2-byte tail, nothing twice.
    assert.equal(reader.downloaded, writer.length - 12 - 2);
    assert.equal(reader.checkpoint.offset, writer.length - 2);
    assert.match(writer.blobName, kind === "vnet-v4"
      ? /^flowLogResourceID=\/[0-9A-F-]+_NETWORKWATCHERRG\/NETWORKWATCHER_WESTEUROPE_[A-Z0-9-]+\/y=2026\/m=11\/d=20\/h=10\/m=00\/macAddress=000D3AF8801A\/PT1H\.json$/
      : /^resourceId=\/SUBSCRIPTIONS\/[0-9A-F-]+\/RESOURCEGROUPS\/RG-APP\/PROVIDERS\/MICROSOFT\.NETWORK\/NETWORKSECURITYGROUPS\/NSG-APP\/y=2026\/m=11\/d=20\/h=10\/m=00\/macAddress=000D3AF8801A\/PT1H\.json$/);
  });
}

test("the blob grows exactly as Azure writes it: 12-byte head, comma-led blocks, 2-byte tail last", async () => {
  const container = await freshContainer("nsg-v2");
  const writer = new FlowLogBlobWriter(container, { kind: "nsg-v2", hour: HOUR, seed: 3 });
  for (let i = 0; i < 3; i++) await writer.appendMinute();
  const list = await writer.blob.getBlockList("committed");
  const sizes = list.committedBlocks!.map((b) => b.size);
  assert.equal(sizes.length, 5);
  assert.equal(sizes[0], 12);
  assert.equal(sizes[4], 2);
  const text = (await writer.blob.downloadToBuffer()).toString();
  assert.ok(text.startsWith('{"records":[{'));
  assert.ok(text.endsWith("}]}"));
  assert.equal(text[12 + sizes[1]], ",", "the second record block starts with a comma");
  assert.equal(JSON.parse(text).records.length, 3);
});

test("a read that starts at the end of the blob returns nothing (Azure 416, Azurite empty 206)", async () => {
  const container = await freshContainer("nsg-v1");
  const writer = new FlowLogBlobWriter(container, { kind: "nsg-v1", hour: HOUR });
  await writer.appendMinute();
  const body = await downloadRange(writer.blob, writer.length, writer.length + 10, undefined);
  assert.equal(body.length, 0);
  const reader = new Harness(container, writer.blobName);
  await reader.poll();
  const before = reader.downloaded;
  const again = await reader.poll();
  assert.equal(again.bytes, 0, "a poll with nothing new downloads nothing");
  assert.equal(reader.downloaded, before);
});

test("windows are bounded; the checkpoint advances window by window", async () => {
  const container = await freshContainer("vnet-v4");
  const writer = new FlowLogBlobWriter(container, { kind: "vnet-v4", hour: HOUR, seed: 11 });
  for (let i = 0; i < 10; i++) await writer.appendMinute({ records: 3, tuplesPerRecord: 20 });
  const reader = new Harness(container, writer.blobName, 5_000);
  const saved: number[] = [];
  const result = await readNewData(container, { container: container.containerName, name: writer.blobName }, reader.checkpoint,
    { windowBytes: 5_000 }, async (chunk) => { reader.chunks.push(chunk); reader.tuples += countTuples(recordValues(chunk)); },
    async (checkpoint) => { saved.push(checkpoint.offset); });
  assert.equal(result.caughtUp, true);
  assert.equal(reader.tuples, writer.tuples);
  assert.ok(reader.chunks.length > 2, `expected several windows, got ${reader.chunks.length}`);
  for (const chunk of reader.chunks) assert.ok(chunk.end - chunk.start <= 5_000 || chunk.records.length <= 3);
  for (let i = 1; i < reader.chunks.length; i++) assert.equal(reader.chunks[i].start, reader.chunks[i - 1].end);
  assert.deepEqual(saved.slice(0, reader.chunks.length), reader.chunks.map((c) => c.end));
});

test("one checkpoint write per window; the last window's is the caught-up write, with the ETag", async () => {
  const container = await freshContainer("vnet-v4");
  const writer = new FlowLogBlobWriter(container, { kind: "vnet-v4", hour: HOUR, seed: 12 });
  for (let i = 0; i < 10; i++) await writer.appendMinute({ records: 3, tuplesPerRecord: 20 });
  const ref = { container: container.containerName, name: writer.blobName };
  const saved: BlobCheckpoint[] = [];
  const ends: number[] = [];
  let tuples = 0;
  const result = await readNewData(container, ref, emptyCheckpoint(ref.container, ref.name), { windowBytes: 5_000 },
    async (chunk) => { ends.push(chunk.end); tuples += countTuples(recordValues(chunk)); },
    async (checkpoint) => { saved.push(checkpoint); });
  assert.equal(result.caughtUp, true);
  assert.equal(tuples, writer.tuples);
  assert.ok(ends.length > 2, `expected several windows, got ${ends.length}`);
  assert.deepEqual(saved.map((c) => c.offset), ends, "each window saved once, after the sink took it");
  assert.equal(saved.at(-1)!.etag, result.checkpoint.etag);
  assert.ok(result.checkpoint.etag, "caught up: the ETag is saved");
  assert.ok(saved.slice(0, -1).every((c) => c.etag === undefined));
  assert.deepEqual(result.checkpoint, saved.at(-1));

  // One more minute: one window, one write.
  await writer.appendMinute({ records: 2 });
  const more: BlobCheckpoint[] = [];
  const next = await readNewData(container, ref, result.checkpoint, { windowBytes: 5_000 },
    async (chunk) => { tuples += countTuples(recordValues(chunk)); }, async (checkpoint) => { more.push(checkpoint); });
  assert.equal(tuples, writer.tuples);
  assert.equal(more.length, 1);
  assert.equal(more[0]!.etag, next.checkpoint.etag);
  assert.equal(more[0]!.offset, writer.length - 2, "up to the tail block");
});

test("a malformed block is set aside with its position; good blocks before and after are still read", async () => {
  const container = await freshContainer("nsg-v2");
  const writer = new FlowLogBlobWriter(container, { kind: "nsg-v2", hour: HOUR, seed: 5 });
  await writer.appendMinute();
  await writer.appendMinute();
  const badOffset = writer.length - 2;
  await writer.appendMalformedBlock();
  await writer.appendMinute();
  const reader = new Harness(container, writer.blobName);
  await reader.poll();
  assert.equal(reader.tuples, writer.tuples);
  assert.equal(reader.records, 3);
  const malformed = reader.chunks.flatMap((c) => c.malformed);
  assert.equal(malformed.length, 1);
  assert.equal(malformed[0].offset, badOffset);
  assert.match(malformed[0].reason, /not valid JSON/);
  assert.match(malformed[0].raw, /broken/);
  assert.equal(reader.checkpoint.offset, writer.length - 2, "the reader moved past the malformed block");
});

test("a replaced blob (re-created, shorter) is read again from the start", async () => {
  const container = await freshContainer("nsg-v2");
  const writer = new FlowLogBlobWriter(container, { kind: "nsg-v2", hour: HOUR, seed: 9 });
  for (let i = 0; i < 4; i++) await writer.appendMinute();
  const reader = new Harness(container, writer.blobName);
  await reader.poll();
  assert.equal(reader.tuples, writer.tuples);
  await writer.replace({ tuplesPerRecord: 2 });
  reader.tuples = 0;
  await reader.poll();
  assert.equal(reader.restarts.length, 1, reader.restarts.join("; "));
  assert.equal(reader.tuples, 2);
  assert.equal(reader.checkpoint.records, 1);
  await writer.appendMinute({ tuplesPerRecord: 3 });
  await reader.poll();
  assert.equal(reader.tuples, 5);
});

test("a blob uploaded in one Put (no committed blocks) is read whole, once", async () => {
  const container = await freshContainer("vnet-v4");
  const donor = new FlowLogBlobWriter(container, { kind: "vnet-v4", hour: HOUR, seed: 2 });
  for (let i = 0; i < 3; i++) await donor.appendMinute();
  const text = await donor.blob.downloadToBuffer();
  const single = container.getBlockBlobClient("single/PT1H.json");
  await single.upload(text, text.length);
  assert.equal((await single.getBlockList("committed")).committedBlocks?.length ?? 0, 0);
  const reader = new Harness(container, "single/PT1H.json");
  await reader.poll();
  assert.equal(reader.tuples, donor.tuples);
  await reader.poll();
  assert.equal(reader.tuples, donor.tuples, "an unchanged single-Put blob is not read again");
  assert.equal(reader.downloaded, text.length);
});

test("a blob deleted mid-read reports BlobGoneError and keeps the last acknowledged checkpoint", async () => {
  const container = await freshContainer("nsg-v1");
  const writer = new FlowLogBlobWriter(container, { kind: "nsg-v1", hour: HOUR, seed: 4 });
  for (let i = 0; i < 6; i++) await writer.appendMinute({ records: 2, tuplesPerRecord: 10 });
  let checkpoint = emptyCheckpoint(container.containerName, writer.blobName);
  let windows = 0;
  await assert.rejects(readNewData(container, { container: container.containerName, name: writer.blobName }, checkpoint, { windowBytes: 1_500 },
    async () => {
      if (++windows === 2) await writer.blob.delete();
    },
    async (saved) => { checkpoint = saved; }), { name: "Error", message: /no longer exists/ });
  assert.equal(windows, 2);
  assert.ok(checkpoint.offset > 12, "progress before the deletion was saved");
});

test("contract: Azure's 416 for a range at the end of the blob means nothing new; 412 on a vanished blob means gone", async () => {
  const fake = (status: number, exists: boolean) => ({
    name: "x/PT1H.json",
    download: async () => { throw Object.assign(new Error(`status ${status}`), { statusCode: status }); },
    exists: async () => exists,
  }) as unknown as Parameters<typeof downloadRange>[0];
  assert.equal((await downloadRange(fake(416, true), 100, 120, '"e"')).length, 0);
  await assert.rejects(downloadRange(fake(412, true), 100, 120, '"e"'), /changed while being read/);
  await assert.rejects(downloadRange(fake(412, false), 100, 120, '"e"'), /no longer exists/);
  await assert.rejects(downloadRange(fake(404, false), 100, 120, '"e"'), /no longer exists/);
  await assert.rejects(downloadRange(fake(500, true), 100, 120, '"e"'), /status 500/);
});

test("block planning: bare head skipped, tail never read, rewritten blocks before the checkpoint restart", () => {
  const cp = emptyCheckpoint("c", "b");
  const list = (...sizes: number[]) => sizes.map((size, i) => ({ id: `id-${i}`, size }));
  const blocks = list(12, 100, 50, 70, 2);
  const plan = planRead(blocks, 234, cp);
  assert.deepEqual([plan.kind, plan.from, plan.inHead, plan.dataEnd, plan.blockStarts], ["blocks", 12, false, 232, [0, 12, 112, 162, 232]]);
  const inside = { ...cp, offset: 130, ...coveringBlocks(blocks, 130) };
  assert.equal(inside.blocks, 3, "blocks 0-2 cover bytes [0, 130)");
  const resumed = planRead(blocks, 234, inside);
  assert.deepEqual([resumed.restart, resumed.from], [undefined, 130]);
  // Same sizes, another id among the covering blocks: rewritten, read again.
  const renamed = [blocks[0], blocks[1], { id: "other", size: 50 }, blocks[3], blocks[4]];
  assert.match(planRead(renamed, 234, inside).restart ?? "", /first 3 blocks were rewritten/);
  // Format 1 checkpoints (no digest) keep their block-size check.
  assert.equal(planRead(blocks, 234, { ...cp, format: 1, offset: 162, blocks: 3 }).restart, undefined);
  assert.match(planRead(list(12, 90, 70, 60, 2), 234, { ...cp, format: 1, offset: 162, blocks: 3 }).restart ?? "", /no longer end at byte 162/);
  const merged = planRead(list(40, 30, 2), 72, cp);
  assert.deepEqual([merged.from, merged.inHead, merged.dataEnd], [0, true, 70]);
  const single = planRead([], 500, { ...cp, offset: 200, partialEtag: "e1" }, "e1");
  assert.deepEqual([single.kind, single.from, single.restart], ["single-put", 200, undefined]);
  assert.match(planRead([], 500, { ...cp, offset: 200, partialEtag: "e1" }, "e2").restart ?? "", /new ETag/);
});

test("a first block that carries the head and records, and a blob with no separate tail, lose no records", async () => {
  const container = await freshContainer("vnet-v4");
  const donor = new FlowLogBlobWriter(container, { kind: "vnet-v4", hour: HOUR, seed: 19 });
  for (let i = 0; i < 2; i++) await donor.appendMinute();
  const records = JSON.parse((await donor.blob.downloadToBuffer()).toString()).records as unknown[];
  const blob = container.getBlockBlobClient("merged/PT1H.json");
  const id = (n: number) => Buffer.from(`block-${n}`.padEnd(16, "-")).toString("base64");
  const first = Buffer.from(`{"records":[${JSON.stringify(records[0])}`);
  const second = Buffer.from(`,${JSON.stringify(records[1])}]}`);
  await blob.stageBlock(id(0), first, first.length);
  await blob.stageBlock(id(1), second, second.length);
  await blob.commitBlockList([id(0), id(1)]);
  const reader = new Harness(container, "merged/PT1H.json");
  await reader.poll();
  assert.equal(reader.tuples, donor.tuples);
  assert.equal(reader.chunks.flatMap((c) => c.malformed).length, 0);
});

/** Reads `writer`'s blob from the start in small windows, calling `during` once, after the first window was handled. */
async function readWhileWritten(writer: FlowLogBlobWriter, during: () => Promise<void>, options: { recordBytes?: number; doneWhenCaughtUp?: boolean; onLarge?: (chunk: ReadChunk) => Promise<void> } = {}) {
  const ref = { container: writer.container.containerName, name: writer.blobName };
  let tuples = 0;
  let records = 0;
  let handled = 0;
  const result = await readNewData(writer.container, ref, emptyCheckpoint(ref.container, ref.name), { windowBytes: 1_500, recordBytes: options.recordBytes, doneWhenCaughtUp: options.doneWhenCaughtUp },
    async (chunk) => {
      const values = recordValues(chunk);
      tuples += countTuples(values);
      records += values.length;
      if (chunk.large) await options.onLarge?.(chunk);
      if (++handled === 1) await during();
    }, async () => undefined);
  return { result, tuples, records };
}

test("Azure's next minute appended during a read does not end it: the planned bytes are read, the new minute by the next read; a blob whose hour is over is not marked done by that read", async () => {
  const container = await freshContainer("vnet-v4");
  const writer = new FlowLogBlobWriter(container, { kind: "vnet-v4", hour: HOUR, seed: 23 });
  for (let i = 0; i < 6; i++) await writer.appendMinute({ records: 2, tuplesPerRecord: 10 });
  const planned = { tuples: writer.tuples, records: writer.records };
  const etagBefore = (await writer.blob.getProperties()).etag!.replace(/"/g, "");
  const { result, tuples, records } = await readWhileWritten(writer, () => writer.appendMinute({ records: 1, tuplesPerRecord: 7 }).then(() => undefined),
    { doneWhenCaughtUp: true }); // a late write to an hour already over
  assert.equal(result.caughtUp, true);
  assert.equal(result.followed, true);
  assert.equal(result.checkpoint.done, undefined, "not done: the appended minute is still to read");
  assert.deepEqual({ tuples, records }, planned, "exactly what the block list planned, nothing of the appended minute");
  assert.equal(result.checkpoint.etag, etagBefore, "caught up with the planned version, not the one it followed");
  // The next read sees a newer ETag and takes exactly the appended minute.
  let more = 0;
  const next = await readNewData(container, { container: container.containerName, name: writer.blobName }, result.checkpoint, { windowBytes: 1_500 },
    async (chunk) => { more += countTuples(recordValues(chunk)); }, async () => undefined);
  assert.equal(next.caughtUp, true);
  assert.equal(more, 7);
});

test("a long record's second read survives an append; a rewrite of the planned blocks still ends the read 'changed'", async () => {
  const container = await freshContainer("nsg-v2");
  const writer = new FlowLogBlobWriter(container, { kind: "nsg-v2", hour: HOUR, seed: 29 });
  await writer.appendMinute({ records: 1, tuplesPerRecord: 5 });
  await writer.appendMinute({ records: 1, tuplesPerRecord: 400 }); // longer than recordBytes below: a long record
  const whole = await writer.blob.downloadToBuffer();
  let secondRead: Buffer | undefined;
  await readWhileWritten(writer, async () => undefined, {
    recordBytes: 1_000,
    onLarge: async (chunk) => {
      await writer.appendMinute({ records: 1, tuplesPerRecord: 3 });
      secondRead = await chunk.large!.read(chunk.large!.start, chunk.large!.end);
      assert.deepEqual(secondRead, whole.subarray(chunk.large!.start, chunk.large!.end), "the same bytes, byte for byte");
    },
  });
  assert.ok(secondRead, "the long record was handed over");

  // A rewritten block under the planned bytes is a different blob: the read stops, as before.
  const rewritten = new FlowLogBlobWriter(container, { kind: "nsg-v2", hour: new Date("2026-11-20T11:00:00Z"), seed: 31 });
  for (let i = 0; i < 6; i++) await rewritten.appendMinute({ records: 2, tuplesPerRecord: 10 });
  const ids = (await rewritten.blob.getBlockList("committed")).committedBlocks!.map((block) => block.name!);
  const other = Buffer.from(',{"time":"2026-11-20T11:00:00Z","rewritten":true}');
  const otherId = Buffer.from("rewritten-block".padEnd(32, "-")).toString("base64"); // ids of one blob are all one length on Azure
  await assert.rejects(readWhileWritten(rewritten, async () => {
    await rewritten.blob.stageBlock(otherId, other, other.length);
    await rewritten.blob.commitBlockList([...ids.slice(0, 3), otherId, ...ids.slice(4)]);
  }), { message: /changed while being read/ });
});
