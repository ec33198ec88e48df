// The fast path (flowDocumentJson, the JSON text the parser now writes per tuple) against the reference object path
// (JSON.stringify(toFlowDocument(flow))): the same text, character for character, so escaping, key order and number
// formatting can never differ. Over every fixture, the bench's generated dataset, all three tuple layouts, and
// hostile strings in every context field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { walkRecord } from "../../collector/src/format/parse";
import { parseFlowLogText, parseRecords, type ParsedFlow } from "../../collector/src/format";
import { flowDocumentJson, identifiedFlow, toFlowDocument } from "../../collector/src/ecs";
import { parseThreatList } from "../../collector/src/enrich/threatList";
import type { FlowEnrichment } from "../../collector/src/model";
import { costDataset } from "../../scripts/bench/costDataset";
import { mulberry32 } from "../support/flowLogWriter";
import { openGeoIp } from "../../collector/src/enrich/geoIp";
import { addressText, asnCsvRows } from "../support/shippedAsnRows";
import type { AddressEnrichment } from "../../collector/src/ecs";
import { testDatabases } from "../support/mmdbFixtures";

const FIXTURES = join(__dirname, "..", "fixtures");

function flowsOf(records: unknown[]): ParsedFlow[] {
  const flows: ParsedFlow[] = [];
  const sink = { flow: (flow: ParsedFlow) => flows.push(flow), reject: () => undefined };
  for (const record of records) walkRecord(record, sink);
  return flows;
}

/** Every flow's fast text equals the reference text; returns how many were compared. */
function assertSameText(flows: ParsedFlow[], enrichment?: FlowEnrichment): number {
  for (const flow of flows) {
    const expected = JSON.stringify(toFlowDocument(flow, enrichment));
    const actual = flowDocumentJson(flow, enrichment);
    if (actual !== expected) assert.equal(actual, expected, `tuple ${JSON.stringify(flow.text)} of rule ${JSON.stringify(flow.context.rule)}`);
  }
  return flows.length;
}

test("every fixture: the fast JSON text is the reference JSON.stringify(toFlowDocument) text", () => {
  let compared = 0;
  for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith(".json"))) {
    const parsed = JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as { records?: unknown };
    if (Array.isArray(parsed.records)) compared += assertSameText(flowsOf(parsed.records));
  }
  assert.ok(compared > 20, `compared ${compared} tuples`);
});

test("the bench's generated dataset (316,800 VNet tuples): the same text for every tuple, and documents carry it", async () => {
  const dataset = await costDataset();
  let compared = 0;
  for (const { blob } of dataset.blobs) {
    const text = blob.text();
    compared += assertSameText(flowsOf((JSON.parse(text) as { records: unknown[] }).records));
  }
  assert.equal(compared, dataset.tuples);
  const { documents } = parseFlowLogText(dataset.blobs[0]!.blob.text());
  for (const document of documents) assert.equal(document.source, JSON.stringify(document.doc));
});

const HOSTILE = [
  'quote " and \\ backslash', "control \u0000\u0001\u001f\u007f\b\f\n\r\t", "non-ASCII é ß 日本 😀 \u2028\u2029",
  "lone surrogates \ud800 and \udfff", "</script><!--", "", " ", "{\"json\":[1]}", "unspecified",
];

