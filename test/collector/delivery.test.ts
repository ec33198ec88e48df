// Delivery of one read chunk (collector/src/service/delivery.ts): every document of every record reaches the sink,
// and a record's parsed value is let go once its documents are made, so a window's records do not all stay on the
// heap through every wait on the sink.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlowLogText, parseRecords } from "../../collector/src/format";
import { deliver } from "../../collector/src/service/delivery";
import type { JobContext } from "../../collector/src/service/blobJob";
import { Metrics } from "../../collector/src/service/metrics";
import type { ReadChunk } from "../../collector/src/source/blobReader";
import { RecordingSink } from "./serviceRecordingSink";

test("each record is released once its documents are made; the sink still gets every document", async () => {
  const records = ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json", "mixed-records.json"].flatMap((name) =>
    (JSON.parse(readFileSync(join(__dirname, "..", "fixtures", name), "utf8")) as { records: unknown[] }).records);
  const text = JSON.stringify({ records });
  assert.ok(records.length >= 3, `${records.length} records in the fixture`);
  const chunk: ReadChunk = {
    blob: { container: "c", name: "b" }, start: 0, end: text.length, records: [...records], firstRecord: 0, malformed: [],
  };
  const sink = new RecordingSink();
  const heldAtWrite: number[] = [];
  sink.onWrite = () => { heldAtWrite.push(chunk.records.filter((r) => r !== undefined).length); };
  // Only what deliver reads of a job's context.
  const context = {
    sink, parse: parseRecords, metrics: new Metrics(), batchDocuments: 1, windowBytes: 1 << 20, recordBytes: 1 << 20,
  } as unknown as JobContext;
  await deliver(chunk, context);
  const expected = parseFlowLogText(text).documents;
  assert.deepEqual([...sink.documents.keys()].sort(), expected.map((d) => d.id).sort());
  assert.ok(heldAtWrite.length >= records.length && heldAtWrite[0]! > 0, `${heldAtWrite.length} writes, first with ${heldAtWrite[0]} records held`);
  // At each write (one document each), the records already turned into documents are gone.
  assert.ok(heldAtWrite.at(-1)! === 0, `records still held at the last write: ${heldAtWrite.at(-1)}`);
  assert.ok(heldAtWrite.every((held, i) => i === 0 || held <= heldAtWrite[i - 1]!), "never more held than before");
  assert.ok(chunk.records.every((record) => record === undefined));
});
