// A long record's pass 2 downloads its range again while the scan that found it is paused. The window the scan found
// it in is let go first: what follows the record there is kept as a copy when pass 2 still has room within
// FLOWLOGS_WINDOW_BYTES (its downloads are then smaller), else downloaded again after pass 2. Before, the whole scan
// window stayed alive, and a job reserving one window (service/jobBudget.ts) held two. Downloaded bytes alive are
// measured after full GCs at every pass-2 read, through the real reader and delivery, on Azurite; counts stay exact.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { readNewData } from "../../collector/src/source/blobReader";
import { emptyCheckpoint } from "../../collector/src/checkpoint/state";
import { deliver, LongRecordPass1 } from "../../collector/src/service/delivery";
import type { Sink } from "../../collector/src/model";
import { jobContext } from "./blobJobWorld";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const MiB = 1 << 20;
const WINDOW = 4 * MiB;
/** Buffers of the test and the job besides downloads (heads, the pass-1 observer, request bodies). */
const SLACK = 256 * 1024;
const scratch = scratchContainers(azuriteConnectionString());

/** ArrayBuffer bytes alive after full collections (their backing stores are freed once a GC has run and a turn passed). */
async function arrayBuffersAlive(): Promise<number> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  return process.memoryUsage().arrayBuffers;
}

/** One long record of about `recordMiB`, then small records for about `afterMiB` more; read with 4 MiB windows. */
async function readLongRecord(label: string, recordMiB: number, afterMiB: number) {
  const source = scratch.container(label);
  await source.create();
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 9 });
  await writer.appendMinute({ records: 1, tuplesPerRecord: 5000 }); // under FLOWLOGS_RECORD_BYTES; sizes the tuples
  const perTuple = writer.length / 5000;
  await writer.appendMinute({ records: 1, tuplesPerRecord: Math.round((recordMiB * MiB) / perTuple) });
  const recordEnd = writer.length - 2; // before the tail
  while (writer.length < recordEnd + afterMiB * MiB) await writer.appendMinute({ records: 20, tuplesPerRecord: 100 });
  const ref = { container: source.containerName, name: writer.blobName };
  let documents = 0;
  const sink: Sink = {
    write: async (batch) => { documents += batch.length; return { indexed: batch.length, duplicates: 0, deadLettered: 0, retries: 0 }; },
    deadLetter: async () => { throw new Error("nothing should be set aside"); },
    close: async () => {},
  };
  const context = jobContext(source, undefined as never, sink, { windowBytes: WINDOW, recordBytes: MiB, batchDocuments: 2000 });
  const baseline = await arrayBuffersAlive();
  const alive: number[] = [];
  const pass2Reads: number[] = [];
  let downloaded = 0;
  const result = await readNewData(source, ref, emptyCheckpoint(ref.container, ref.name), {
    windowBytes: WINDOW, recordBytes: MiB, observeLongRecord: () => new LongRecordPass1(MiB), onDownload: (bytes) => { downloaded += bytes; },
  }, async (chunk) => {
    if (chunk.large) {
      const read = chunk.large.read;
      chunk.large.read = async (from, to) => {
        const body = await read(from, to);
        pass2Reads.push(body.length);
        alive.push((await arrayBuffersAlive()) - baseline);
        return body;
      };
    }
    await deliver(chunk, context);
  }, async () => {});
  assert.equal(result.caughtUp, true);
  assert.equal(documents, writer.tuples, "every tuple, once");
  const most = Math.max(...alive);
  console.log(`${label}: record ends at ${(recordEnd / MiB).toFixed(2)} MiB; pass 2 reads ${pass2Reads.map((b) => (b / MiB).toFixed(2)).join(", ")} MiB; ` +
    `downloads alive at them ${alive.map((b) => (b / MiB).toFixed(2)).join(", ")} MiB; downloaded ${downloaded} of ${writer.length} bytes`);
  assert.ok(most <= WINDOW + SLACK, `at most a window of downloads alive during pass 2 (${(most / MiB).toFixed(2)} MiB)`);
  return { pass2Reads, downloaded, length: writer.length, recordEnd };
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
/** The data: after the head block (`{"records":[`, where the windows start) and before the tail block (`]}`). */
const HEAD = 12;
const data = (length: number): number => length - HEAD - 2;
/** Bytes after the record in its window (the second: the record spans the first two in each case). */
const restInWindow = (length: number, recordEnd: number): number => Math.min(HEAD + 2 * WINDOW, length - 2) - recordEnd;

test("a long record ending where the data ends: pass 2 holds one window, not the scan's as well", { timeout: 120_000 }, async () => {
  const { pass2Reads, downloaded, length, recordEnd } = await readLongRecord("lrw-end", 7.5, 0);
  assert.equal(recordEnd, length - 2);
  assert.ok(pass2Reads.every((bytes) => bytes <= WINDOW));
  assert.equal(downloaded, data(length) + sum(pass2Reads), "the data once, the record twice: nothing more");
});

test("a long record followed in its window by a few MiB: that rest kept as a copy, pass 2 downloads in the room left", { timeout: 120_000 }, async () => {
  const { pass2Reads, downloaded, length, recordEnd } = await readLongRecord("lrw-kept", 4.6, 2);
  const rest = restInWindow(length, recordEnd);
  assert.ok(recordEnd > HEAD + WINDOW && rest > 0 && rest <= WINDOW - MiB, `the case: record ends at ${recordEnd}, ${rest} bytes after it in the window`);
  assert.ok(pass2Reads.every((bytes) => bytes <= WINDOW - rest), `pass-2 downloads within the room left (${pass2Reads.join(", ")})`);
  assert.equal(downloaded, data(length) + sum(pass2Reads), "the data once, the record twice: nothing more");
});

test("a long record followed in its window by more than would leave pass 2 room: that rest downloaded again after pass 2", { timeout: 120_000 }, async () => {
  const { pass2Reads, downloaded, length, recordEnd } = await readLongRecord("lrw-again", 4.3, 3.5);
  const rest = restInWindow(length, recordEnd);
  assert.ok(recordEnd > HEAD + WINDOW && rest > WINDOW - MiB, `the case: record ends at ${recordEnd}, ${rest} bytes after it in the window`);
  assert.ok(pass2Reads.every((bytes) => bytes <= WINDOW));
  assert.equal(downloaded, data(length) + sum(pass2Reads) + rest, "the data once, the record twice, and the rest of its window twice");
});