function hostileRecords(): unknown[] {
  const records: unknown[] = [];
  HOSTILE.forEach((s, i) => {
    records.push({
      time: "2023-11-14T22:13:20.0000000Z", category: "FlowLogFlowEvent", flowLogVersion: 4, macAddress: `00-0D-${s}`,
      targetResourceID: `/subscriptions/${s}/resourceGroups/${s}/providers/Microsoft.Network/virtualNetworks/${s}`,
      flowLogResourceID: `/SUBSCRIPTIONS/${s}/FLOWLOGS/${s}`, flowLogGUID: s,
      flowRecords: { flows: [{ aclID: s, flowGroups: [{ rule: s, flowTuples: [
        `1700000000${String(i).padStart(3, "0")},10.0.0.1,10.0.0.2,1,2,6,O,B,NX_FALLBACK,1,2,3,4`,
        "1700000059999,2001:db8::1,2001:db8::1,65535,0,17,I,D,X,,,,",
        "1700000060000,::ffff:192.0.2.1,fe80::1,0,0,1,I,E,,9007199254740991,9007199254740991,9007199254740991,9007199254740991",
        "1700000000001,10.0.0.9,10.0.0.3,80,80,250,O,C,,0,,0,",
        // An IPv6 zone has no length limit (node:net's isIP): a document longer than the writer's first buffer.
        `1700000000002,fe80::2%${"z".repeat(9_000)},fe80::3%${"y".repeat(5_000)},1,2,6,O,B,NX,1,2,3,4`,
      ] }] }] },
    });
    records.push({
      time: s, category: "NetworkSecurityGroupFlowEvent", resourceId: `/SUBSCRIPTIONS/${s}/RESOURCEGROUPS/${s}/PROVIDERS/X/Y/${s}`,
      macAddress: s,
      properties: { Version: 2, flows: [{ rule: s, flows: [{ mac: s, flowTuples: [
        "1700000000,192.0.2.95,10.1.0.4,51529,443,T,I,A,B,,,,", "1700000000,10.1.0.4,192.0.2.95,443,51529,U,O,D,E,1,2,,",
      ] }] }] },
    });
    records.push({
      category: "NetworkSecurityGroupFlowEvent", resourceId: s,
      properties: { Version: 1, flows: [{ rule: s, flows: [{ flowTuples: ["1700000000,192.0.2.95,10.1.0.4,51529,443,T,I,A"] }] }] },
    });
  });
  return records;
}

test("hostile strings in MACs, resource ids, rule names, ACL ids, GUIDs and times: the same text, escaped alike", () => {
  const flows = flowsOf(hostileRecords());
  assert.ok(flows.length >= HOSTILE.length * 7, `parsed ${flows.length} flows`);
  assertSameText(flows);
  // The parser's documents carry the same text, and their objects read back equal to the reference objects.
  const { documents } = parseRecords(hostileRecords());
  assert.equal(documents.length, flows.length);
  documents.forEach((document, i) => assert.deepEqual(document.doc, toFlowDocument(flows[i]!)));
});

const EVERY_CLASS = ["10.0.0.1", "10.0.0.1", "192.0.2.255", "2001:db8::7", "::1", "0.0.0.0", "255.255.255.255",
  "168.63.129.16", "169.254.169.254", "100.64.0.1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"]; // every address class

test("random tuples of every layout, protocol, state and counter mix: the same text", () => {
  const records = randomRecords(EVERY_CLASS);
  assert.equal(assertSameText(flowsOf(records)), 9000);
  assert.equal(assertSameText(flowsOf(records), THREATS), 9000);
});

function randomRecords(ips: string[]): unknown[] {
  const random = mulberry32(12);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  // Up to 2^52 - 1, so that both directions always add exactly (an odd total past 2^53 is refused by the parser).
  const counter = () => pick(["", "0", "1", String(Math.floor(random() * 2 ** 40)), "4503599627370495"]);
  const tuples: string[] = [];
  const nsgTuples: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const ms = 1_262_304_000_000 + Math.floor(random() * 2_800_000_000_000); // 2010 .. 2098
    const [src, dst] = [pick(ips), pick(ips)];
    const port = () => String(Math.floor(random() * 65536));
    tuples.push([ms, src, dst, port(), port(), pick(["6", "17", "1", "58", "132", "0", "47", "255"]), pick(["I", "O"]),
      pick(["B", "C", "E", "D"]), pick(["", "X", "NX", "NX_HW_NOT_SUPPORTED"]), counter(), counter(), counter(), counter()].join(","));
    nsgTuples.push([Math.floor(ms / 1000), src, dst, port(), port(), pick(["T", "U"]), pick(["I", "O"]), pick(["A", "D"]),
      pick(["B", "C", "E"]), counter(), counter(), counter(), counter()].join(","));
  }
  return [
    { category: "FlowLogFlowEvent", flowLogVersion: 4, flowRecords: { flows: [{ flowGroups: [{ flowTuples: tuples }] }] } },
    { category: "NetworkSecurityGroupFlowEvent", properties: { Version: 2, flows: [{ flows: [{ flowTuples: nsgTuples }] }] } },
    { category: "NetworkSecurityGroupFlowEvent", properties: { Version: 1, flows: [{ flows: [{ flowTuples: nsgTuples.map((t) => t.split(",").slice(0, 8).join(",")) }] }] } },
  ];
}

