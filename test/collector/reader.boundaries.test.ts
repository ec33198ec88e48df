// The reader's output never depends on how the blob was cut into blocks or windows, and never holds a byte the
// blob does not (issue 13, items 3 and 4, and the single-Put cases). Real Azurite throughout.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ContainerClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { parseRecordBytes, readNewData, type ReadChunk } from "../../collector/src/source/blobReader";
import { emptyCheckpoint, type BlobCheckpoint } from "../../collector/src/checkpoint/state";
import { parseFlowLogText, parseRecords } from "../../collector/src/format";

const HOUR = new Date("2026-11-20T10:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());
let blobCounter = 0;

async function freshContainer(): Promise<ContainerClient> {
  const container = scratch.container("boundaries");
  await container.create();
  return container;
}

/** A real PT1H.json written the Azure way, returned as its bytes. */
async function donorText(container: ContainerClient, minutes: number, tuplesPerRecord?: number): Promise<Buffer> {
  const writer = new FlowLogBlobWriter(container, { kind: "nsg-v2", hour: HOUR, seed: 17 + minutes });
  for (let i = 0; i < minutes; i++) await writer.appendMinute({ records: 3, tuplesPerRecord });
  return writer.blob.downloadToBuffer();
}

const blockId = (n: number) => Buffer.from(`blk-${String(n).padStart(8, "0")}`).toString("base64");

/** Commits `parts` as the blob's blocks (ids from `ids` or numbered); returns the blob's name. */
async function commitBlocks(container: ContainerClient, parts: Buffer[], ids?: string[], name = `cut-${blobCounter++}/PT1H.json`): Promise<string> {
  const blob = container.getBlockBlobClient(name);
  const names = ids ?? parts.map((_, i) => blockId(i));
  for (let i = 0; i < parts.length; i++) await blob.stageBlock(names[i], parts[i], parts[i].length);
  await blob.commitBlockList(names);
  return name;
}

/** The chunk's records parsed as delivery parses them; none of these tests writes a balanced record that is not JSON. */
function recordValues(chunk: ReadChunk): unknown[] {
  return chunk.records.map((record) => {
    const parsed = parseRecordBytes(record);
    assert.equal(parsed.malformed, undefined);
    return parsed.value;
  });
}

function cutEvery(text: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < text.length; at += size) parts.push(text.subarray(at, at + size));
  return parts;
}

interface Collected {
  records: unknown[];
  chunks: ReadChunk[];
  checkpoint: BlobCheckpoint;
  downloaded: number;
  restarts: string[];
}

async function collect(container: ContainerClient, name: string, windowBytes: number, from?: Collected): Promise<Collected> {
  const state: Collected = from ?? { records: [], chunks: [], checkpoint: emptyCheckpoint(container.containerName, name), downloaded: 0, restarts: [] };
  const properties = await container.getBlobClient(name).getProperties();
  await readNewData(container, { container: container.containerName, name, createdOn: properties.createdOn }, state.checkpoint, {
    windowBytes,
    onDownload: (bytes) => { state.downloaded += bytes; },
    onRestart: (reason) => { state.restarts.push(reason); },
  }, async (chunk) => {
    state.chunks.push(chunk);
    state.records.push(...recordValues(chunk));
  }, async (checkpoint) => { state.checkpoint = checkpoint; });
  return state;
}

function documentsOf(records: unknown[]) {
  return parseRecords(records).documents;
}

