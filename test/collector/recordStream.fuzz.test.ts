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

const FIXTURES = ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json", "mixed-records.json", "malformed-tuples.json"];
const RECORDS: unknown[] = FIXTURES.flatMap((name) =>
  (JSON.parse(readFileSync(resolve(__dirname, "../fixtures", name), "utf8")) as { records: unknown[] }).records)
  .filter((record) => typeof record === "object" && record !== null && !Array.isArray(record));

/** mulberry32: a small PRNG, so every run makes the same cases. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Mutator {
  constructor(readonly next: () => number) {}

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)]!;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  /** Characters inserted, deleted or replaced: tuple separators, digits, flags, quotes, escapes, non-ASCII. */
  text(value: string): string {
    let text = value;
    for (let n = 1 + this.int(3); n > 0; n--) {
      const at = this.int(text.length + 1);
      const c = this.pick([...",0123456789.:ABCDEFTUIONX-abf \"\\\u00e9", "\u{1F600}"]);
      const kind = this.next();
      text = kind < 0.33 ? text.slice(0, at) + c + text.slice(at)
        : kind < 0.66 ? text.slice(0, at) + text.slice(at + 1)
        : text.slice(0, at) + c + text.slice(at + 1);
    }
    return text;
  }

  value(depth = 0): unknown {
    const kind = this.next();
    if (kind < 0.15) return null;
    if (kind < 0.3) return this.next() < 0.5;
    if (kind < 0.45) return this.pick([0, -1, 1.5, 1e21, 4, 2, 1, 65536, Number.MAX_SAFE_INTEGER]);
    if (kind < 0.7) return this.text(this.pick(["", "1,2", "NetworkSecurityGroupFlowEvent", "FlowLogFlowEvent", "2022-09-14T09:00:52.5625085Z"]));
    if (depth < 4) return this.next() < 0.6 ? [this.value(depth + 1), this.value(depth + 1)] : { a: this.value(depth + 1) };
    return "z";
  }

  /** A copy of `record` with 1-3 changes anywhere in its tree: values edited or replaced, keys dropped or renamed, elements repeated. */
  record(record: unknown): unknown {
    const copy = structuredClone(record);
    for (let n = 1 + this.int(3); n > 0; n--) {
      const places = slots(copy);
      if (places.length === 0) break;
      const { parent, key } = this.pick(places);
      const value = parent[key];
      const kind = this.next();
      if (typeof value === "string" && kind < 0.6) parent[key] = this.text(value);
      else if (kind < 0.75) parent[key] = this.value();
      else if (!Array.isArray(parent) && kind < 0.85) delete parent[key];
      else if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(value));
      else parent[this.text(String(key))] = structuredClone(value);
    }
    return copy;
  }

  /** `text` with 1-3 edits that mostly break JSON: brackets, quotes, escapes, cut literals, a second tuple-list key. */
  json(text: string): string {
    let out = text;
    for (let n = 1 + this.int(3); n > 0; n--) {
      const at = this.int(out.length + 1);
      const c = this.pick([..."[]{}\",:\\ 0a\u0000\n", "\\u00", "\\ud800", "tru", "1e", "-", "\"flowTuples\":[", "]]", "}}"]);
      const kind = this.next();
      out = kind < 0.4 ? out.slice(0, at) + c + out.slice(at)
        : kind < 0.7 ? out.slice(0, at) + out.slice(at + 1 + this.int(5))
        : out.slice(0, at) + c + out.slice(at + c.length);
    }
    return out;
  }
}

function slots(value: unknown, out: Array<{ parent: any; key: string | number }> = []): Array<{ parent: any; key: string | number }> {
  if (Array.isArray(value)) value.forEach((item, i) => { out.push({ parent: value, key: i }); slots(item, out); });
  else if (typeof value === "object" && value !== null) for (const key of Object.keys(value)) { out.push({ parent: value, key }); slots((value as any)[key], out); }
  return out;
}

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
  for (const seed of [1, 2, 3]) {
    const mutate = new Mutator(random(seed));
    for (let i = 0; i < 1_500; i++) {
      const record = mutate.record(mutate.pick(RECORDS));
      const text = JSON.stringify(record, null, mutate.next() < 0.3 ? 1 : undefined);
      const whole = parseRecords([JSON.parse(text)], 3);
      documents += whole.documents.length;
      rejects += whole.rejects.length;
      for (const piece of [1 + mutate.int(7), 64 + mutate.int(500)]) {
        const streamed = parseRecordStreaming(Buffer.from(text), 3, 1 << 20, piece);
        const label = `seed ${seed} case ${i}, ${piece}-byte pieces: ${text.slice(0, 400)}`;
        assert.deepEqual(streamed.documents, whole.documents, label);
        assert.deepEqual(comparable(streamed.rejects, streamed.rejects), comparable(whole.rejects, streamed.rejects), label);
      }
    }
  }
  // The cases must exercise both outcomes, or the comparison proves little.
  assert.ok(documents > 3_000 && rejects > 5_000, `${documents} documents, ${rejects} rejects`);
});

test("fuzz: 3 × 1,500 records with broken JSON text are refused whole by the streamed path exactly when JSON.parse refuses them", () => {
  let refused = 0;
  let read = 0;
  for (const seed of [11, 12, 13]) {
    const mutate = new Mutator(random(seed));
    for (let i = 0; i < 1_500; i++) {
      const text = mutate.json(JSON.stringify(mutate.pick(RECORDS), null, mutate.next() < 0.3 ? 1 : undefined));
      let parsed: unknown;
      let isJson = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        isJson = false;
      }
      const label = `seed ${seed} case ${i}: ${JSON.stringify(text).slice(0, 400)}`;
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
  }
  assert.ok(refused > 1_000 && read > 1_000, `${refused} refused, ${read} read`);
});