// A list covering some addresses of the fixtures, the hostile records and the random tuples, in both families and
// IPv4-mapped form, with comments and a file name that need escaping.
const THREATS: FlowEnrichment = {
  threats: parseThreatList([
    "203.0.113.0/24 ; SBL1", "10.0.0.1 # \"quoted\" \\ back\u0000slash é 😀 \ud800", "2001:db8::/32",
    "::ffff:192.0.2.0/120 ; mapped", "0.0.0.0", "52.239.184.180", "fe80::/10 ; \u2028line separator",
  ].join("\n"), 'list "x"\u0001.txt').list,
};

test("tagged flows (threat list): the same text, threat.enrichments last, the id unchanged", () => {
  const flows: ParsedFlow[] = [];
  for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith(".json"))) {
    const parsed = JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as { records?: unknown };
    if (Array.isArray(parsed.records)) flows.push(...flowsOf(parsed.records));
  }
  flows.push(...flowsOf(hostileRecords()));
  assertSameText(flows, THREATS);
  const counts = [0, 0, 0];
  for (const flow of flows) {
    const tagged = identifiedFlow(flow, THREATS);
    const plain = identifiedFlow(flow);
    assert.equal(tagged.id, plain.id);
    const enrichments = tagged.doc.threat?.enrichments ?? [];
    counts[enrichments.length]!++;
    // Only gains: the plain document is the tagged one without `threat`.
    const { threat: _threat, ...rest } = tagged.doc;
    assert.deepEqual(rest, plain.doc);
    assert.ok(tagged.source.endsWith(enrichments.length ? "]}}" : plain.source.slice(-3)));
  }
  assert.ok(counts[0]! > 0 && counts[1]! > 0 && counts[2]! > 0, `untagged, one side, both sides: ${counts.join(", ")}`);
});

test("with geo/AS enrichment (MaxMind City + ASN, and the shipped country + ASN data): the same text over fixtures, the bench dataset, hostile strings and random tuples", async () => {
  const dbs = testDatabases();
  const enrichments: FlowEnrichment[] = [
    { addresses: openGeoIp({ enabled: true, geoDatabase: dbs.city, asnDatabase: dbs.asn, cacheEntries: 100 })! }, // a small cache: evictions too
    { addresses: openGeoIp({ enabled: true, cacheEntries: 10_000 })!, threats: THREATS.threats }, // geo and threat list together
  ];
  // Public addresses the test databases know (20.50/16, 52.0/11, 2a01:111::/32) and do not, beside every class.
  // And shipped ASN rows whose names JSON must escape or that are not ASCII.
  const pick = (pattern: RegExp) => asnCsvRows(4).filter((row) => pattern.test(row.organization)).slice(0, 10).map((row) => addressText(4, row.first));
  const shippedNames = [...pick(/["\\]/), ...pick(/[^\x20-\x7e]/)];
  assert.equal(shippedNames.length, 20);
  const ips = [...EVERY_CLASS, "20.50.1.2", "52.1.2.3", "8.8.8.8", "2a01:111::5", "81.2.69.1", "::ffff:20.50.1.2", "2001:4860:4860::8888", ...shippedNames];
  const dataset = await costDataset();
  for (const enrichment of enrichments) {
    let enriched = 0;
    let withAs = 0;
    const count = (flows: ParsedFlow[]) => {
      for (const flow of flows) {
        const doc = toFlowDocument(flow, enrichment);
        if (doc.destination.geo || doc.source.geo) enriched++;
        if (doc.destination.as || doc.source.as) withAs++;
      }
      return assertSameText(flows, enrichment);
    };
    for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith(".json"))) {
      const parsed = JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as { records?: unknown };
      if (Array.isArray(parsed.records)) count(flowsOf(parsed.records));
    }
    for (const { blob } of dataset.blobs.slice(0, 8)) count(flowsOf((JSON.parse(blob.text()) as { records: unknown[] }).records));
    count(flowsOf(hostileRecords()));
    assert.equal(count(flowsOf(randomRecords(ips))), 9000);
    assert.ok(enriched > 5_000, `${enriched} enriched documents compared`);
    assert.ok(withAs > 5_000, `${withAs} documents with as.* compared`);
    // The parser's documents carry it too.
    const { documents } = parseFlowLogText(dataset.blobs[0]!.blob.text(), enrichment);
    const flows = flowsOf((JSON.parse(dataset.blobs[0]!.blob.text()) as { records: unknown[] }).records);
    documents.forEach((document, i) => assert.equal(document.source, JSON.stringify(toFlowDocument(flows[i]!, enrichment))));
  }
});