test("a record cut inside a rule name across two blocks is read intact, with 4 MiB and 4 KiB windows", async () => {
  const container = await freshContainer();
  const text = await donorText(container, 4, 40);
  const expected = parseFlowLogText(text.toString()).documents;
  // Cut in the middle of the second record's rule name, as a copy with its own block size would.
  const cut = text.indexOf("UserRule_AllowWeb", text.indexOf('{"time"', 20)) + "UserRule_".length;
  const name = await commitBlocks(container, [text.subarray(0, cut), text.subarray(cut)]);
  for (const windowBytes of [4 << 20, 4096]) {
    const read = await collect(container, name, windowBytes);
    assert.deepEqual(read.chunks.flatMap((c) => c.malformed), [], `no dead letter with a ${windowBytes}-byte window`);
    const documents = documentsOf(read.records);
    assert.equal(documents.length, expected.length);
    assert.deepEqual(documents, expected, `identical documents with a ${windowBytes}-byte window`);
    assert.ok(documents.every((d) => d.doc.rule?.name === "UserRule_AllowWeb"), "the rule name is never altered");
  }
});

test("a valid PT1H.json uploaded in fixed 64 KiB blocks gives every tuple, whatever the window", async () => {
  const container = await freshContainer();
  const text = await donorText(container, 40, 25);
  assert.ok(text.length > 3 * 65536, `${text.length} bytes make several blocks`);
  const expected = parseFlowLogText(text.toString()).documents;
  const name = await commitBlocks(container, cutEvery(text, 65536));
  for (const windowBytes of [4096, 65536, 100_003, 4 << 20]) {
    const read = await collect(container, name, windowBytes);
    assert.deepEqual(read.chunks.flatMap((c) => c.malformed), []);
    assert.deepEqual(documentsOf(read.records), expected, `window ${windowBytes}`);
    assert.ok(read.downloaded <= text.length, "no byte is downloaded twice");
    for (let i = 1; i < read.chunks.length; i++) assert.equal(read.chunks[i].start, read.chunks[i - 1].end);
  }
});

test("re-committing [H,A,C,B,T] after [H,A,B,T] was read indexes C (block ids compared, not only sizes)", async () => {
  const container = await freshContainer();
  const records = (JSON.parse((await donorText(container, 1, 5)).toString()) as { records: Array<Record<string, unknown>> }).records;
  const a = Buffer.from(JSON.stringify(records[0]));
  const bText = JSON.stringify(records[1]);
  const b = Buffer.from(`,${bText}`);
  const c = Buffer.from(`,${bText.replace("UserRule_AllowWeb", "UserRule_AllowWeX")}`);
  assert.equal(c.length, b.length);
  const head = Buffer.from('{"records":[');
  const tail = Buffer.from("]}");
  const ids = { h: blockId(0), a: blockId(1), b: blockId(2), c: blockId(3), t: blockId(4) };
  const name = await commitBlocks(container, [head, a, b, tail], [ids.h, ids.a, ids.b, ids.t]);
  const first = await collect(container, name, 4 << 20);
  assert.equal(first.records.length, 2);
  const blob = container.getBlockBlobClient(name);
  await blob.stageBlock(ids.c, c, c.length);
  await blob.commitBlockList([ids.h, ids.a, ids.c, ids.b, ids.t]);
  const second = await collect(container, name, 4 << 20, { ...first, records: [], chunks: [] });
  assert.equal(second.restarts.length, 1, "the rewrite before the checkpoint is noticed");
  const rules = new Set(documentsOf(second.records).map((d) => d.doc.rule?.name));
  assert.ok(rules.has("UserRule_AllowWeX"), "C's documents are produced");
  assert.equal(documentsOf(second.records).length, 15);
});

test("a single-Put blob that starts with a byte-order mark is read, not dead-lettered", async () => {
  const container = await freshContainer();
  const text = await donorText(container, 3, 4);
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]);
  const blob = container.getBlockBlobClient("bom/PT1H.json");
  await blob.upload(withBom, withBom.length);
  const read = await collect(container, "bom/PT1H.json", 4096);
  assert.deepEqual(read.chunks.flatMap((c) => c.malformed), []);
  assert.deepEqual(documentsOf(read.records), parseFlowLogText(withBom.toString()).documents);
});

