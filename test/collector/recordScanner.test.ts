// The record scanner alone (pure): where records are, whatever the pieces the bytes arrive in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_RECORD_DEPTH, RecordScanner, type ScanItem } from "../../collector/src/source/recordScanner";

function scan(text: string | Buffer, piece: number, recordBytes = 1 << 20): { items: ScanItem[]; unfinished: boolean; broken: boolean } {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const scanner = new RecordScanner(0, true, recordBytes);
  const items: ScanItem[] = [];
  for (let at = 0; at < bytes.length && !scanner.broken; at += piece) items.push(...scanner.push(bytes.subarray(at, at + piece)));
  if (scanner.broken) return { items, unfinished: false, broken: true };
  const finished = scanner.finish();
  return { items: [...items, ...finished.items], unfinished: finished.unfinished !== undefined, broken: false };
}

const texts = (items: ScanItem[]) => items.map((item) => item.kind === "record" ? item.bytes.toString() : `${item.kind}:${item.start}-${item.end}`);

test("records come out byte for byte whatever the piece size: strings with brackets, escapes, multi-byte characters", () => {
  const records = ['{"a":"}]\\"{[","b":[1,{"c":"é€😀"}]}', '{"time":"x","s":"\\\\"}', '{}'];
  const text = `\ufeff{"records":[${records[0]},\n ${records[1]},${records[2]}]}`;
  for (let piece = 1; piece <= 12; piece++) {
    const result = scan(text, piece);
    assert.deepEqual(texts(result.items), records, `pieces of ${piece} bytes`);
    assert.equal(result.unfinished, false);
  }
});

test("a record longer than the bound is only measured; junk between records and a foreign head are set aside", () => {
  const long = `{"t":"${"x".repeat(100)}"}`;
  const result = scan(`{"records":[${long},42,{"k":1}]}`, 7, 50);
  assert.deepEqual(result.items.map((i) => [i.kind, i.start, i.end]), [["large", 12, 12 + long.length], ["malformed", 12 + long.length, 16 + long.length], ["record", 16 + long.length, 23 + long.length]]);
  const foreign = scan('{"value":[{"k":1}]}', 4);
  assert.deepEqual(foreign.items.map((i) => [i.kind, i.start]), [["malformed", 0], ["record", 10]]);
  assert.match((foreign.items[0] as { reason: string }).reason, /does not start with/);
});

test("an unclosed record is reported at the end of the data; a mismatched bracket stops the scan at once", () => {
  const scanner = new RecordScanner(0, true, 1 << 20);
  scanner.push(Buffer.from('{"records":[{"a":[1,2},{"b":1}]}'));
  assert.equal(scanner.broken?.end, 22);
  assert.equal(scanner.broken?.raw, '{"a":[1,2}', "the excerpt holds the broken record");
  assert.match(scanner.broken?.reason ?? "", /} at offset 21 does not match/);
  const open = scan('{"records":[{"a":1},{"b":[', 5);
  assert.deepEqual([open.items.length, open.unfinished], [1, true]);
});

test("a long record's observer sees exactly its bytes, in order, whatever the pieces; a scan step ends after it, so one observer at a time", () => {
  const longs = [`{"t":["${"x".repeat(120)}","}]\\""]}`, `{"u":"${"é".repeat(80)}"}`];
  const text = Buffer.from(`{"records":[{"k":1},${longs[0]},{"k":2},${longs[1]}]}`);
  for (let piece = 1; piece <= 200; piece += 7) {
    const observers: Array<{ bytes: Buffer[]; handedOver: boolean }> = [];
    const scanner = new RecordScanner(0, true, 50, () => {
      assert.ok(observers.every((o) => o.handedOver), "the previous long record was handed over before the next is observed");
      const observer = { bytes: [] as Buffer[], handedOver: false, push: (bytes: Buffer) => { observer.bytes.push(Buffer.from(bytes)); } };
      observers.push(observer);
      return observer;
    });
    const items: ScanItem[] = [];
    for (let at = 0; at < text.length; at += piece) {
      for (const step of scanner.steps(text.subarray(at, at + piece))) {
        for (const item of step) {
          items.push(item);
          if (item.kind === "large") (item.observer as unknown as { handedOver: boolean }).handedOver = true;
        }
      }
    }
    items.push(...scanner.finish().items);
    assert.deepEqual(items.map((i) => i.kind), ["record", "large", "record", "large"], `pieces of ${piece}`);
    assert.deepEqual(observers.map((o) => Buffer.concat(o.bytes).toString()), longs, `pieces of ${piece}`);
    assert.deepEqual(items.flatMap((i) => i.kind === "large" ? [i.observer] : []), observers);
    assert.deepEqual(items.flatMap((i) => i.kind === "large" ? [i.head.toString()] : []), longs, "the head of a record under 2,000 bytes is all of it");
  }
  // Without a factory, a long record is only measured.
  assert.equal((scan(text, 9, 50).items[1] as { observer?: unknown }).observer, undefined);
});

