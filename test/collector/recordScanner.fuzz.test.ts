// Seeded fuzzing of the record scanner (deterministic): how Azure, an SDK or azcopy cut a blob into blocks, and how
// the reader's windows cut it again, must never change what the scanner finds. Damaged PT1H.json text (brackets,
// quotes, escapes, junk, a cut end), scanned whole and in pieces of 1, 3, 64 and a random number of bytes, gives the
// same records, large records, junk and broken or unfinished record, each at the same offsets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { RecordScanner, type ScanItem } from "../../collector/src/source/recordScanner";
import { cases } from "../support/fuzz";

const RECORD_TEXTS = ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json"].flatMap((name) =>
  (JSON.parse(readFileSync(resolve(__dirname, "../fixtures", name), "utf8")) as { records: unknown[] }).records)
  .flatMap((record) => [JSON.stringify(record), JSON.stringify(record, null, 6)]);

function scan(bytes: Buffer, piece: number, recordBytes: number): { items: unknown[]; broken?: unknown; unfinished?: unknown } {
  const scanner = new RecordScanner(0, true, recordBytes);
  const items: ScanItem[] = [];
  for (let at = 0; at < bytes.length && !scanner.broken; at += piece) items.push(...scanner.push(bytes.subarray(at, at + piece)));
  const shown = (list: ScanItem[]) => list.map((item) => item.kind === "record" ? [item.kind, item.start, item.end, item.bytes.toString("latin1")]
    : item.kind === "large" ? [item.kind, item.start, item.end, item.head.toString("latin1")]
    : [item.kind, item.start, item.end, item.reason, item.raw]);
  if (scanner.broken) return { items: shown(items), broken: scanner.broken };
  const finished = scanner.finish();
  return { items: shown([...items, ...finished.items]), unfinished: finished.unfinished };
}

test("fuzz: 3 × 400 damaged PT1H.json texts scan the same whole and in pieces of 1, 3, 64 and random bytes", () => {
  const kinds = new Map<string, number>();
  const count = (kind: string) => kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  for (const { mutate, label: caseLabel } of cases([21, 22, 23], 400)) {
    const records = Array.from({ length: 1 + mutate.int(6) }, () => mutate.pick(RECORD_TEXTS));
    let text = `${mutate.next() < 0.1 ? "\ufeff" : ""}{"records":[${records.join(mutate.pick([",", ",\n", " , "]))}]}`;
    if (mutate.next() < 0.8) text = mutate.json(text);
    if (mutate.next() < 0.2) text = text.slice(0, mutate.int(text.length)); // a blob read mid-append
    const bytes = Buffer.from(text);
    // FLOWLOGS_RECORD_BYTES is at least 4096 in the service; bounds from 2,000 (the excerpt size) make the
    // pretty-printed records large here.
    const recordBytes = mutate.next() < 0.3 ? 2_000 + mutate.int(2_000) : 1 << 20;
    const whole = scan(bytes, Math.max(1, bytes.length), recordBytes);
    for (const piece of [1, 3, 64, 1 + mutate.int(300)]) {
      assert.deepEqual(scan(bytes, piece, recordBytes), whole, `${caseLabel}, ${piece}-byte pieces: ${JSON.stringify(text).slice(0, 300)}`);
    }
    let end = 0;
    for (const item of whole.items as Array<[string, number, number, string]>) {
      const [kind, start, stop] = item;
      assert.ok(start >= end && stop >= start, `${caseLabel}: items in order and apart`);
      if (kind === "record") assert.equal(item[3], bytes.subarray(start, stop).toString("latin1"), "a record is the blob's own bytes");
      end = stop;
      count(kind);
    }
    if (whole.broken) count("broken");
    if (whole.unfinished) count("unfinished");
  }
  // Every outcome must occur, or the comparison proves little.
  for (const kind of ["record", "large", "malformed", "broken", "unfinished"]) assert.ok((kinds.get(kind) ?? 0) >= 20, `${kind}: ${kinds.get(kind)}`);
});