test("a single-Put blob is read in window-sized ranges, resumes mid-blob after a failure, and restarts on a new ETag", async () => {
  const container = await freshContainer();
  const text = await donorText(container, 20, 10);
  const blob = container.getBlockBlobClient("single/PT1H.json");
  await blob.upload(text, text.length);
  const expected = parseFlowLogText(text.toString()).documents;
  const windowBytes = 8192;
  let state: Collected = { records: [], chunks: [], checkpoint: emptyCheckpoint(container.containerName, "single/PT1H.json"), downloaded: 0, restarts: [] };
  let calls = 0;
  const sizes: number[] = [];
  const properties = await blob.getProperties();
  const ref = { container: container.containerName, name: "single/PT1H.json", createdOn: properties.createdOn };
  await assert.rejects(readNewData(container, ref, state.checkpoint, { windowBytes, onDownload: (n) => { sizes.push(n); } }, async (chunk) => {
    if (++calls === 3) throw new Error("sink down");
    state.records.push(...recordValues(chunk));
  }, async (checkpoint) => { state.checkpoint = checkpoint; }), /sink down/);
  assert.ok(sizes.every((n) => n <= windowBytes), "ranged downloads, none larger than the window");
  assert.ok(state.checkpoint.offset > 0 && state.checkpoint.offset < text.length, "progress saved mid-blob");
  state = await collect(container, "single/PT1H.json", windowBytes, state);
  assert.deepEqual(state.restarts, []);
  assert.deepEqual(documentsOf(state.records), expected, "resumed where it stopped: every document once");
  await blob.upload(text, text.length); // same bytes, new ETag
  const again = await collect(container, "single/PT1H.json", windowBytes, { ...state, records: [], chunks: [] });
  assert.equal(again.restarts.length, 1);
  assert.equal(documentsOf(again.records).length, expected.length);
});

test("an unbalanced record is set aside up to the next record start; the records after it are read (any window)", async () => {
  const container = await freshContainer();
  const text = await donorText(container, 6, 5);
  const second = text.indexOf(',{"time"', 20);
  // Drop the closing brace of the first record: it never closes.
  const broken = Buffer.concat([text.subarray(0, second - 1), text.subarray(second)]);
  const good = parseRecords((JSON.parse(text.toString()) as { records: unknown[] }).records.slice(1)).documents;
  const name = await commitBlocks(container, cutEvery(broken, 1000));
  for (const windowBytes of [4096, 4 << 20]) {
    const read = await collect(container, name, windowBytes);
    const malformed = read.chunks.flatMap((c) => c.malformed);
    assert.equal(malformed.length, 1, JSON.stringify(malformed.map((m) => m.reason)));
    assert.equal(malformed[0].offset, 12);
    assert.match(malformed[0].reason, /not valid JSON/);
    assert.deepEqual(documentsOf(read.records), good);
  }
});

test("a format 1 checkpoint (offset at a block end, no digest) is resumed as it was, then saved as format 2", async () => {
  const container = await freshContainer();
  const writer = new FlowLogBlobWriter(container, { kind: "vnet-v4", hour: HOUR, seed: 23 });
  await writer.appendMinute({ records: 2 });
  await writer.appendMinute({ records: 1 });
  const list = await writer.blob.getBlockList("committed");
  const sizes = list.committedBlocks!.map((b) => b.size);
  const firstTwo = sizes[0] + sizes[1] + sizes[2];
  const old: BlobCheckpoint = { format: 1, container: container.containerName, blob: writer.blobName, offset: firstTwo, blocks: 3, records: 3 };
  await writer.appendMinute({ records: 2 });
  const read = await collect(container, writer.blobName, 4 << 20, { records: [], chunks: [], checkpoint: old, downloaded: 0, restarts: [] });
  assert.deepEqual(read.restarts, []);
  assert.equal(read.records.length, 2, "only the records after the old checkpoint");
  assert.equal(read.downloaded, writer.length - 2 - firstTwo);
  assert.equal(read.checkpoint.format, 2);
  assert.equal(typeof read.checkpoint.blockDigest, "string");
});
