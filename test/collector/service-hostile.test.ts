// Hostile blobs in the flow-log containers (issue #13), through the real service on Azurite: a record with a
// 5,000-deep value, a `.JSON` blob, a blob whose name is too long for a checkpoint. None may stop good data or be
// retried forever, and each is reported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector, type RunOptions } from "../../collector/src/service/collector";
import type { CollectorConfig } from "../../collector/src/service/config";
import type { LogEvent } from "../../collector/src/service/logger";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";
import { azuriteCollectorConfig } from "../support/collectorConfig";
import type { DeadLetter, WriteOptions } from "../../collector/src/model";
import { StoppedWriteError } from "../../collector/src/sink/stoppedWrite";

const HOUR = new Date("2026-11-20T10:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());

async function setup() {
  const nsg = scratch.container("hostile-nsg");
  const checkpoints = scratch.container("hostile-cp");
  await nsg.create();
  const config: CollectorConfig = azuriteCollectorConfig(nsg.containerName, checkpoints.containerName, {
    FLOWLOGS_REPLICA_ID: "test",
  });
  return { nsg, config };
}

function run(config: CollectorConfig, sink: RecordingSink, more: Partial<RunOptions> = {}) {
  const events: LogEvent[] = [];
  const done = runCollector({ config, sink, once: true, blobService: scratch.service, writeLog: () => {}, onEvent: (e) => events.push(e), ...more });
  return { events, done };
}

test("a record with a 5,000-deep category: the blob's good records are indexed, the bad one dead-lettered whole, bounded", async () => {
  const { nsg, config } = await setup();
  const writer = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 71 });
  await writer.appendMinute({ records: 2 });
  await writer.appendMalformedBlock(`{"category":${"[".repeat(5000)}${"]".repeat(5000)}}`); // valid JSON, a hostile record
  await writer.appendMinute({ records: 2 });
  const sink = new RecordingSink();
  const { events, done } = run(config, sink);
  const summary = await done;
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
  assert.equal(sink.documents.size, writer.tuples);
  assert.equal(summary.metrics.blobsFailed, 0, JSON.stringify(events.filter((e) => e.event === "blob.failed")));
  // Deeper than the scanner's bound (MAX_RECORD_DEPTH): set aside by the scan as broken, up to the next block.
  assert.equal(sink.deadLetters.length, 1, JSON.stringify(sink.deadLetters.map((letter) => letter.reason)));
  assert.match(sink.deadLetters[0].reason, /^record at offset \d+ is not valid JSON: it nests deeper than 64 levels at offset \d+ \(set aside up to offset \d+, where scanning resumes\)/);
  assert.ok(sink.deadLetters[0].raw.length <= 2_001, `bounded: ${sink.deadLetters[0].raw.length}`);
});

test("a .JSON blob (any case) is read like a .json one", async () => {
  const { nsg, config } = await setup();
  const writer = new FlowLogBlobWriter(nsg, { kind: "nsg-v1", hour: HOUR, seed: 72 });
  await writer.appendMinute({ records: 3 });
  const copy = nsg.getBlockBlobClient(writer.blobName.replace(/\.json$/, ".JSON"));
  await copy.syncCopyFromURL(writer.blob.url).catch(async () => {
    const body = await writer.blob.downloadToBuffer();
    await copy.upload(body, body.length);
  });
  const ids = await expectedIds([writer]);
  await writer.blob.delete();
  const sink = new RecordingSink();
  const summary = await run(config, sink).done;
  assert.equal(summary.metrics.blobsRead, 1);
  assert.deepEqual(new Set(sink.documents.keys()), ids);
});

