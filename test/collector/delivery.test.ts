// Delivery of one read chunk (collector/src/service/delivery.ts): every document of every record reaches the sink,
// and records arrive as bytes and are JSON-parsed one at a time as they are delivered, so a window's records never
// all sit on the JS heap as parsed objects through the waits on the sink.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlowLogText, parseRecords } from "../../collector/src/format";
import { deliver } from "../../collector/src/service/delivery";
import type { JobContext, ParseRecords } from "../../collector/src/service/blobJob";
import { Metrics } from "../../collector/src/service/metrics";
import type { ReadChunk, RecordBytes } from "../../collector/src/source/blobReader";
import type { LongRecordPass1 } from "../../collector/src/service/delivery";
import { RecordingSink } from "./serviceRecordingSink";

test("records are parsed one at a time as they are delivered; the sink still gets every document", async () => {
  const records = ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json", "mixed-records.json"].flatMap((name) =>
    (JSON.parse(readFileSync(join(__dirname, "..", "fixtures", name), "utf8")) as { records: unknown[] }).records);
  const text = JSON.stringify({ records });
  assert.ok(records.length >= 3, `${records.length} records in the fixture`);
  // Each record's bytes as the reader hands them over: views of one download.
  const download = Buffer.from(text);
  const items: RecordBytes[] = [];
  let at = '{"records":['.length;
  for (const record of records) {
    const bytes = Buffer.byteLength(JSON.stringify(record));
    items.push({ start: at, end: at + bytes, bytes: download.subarray(at, at + bytes) });
    at += bytes + 1;
  }
  const chunk: ReadChunk<LongRecordPass1> = { blob: { container: "c", name: "b" }, start: 0, end: download.length, records: items, firstRecord: 0, malformed: [] };
  const sink = new RecordingSink();
  let parsedRecords = 0;
  const parse: ParseRecords = (batch, first, enrichment) => {
    parsedRecords += batch.length;
    return parseRecords(batch, first, enrichment);
  };
  const parsedAtWrite: number[] = [];
  sink.onWrite = () => { parsedAtWrite.push(parsedRecords); };
  // Only what deliver reads of a job's context.
  const context = {
    sink, parse, metrics: new Metrics(), batchDocuments: 1, windowBytes: 1 << 20, recordBytes: 1 << 20,
  } as unknown as JobContext;
  await deliver(chunk, context);
  const expected = parseFlowLogText(text).documents;
  assert.deepEqual([...sink.documents.keys()].sort(), expected.map((d) => d.id).sort());
  assert.equal(parsedRecords, records.length);
  // At the first write (one document each), only the first record has been parsed.
  assert.equal(parsedAtWrite[0], 1, `records parsed at the first write: ${parsedAtWrite[0]}`);
  assert.ok(parsedAtWrite.every((parsed, i) => i === 0 || parsed >= parsedAtWrite[i - 1]!));
});

test("dead letters acknowledged are progress (/healthz), as documents are: a backfill of rejected records is not stalled", async () => {
  const rejected = Array.from({ length: 5 }, (_, i) => JSON.stringify({ time: "2026-11-20T10:00:00Z", category: "NetworkSecurityGroupEvent", i }));
  const download = Buffer.from(rejected.join(","));
  let at = 0;
  const records = rejected.map((text) => {
    const item = { start: at, end: at + text.length, bytes: download.subarray(at, at + text.length) };
    at += text.length + 1;
    return item;
  });
  const chunk: ReadChunk<LongRecordPass1> = { blob: { container: "c", name: "b" }, start: 0, end: download.length, records, firstRecord: 0, malformed: [] };
  const sink = new RecordingSink();
  const metrics = new Metrics();
  await deliver(chunk, { sink, metrics, parse: parseRecords, batchDocuments: 10, log: () => {} } as unknown as JobContext);
  assert.equal(sink.deadLetters.length, 5, "every record rejected and set aside");
  assert.ok(metrics.lastProgress !== undefined && Date.now() - metrics.lastProgress < 5_000, "their acknowledgement counts as progress");
});
