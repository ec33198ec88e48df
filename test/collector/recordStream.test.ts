// A record too long to parse whole goes through the two-pass streaming walker; for any record both paths can
// handle, it must give the same documents (same ids, same content, same order) and the same rejects.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseRecords } from "../../collector/src/format";
import { parseRecordStreaming, RecordStreamError } from "../../collector/src/format/recordStream";
import { openGeoIp } from "../../collector/src/enrich/geoIp";
import { testDatabases } from "../support/mmdbFixtures";

const fixture = (name: string) => readFileSync(resolve(__dirname, "../fixtures", name), "utf8");
const recordsOf = (name: string) => (JSON.parse(fixture(name)) as { records: unknown[] }).records;

/** The same value with every object's keys in reverse order: metadata after the tuples, as JSON allows. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
}

const sortedRejects = (rejects: unknown[]) => rejects.map((r) => JSON.stringify(r)).sort();

function assertSameOutput(text: string, label: string): void {
  const whole = parseRecords([JSON.parse(text)], 7);
  for (const piece of [1, 5, 64, 4096, 1 << 20]) {
    const streamed = parseRecordStreaming(Buffer.from(text), 7, 1 << 20, piece);
    assert.deepEqual(streamed.documents, whole.documents, `${label}: documents, ${piece}-byte pieces`);
    assert.deepEqual(sortedRejects(streamed.rejects), sortedRejects(whole.rejects), `${label}: rejects, ${piece}-byte pieces`);
  }
}

test("the streaming walker gives the whole-record documents and rejects for every fixture record, in any pieces", () => {
  let documents = 0;
  for (const name of ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json", "mixed-records.json", "malformed-tuples.json", "unknown-records.json"]) {
    for (const [i, record] of recordsOf(name).entries()) {
      // Only objects are records to the scanner; anything else between records is dead-lettered by the reader.
      if (typeof record !== "object" || record === null || Array.isArray(record)) continue;
      assertSameOutput(JSON.stringify(record), `${name} record ${i}`);
      assertSameOutput(JSON.stringify(record, null, 2), `${name} record ${i}, pretty-printed`);
      documents += parseRecords([record]).documents.length;
    }
  }
  assert.ok(documents > 20, `${documents} documents compared`);
});

test("metadata after the tuples (keys in reverse order) is applied to every tuple, as in the whole-record path", () => {
  for (const name of ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json"]) {
    for (const record of recordsOf(name)) {
      const text = JSON.stringify(reversedKeys(record));
      assert.ok(text.indexOf('"flowTuples"') < text.indexOf('"time"'), "tuples come before the record's time");
      assertSameOutput(text, `${name} reversed`);
    }
  }
});

test("odd but valid shapes stream like the whole path: escaped key, duplicate keys, empty and non-string elements", () => {
  const [record] = recordsOf("nsg-v2.json") as Array<Record<string, any>>;
  const text = JSON.stringify(record);
  assertSameOutput(text.replace('"flowTuples"', '"flow\\u0054uples"'), "escaped key");
  // The first of two flowTuples keys is dropped by JSON.parse; its elements must not be streamed either.
  assertSameOutput(text.replace('"flowTuples":[', '"flowTuples":["1,2"],"flowTuples":['), "duplicate key");
  assertSameOutput(text.replace(/"flowTuples":\[[^\]]*\]/, '"flowTuples":[]'), "empty list");
  assertSameOutput(text.replace('"flowTuples":[', '"flowTuples":[42,{"a":[1,"]"]},null,["x"],'), "non-string elements");
  assertSameOutput(text.replace(/"flowTuples":\[[^\]]*\]/, '"flowTuples":"not a list"'), "not a list");
  const tricky = structuredClone(record);
  tricky.properties.flows[0].rule = 'x"]}\\,{["flowTuples":[';
  assertSameOutput(JSON.stringify(tricky), "quotes, backslashes and brackets inside a string");
});

test("a streamed record that is not JSON, or whose metadata exceeds the bound, is refused whole before any document", () => {
  const [record] = recordsOf("vnet-v4.json");
  const text = JSON.stringify(record);
  assert.throws(() => parseRecordStreaming(Buffer.from(text.slice(0, -1)), 0, 1 << 20, 100), RecordStreamError);
  assert.throws(() => parseRecordStreaming(Buffer.from(text.replace('"flowTuples":[', '"flowTuples":[nope,')), 0, 1 << 20, 100), /not valid JSON/);
  assert.throws(() => parseRecordStreaming(Buffer.from(text.replace('"time"', '"pad":"' + "x".repeat(5000) + '","time"')), 0, 4096, 100), /outside its flowTuples/);
});

test("with geo/AS enrichment, a streamed record's documents equal the whole-record path's (the service hands both the same lookup)", () => {
  const dbs = testDatabases();
  const enrichment = { addresses: openGeoIp({ enabled: true, geoDatabase: dbs.city, asnDatabase: dbs.asn, cacheEntries: 100 })! };
  let enriched = 0;
  for (const name of ["nsg-v2.json", "vnet-v4.json", "mixed-records.json"]) {
    for (const record of recordsOf(name)) {
      if (typeof record !== "object" || record === null || Array.isArray(record)) continue; // not a record to the scanner
      const text = JSON.stringify(record).replace(/\b52\.239\./g, "20.50."); // addresses the test database knows
      const whole = parseRecords([JSON.parse(text)], 3, enrichment);
      const streamed = parseRecordStreaming(Buffer.from(text), 3, 1 << 20, 64, enrichment);
      assert.deepEqual(streamed.documents.map((d) => [d.id, d.source]), whole.documents.map((d) => [d.id, d.source]), name);
      enriched += whole.documents.filter((d) => d.source.includes('"geo":')).length;
    }
  }
  assert.ok(enriched > 0, "some documents were enriched");
});
