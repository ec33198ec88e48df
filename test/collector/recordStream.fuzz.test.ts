// Seeded mutation fuzzing of the two record paths against each other (deterministic: fixed seeds and counts). A
// record too long to parse whole is streamed (recordStream.ts); whatever the record, damaged or not, both paths must
// agree: the same documents, the same rejects, and "not JSON" exactly when JSON.parse says so, with no other error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseRecords } from "../../collector/src/format";
import { parseRecordStreaming, RecordStreamError } from "../../collector/src/format/recordStream";
import type { Reject } from "../../collector/src/model";
import { cases } from "../support/fuzz";

const FIXTURES = ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json", "mixed-records.json", "malformed-tuples.json"];
const RECORDS: unknown[] = FIXTURES.flatMap((name) =>
  (JSON.parse(readFileSync(resolve(__dirname, "../fixtures", name), "utf8")) as { records: unknown[] }).records)
  .filter((record) => typeof record === "object" && record !== null && !Array.isArray(record));

/**
 * Rejects as comparable text. A record-level reject quotes the record; the streamed path never keeps a list's tuples
 * (that is its point), so there the list shows as `["(N tuples, streamed)"]`: such excerpts are compared up to it.
 */
function comparable(rejects: readonly Reject[], streamed: readonly Reject[]): string[] {
  const key = (r: Reject) => `${r.record}|${r.tuple}|${r.reason}`;
  const cutAt = new Map<string, number>();
  for (const r of streamed) {
    const at = r.raw?.search(/\["\(\d/) ?? -1;
    if (at >= 0) cutAt.set(key(r), at);
  }
  return rejects.map((r) => JSON.stringify(cutAt.has(key(r)) ? { ...r, raw: r.raw!.slice(0, cutAt.get(key(r))) } : r)).sort();
}

test("fuzz: 3 × 1,500 damaged records (values, keys, tuple text) give the same documents and rejects streamed in any pieces as parsed whole", () => {
  let documents = 0;
  let rejects = 0;
  for (const { mutate, label } of cases([1, 2, 3], 1_500)) {
    const record = mutate.record(mutate.pick(RECORDS));
    const text = JSON.stringify(record, null, mutate.next() < 0.3 ? 1 : undefined);
    const whole = parseRecords([JSON.parse(text)], 3);
    documents += whole.documents.length;
    rejects += whole.rejects.length;
    for (const piece of [1 + mutate.int(7), 64 + mutate.int(500)]) {
      const streamed = parseRecordStreaming(Buffer.from(text), 3, 1 << 20, piece);
      const shown = `${label}, ${piece}-byte pieces: ${text.slice(0, 400)}`;
      assert.deepEqual(streamed.documents, whole.documents, shown);
      assert.deepEqual(comparable(streamed.rejects, streamed.rejects), comparable(whole.rejects, streamed.rejects), shown);
    }
  }
  // The cases must exercise both outcomes, or the comparison proves little.
  assert.ok(documents > 3_000 && rejects > 5_000, `${documents} documents, ${rejects} rejects`);
});

test("fuzz: 3 × 1,500 records with broken JSON text are refused whole by the streamed path exactly when JSON.parse refuses them", () => {
  let refused = 0;
  let read = 0;
  for (const { mutate, label: caseLabel } of cases([11, 12, 13], 1_500)) {
    const text = mutate.json(JSON.stringify(mutate.pick(RECORDS), null, mutate.next() < 0.3 ? 1 : undefined));
    let parsed: unknown;
    let isJson = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      isJson = false;
    }
    const label = `${caseLabel}: ${JSON.stringify(text).slice(0, 400)}`;
    let streamed: ReturnType<typeof parseRecordStreaming> | undefined;
    try {
      streamed = parseRecordStreaming(Buffer.from(text), 0, 1 << 20, 1 + mutate.int(40));
    } catch (error) {
      assert.ok(error instanceof RecordStreamError, `${label}: ${error}`);
    }
    const isRecord = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
    if (!isJson) {
      assert.equal(streamed, undefined, `${label}: not JSON, yet streamed`);
      refused++;
    } else if (isRecord) {
      assert.ok(streamed, `${label}: valid JSON refused`);
      assert.deepEqual(streamed.documents, parseRecords([parsed], 0).documents, label);
      read++;
    }
  }
  assert.ok(refused > 1_000 && read > 1_000, `${refused} refused, ${read} read`);
});
