// A record committed in two pieces (the block list ends inside it; the next commit completes it), which Azure's own
// writer does not do (a block a minute, whole records) but a writer or copy tool that commits by size would: while
// the blob's hour lasts the open record waits for the next read, so it is indexed whole once completed; once the hour
// is over, one that never closed is set aside as before. Real Azurite (blobs, checkpoints, leases), runCollector --once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { azuriteCollectorConfig } from "../support/collectorConfig";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector } from "../../collector/src/service/collector";
import { parseFlowLogText } from "../../collector/src/format/parse";
import { RecordingSink } from "./serviceRecordingSink";

const scratch = scratchContainers(azuriteConnectionString());
const HOUR = new Date("2026-11-20T10:00:00Z");
const blockId = (name: string) => Buffer.from(name.padEnd(24, "_")).toString("base64");

/** A blob of one whole record, then the first half of a second one as its last data block (before the "]}" tail). */
async function splitWorld(label: string) {
  const source = scratch.container(`${label}-src`);
  await source.create();
  const checkpoints = scratch.container(`${label}-cp`);
  const config = azuriteCollectorConfig(source.containerName, checkpoints.containerName, { FLOWLOGS_REPLICA_ID: label });
  // The writer makes the records (its own blob is never committed): whole, as Azure writes them.
  const model = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: HOUR, seed: 61 });
  await model.appendMinute({ records: 2, tuplesPerRecord: 4 });
  const whole = (await model.blob.downloadToBuffer()).toString("utf8");
  await model.blob.delete();
  const [first, second] = parseRecordTexts(whole);
  const blob = source.getBlockBlobClient(model.blobName);
  const pieces: Record<string, string> = { head: '{"records":[', r1: first!, r2a: `,${second!.slice(0, 200)}`, r2b: second!.slice(200), tail: "]}" };
  const stage = (id: string) => blob.stageBlock(blockId(id), Buffer.from(pieces[id]!), Buffer.byteLength(pieces[id]!));
  for (const id of ["head", "r1", "r2a", "tail"]) await stage(id);
  await blob.commitBlockList(["head", "r1", "r2a", "tail"].map(blockId));
  const sink = new RecordingSink();
  const pass = (at: string) => runCollector({ config, sink, once: true, blobService: scratch.service, writeLog: () => {}, now: () => Date.parse(at), enrichment: null });
  // A commit keeps only the blocks it names: the second piece is staged after the first commit, as a writer would.
  const complete = async () => {
    await stage("r2b");
    await blob.commitBlockList(["head", "r1", "r2a", "r2b", "tail"].map(blockId));
  };
  const expected = async () => parseFlowLogText((await blob.downloadToBuffer()).toString("utf8")).documents.map((d) => d.id).sort();
  return { sink, pass, complete, expected, first: parseFlowLogText(`{"records":[${first}]}`).documents.map((d) => d.id).sort() };
}

/** The records of a PT1H.json text, each as written. */
function parseRecordTexts(text: string): string[] {
  const records = (JSON.parse(text) as { records: unknown[] }).records;
  return records.map((record) => JSON.stringify(record));
}

test("a record cut at the end of the committed blocks while its hour lasts waits for the next read: once completed, every document, nothing set aside", async () => {
  const { sink, pass, complete, expected, first } = await splitWorld("split-held");
  await pass("2026-11-20T10:30:00Z");
  assert.deepEqual([...sink.documents.keys()].sort(), first, "the whole record is read; the open one waits");
  assert.deepEqual(sink.deadLetters, []);
  await pass("2026-11-20T10:31:00Z");
  assert.deepEqual(sink.deadLetters, [], "still waiting, not set aside");
  await complete();
  await pass("2026-11-20T10:32:00Z");
  assert.deepEqual([...sink.documents.keys()].sort(), await expected());
  assert.deepEqual(sink.deadLetters, []);
  assert.equal(sink.duplicates, 0);
});

test("a record cut at the end of the committed blocks and never completed is set aside once its hour is over, whole", async () => {
  const { sink, pass, first } = await splitWorld("split-over");
  await pass("2026-11-20T10:30:00Z");
  assert.equal(sink.deadLetters.length, 0);
  await pass("2026-11-20T12:00:00Z");
  assert.deepEqual([...sink.documents.keys()].sort(), first);
  assert.equal(sink.deadLetters.length, 1);
  assert.match(sink.deadLetters[0]!.reason, /is not valid JSON: it does not close before the end of the data/);
  assert.match(sink.deadLetters[0]!.raw, /^,\{"time"/, "the open record's own bytes, from its separator");
  await pass("2026-11-20T12:05:00Z");
  assert.equal(sink.deadLetters.length, 1, "set aside once");
});