test("a blob whose checkpoint name would pass 1,024 characters is dead-lettered once with the reason, not retried every poll", async () => {
  const { nsg, config } = await setup();
  const good = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 73 });
  await good.appendMinute();
  const prefix = "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/";
  const hourPath = "/y=2026/m=11/d=20/h=10/m=00/PT1H.json";
  const longName = `${prefix}${"N".repeat(1020 - prefix.length - hourPath.length)}${hourPath}`; // Azure allows 1,024
  assert.ok(longName.length <= 1024 && nsg.containerName.length + 1 + longName.length + ".checkpoint".length > 1024);
  const body = Buffer.from((await good.blob.downloadToBuffer()).toString());
  await nsg.getBlockBlobClient(longName).upload(body, body.length);

  const sink = new RecordingSink();
  const controller = new AbortController();
  let polls = 0;
  const { events, done } = run(config, sink, {
    once: false, signal: controller.signal,
    sleep: async () => { if (++polls === 3) controller.abort(); },
  });
  const summary = await done;
  assert.equal(summary.polls, 3);
  assert.equal(sink.documents.size, good.tuples, "the other blob is read");
  assert.equal(summary.metrics.blobsDead, 1);
  assert.equal(summary.metrics.blobsFailed, 0);
  assert.equal(events.filter((e) => e.event === "blob.dead").length, 1);
  assert.equal(sink.deadLetters.length, 1);
  assert.equal(sink.deadLetters[0].position?.blob, longName);
  assert.match(sink.deadLetters[0].reason, /^blob not read: its checkpoint name would be \d+ characters, over Azure's 1024-character blob name limit/);
  assert.match(summary.metrics.render(), /flowlogs_blobs_total\{outcome="dead"\} 1/);
  assert.equal(summary.metrics.pendingSince.size, 0, "not counted as pending data");
});

/** A sink that takes documents but holds every dead-letter write until the write's own signal stops it. */
class DeadLetterHangingSink extends RecordingSink {
  deadLetterStarted?: () => void;
  override async deadLetter(_entries: DeadLetter[], options?: WriteOptions): Promise<void> {
    this.deadLetterStarted?.();
    const signal = options?.signal;
    if (!signal) return new Promise(() => {}); // what a sink without the stop does: the stop waits forever
    await new Promise<void>((_, fail) => {
      if (signal.aborted) fail(new StoppedWriteError(signal));
      else signal.addEventListener("abort", () => fail(new StoppedWriteError(signal)), { once: true });
    });
  }
}

test("the stop reaches a blob's dead-letter write: a hanging sink ends at once, the blob is set aside by the next run", async () => {
  const { nsg, config } = await setup();
  const longName = `resourceId=/${"N".repeat(1000)}/y=2026/m=11/d=20/h=10/m=00/PT1H.json`;
  assert.ok(nsg.containerName.length + 1 + longName.length + ".checkpoint".length > 1024);
  await nsg.getBlockBlobClient(longName).upload("{}", 2);

  const hanging = new DeadLetterHangingSink();
  const controller = new AbortController();
  let abortedAt = 0;
  hanging.deadLetterStarted = () => { abortedAt = Date.now(); controller.abort(); };
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    run(config, hanging, { signal: controller.signal }).done,
    new Promise<"still waiting">((done) => { timer = setTimeout(() => done("still waiting"), 30_000); }),
  ]);
  clearTimeout(timer);
  if (stopped === "still waiting") assert.fail("the stop did not reach the dead-letter write");
  // Counted from the abort, not from the start (the listing before it is Azurite's time, long on a loaded machine).
  assert.ok(abortedAt > 0 && Date.now() - abortedAt < 5_000, `ended ${Date.now() - abortedAt} ms after the abort`);
  assert.equal(stopped.metrics.blobsDead, 0, "a stopped dead-letter write is not counted as set aside");
  assert.equal(stopped.metrics.blobsFailed, 0, "a stop is not a failure");

  const sink = new RecordingSink();
  const { events, done } = run(config, sink);
  const summary = await done;
  assert.equal(summary.metrics.blobsDead, 1);
  assert.equal(sink.deadLetters.length, 1, "the next run sets the blob aside: nothing is lost to the stop");
  assert.equal(sink.deadLetters[0].position?.blob, longName);
  assert.equal(events.filter((e) => e.event === "blob.dead").length, 1);
});