test("a stray ] or ]} between records is set aside and the record after it read whole; a second head after ]} is set aside up to its records", () => {
  const records = ['{"time":"a","k":[1,{"x":2}]}', '{"time":"b","k":{"y":[3]}}'];
  for (const stray of ["]", "]}", "] \n", "]}\n "]) {
    const text = `{"records":[${records[0]},${stray}${records[1]}]}`;
    const result = scan(text, text.length);
    // The separator before the stray bytes belongs to their item, as between any two records.
    // Whatever the pieces: a `{` near a piece's end is not taken for a second head before the bytes that tell.
    for (let piece = 1; piece <= text.length; piece++) {
      assert.deepEqual(texts(scan(text, piece).items), [records[0], `malformed:${12 + records[0].length}-${13 + records[0].length + stray.length}`, records[1]], `${JSON.stringify(stray)}, pieces of ${piece}`);
    }
  }
  // Two documents end to end (a copy appended to another): whatever the pieces, the head between them is junk.
  const joined = `{"records":[${records[0]}]}{"records":[${records[1]}]}`;
  for (let piece = 1; piece <= joined.length; piece++) {
    const result = scan(joined, piece);
    assert.deepEqual(texts(result.items).filter((text) => !text.startsWith("malformed")), records, `pieces of ${piece} bytes`);
    assert.equal(result.items.filter((item) => item.kind === "malformed").length, 1, "the first ]} and the second head, as one item");
  }
  // Data that ends inside what begins like a second head: set aside with the ]} before it, not held back or lost.
  const cut = `{"records":[${records[0]}]}{"rec`;
  for (let piece = 1; piece <= cut.length; piece++) {
    const result = scan(cut, piece);
    assert.deepEqual(texts(result.items), [records[0], `malformed:${12 + records[0].length}-${cut.length}`], `pieces of ${piece}`);
    assert.equal(result.unfinished, false);
  }
});

test("a record may hold MAX_RECORD_DEPTH brackets open; one more and it is broken there, whatever its length", () => {
  const nested = (levels: number): string => `{"records":[{"x":${"[".repeat(levels - 1)}${"]".repeat(levels - 1)}}]}`;
  const fits = scan(nested(MAX_RECORD_DEPTH), 5);
  assert.equal(fits.broken, false);
  assert.equal(fits.items.filter((item) => item.kind === "record").length, 1);
  for (const recordBytes of [1 << 20, 16]) {
    const scanner = new RecordScanner(0, true, recordBytes);
    scanner.push(Buffer.from(nested(MAX_RECORD_DEPTH + 1)));
    assert.equal(scanner.position, 12 + 5 + MAX_RECORD_DEPTH, `recordBytes ${recordBytes}: stopped right after the bracket too many`);
    assert.equal(scanner.broken?.end, undefined, "set aside up to the next plausible record start, not just that bracket");
    assert.match(scanner.broken?.reason ?? "", new RegExp(`nests deeper than ${MAX_RECORD_DEPTH} levels at offset ${12 + 5 + MAX_RECORD_DEPTH - 1}`));
  }
});
