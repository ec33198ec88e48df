import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseFlowLogText, parseRecords, type ParsedFlow } from "../../collector/src/format";
import { walkRecord } from "../../collector/src/format/parse";
import { toFlowDocument } from "../../collector/src/ecs";

const fixture = (name: string): string => readFileSync(join(__dirname, "..", "fixtures", name), "utf8");
const records = (name: string): unknown[] => (JSON.parse(fixture(name)) as { records: unknown[] }).records;
const FIXTURES = ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json", "malformed-tuples.json", "mixed-records.json"];

test("the same input parsed twice gives the same ids (base64url, 22 characters)", () => {
  for (const name of FIXTURES) {
    const first = parseFlowLogText(fixture(name)).documents.map((d) => d.id);
    const second = parseFlowLogText(fixture(name)).documents.map((d) => d.id);
    assert.ok(first.length > 0, name);
    assert.deepEqual(first, second, name);
    for (const id of first) assert.match(id, /^[A-Za-z0-9_-]{22}$/);
  }
});

test("every distinct tuple across all fixtures gets a distinct id, including a repeated tuple text in one group", () => {
  const ids = FIXTURES.flatMap((name) => parseFlowLogText(fixture(name)).documents.map((d) => d.id));
  assert.equal(new Set(ids).size, ids.length);
  // nsg-v2.json's last record holds the same tuple text twice: two entries Azure wrote, two documents.
  const lastTwo = parseFlowLogText(fixture("nsg-v2.json")).documents.slice(-2);
  assert.deepEqual(lastTwo[0].doc, lastTwo[1].doc);
  assert.notEqual(lastTwo[0].id, lastTwo[1].id);
});

test("ids do not depend on the record's position in the array or on the chunk it was read in", () => {
  const all = records("nsg-v2.json").concat(records("vnet-v4.json"));
  const whole = parseRecords(all).documents.map((d) => d.id).sort();
  const reversed = parseRecords([...all].reverse(), 0).documents.map((d) => d.id).sort();
  const chunked = [...parseRecords(all.slice(0, 1), 0).documents, ...parseRecords(all.slice(1), 1).documents].map((d) => d.id).sort();
  const withNoise = parseRecords([{ category: "junk" }, ...all], 99).documents.map((d) => d.id).sort();
  assert.deepEqual(reversed, whole);
  assert.deepEqual(chunked, whole);
  assert.deepEqual(withNoise, whole);
});

test("each ingredient of the id recipe changes the id", () => {
  const base = {
    time: "2023-11-14T22:15:01.5625085Z",
    flowLogVersion: 4,
    macAddress: "00224871C205",
    category: "FlowLogFlowEvent",
    flowLogResourceID: "/SUBSCRIPTIONS/S/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NW/FLOWLOGS/FL",
    targetResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet",
    flowRecords: { flows: [{ aclID: "acl", flowGroups: [{ rule: "rule", flowTuples: ["1700000000000,10.0.0.1,10.0.0.2,1,2,6,O,E,NX,1,2,3,4"] }] }] },
  };
  const idOf = (record: unknown): string => {
    const { documents } = parseRecords([record]);
    assert.equal(documents.length, 1);
    return documents[0].id;
  };
  const original = idOf(base);
  const variants: Record<string, unknown> = {
    time: { ...base, time: "2023-11-14T22:16:01.5625085Z" },
    mac: { ...base, macAddress: "00224871C206" },
    target: { ...base, targetResourceID: `${base.targetResourceID}2` },
    flowLog: { ...base, flowLogResourceID: `${base.flowLogResourceID}2` },
    acl: { ...base, flowRecords: { flows: [{ aclID: "acl2", flowGroups: base.flowRecords.flows[0].flowGroups }] } },
    rule: { ...base, flowRecords: { flows: [{ aclID: "acl", flowGroups: [{ rule: "rule2", flowTuples: base.flowRecords.flows[0].flowGroups[0].flowTuples }] }] } },
    tuple: { ...base, flowRecords: { flows: [{ aclID: "acl", flowGroups: [{ rule: "rule", flowTuples: ["1700000000001,10.0.0.1,10.0.0.2,1,2,6,O,E,NX,1,2,3,4"] }] }] } },
  };
  for (const [what, record] of Object.entries(variants)) assert.notEqual(idOf(record), original, what);
  // Case-only differences in resource ids and MAC are the same resource: the id does not change.
  assert.equal(idOf({ ...base, targetResourceID: base.targetResourceID.toUpperCase(), macAddress: "00224871c205" }), original);
});

test("the same tuple under NSG v1 and NSG v2 framing, or in another group position, gets different ids", () => {
  const nsg = (version: number, tuples: string[]) => ({
    time: "t", category: "NetworkSecurityGroupFlowEvent", resourceId: "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/N",
    properties: { Version: version, flows: [{ rule: "r", flows: [{ mac: "M", flowTuples: tuples }] }] },
  });
  const tuple = "1700000000,10.0.0.1,10.0.0.2,1,2,T,I,A";
  const first = parseRecords([nsg(1, [tuple])]).documents[0].id;
  const second = parseRecords([nsg(1, ["1700000000,10.0.0.1,10.0.0.3,1,2,T,I,A", tuple])]).documents[1].id;
  assert.notEqual(first, second);
});

/** A VNet record's ids by the documented flowlogs-id/2 recipe, computed the plain way with a Hash object. */
function recipeIds(record: Record<string, any>): string[] {
  const ids: string[] = [];
  for (const acl of record.flowRecords.flows) {
    for (const group of acl.flowGroups) {
      const context = JSON.stringify(["flowlogs-id/2", "vnet", 4, (record.targetResourceID ?? "").toLowerCase(),
        (record.flowLogResourceID ?? "").toLowerCase(), (record.macAddress ?? "").toUpperCase(), record.time ?? "",
        acl.aclID ?? "", group.rule ?? ""]);
      group.flowTuples.forEach((tuple: string, i: number) => {
        const time = Buffer.alloc(6);
        time.writeUIntBE(Number(tuple.split(",")[0]), 0, 6);
        const digest = createHash("sha256").update(context + JSON.stringify([i, tuple])).digest().subarray(0, 10);
        ids.push(Buffer.concat([time, digest]).toString("base64url"));
      });
    }
  }
  return ids;
}

test("ids follow the documented flowlogs-id/2 recipe byte for byte (checked with a Hash object on every fixture tuple)", () => {
  // The recipe from collector/src/ecs/documentId.ts, computed the plain way: a regression here would silently turn
  // every re-read after an upgrade into duplicates, so the ids must never drift.
  const vnet = records("vnet-v4.json") as Array<Record<string, any>>;
  let checked = 0;
  for (const record of vnet) {
    const ids = parseRecords([record]).documents.map((d) => d.id);
    assert.deepEqual(ids, recipeIds(record));
    checked += ids.length;
  }
  assert.ok(checked >= 5, `checked ${checked} tuples`);
});

test("records differing in one context field each, interleaved, never share cached parts: ids by the recipe, documents by the mapper", () => {
  // The parser keeps what a context contributes by content across records; values that only differ in where one
  // field ends and the next begins must still be told apart.
  const base = {
    time: "2026-11-20T10:01:00.0000000Z", flowLogVersion: 4, flowLogGUID: "g", macAddress: "00AA", category: "FlowLogFlowEvent",
    flowLogResourceID: "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NW/FLOWLOGS/F",
    targetResourceID: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet",
  };
  const record = (changes: Record<string, unknown>, aclID = "acl", rule = "rule") => ({
    ...base, ...changes,
    flowRecords: { flows: [{ aclID, flowGroups: [{ rule, flowTuples: ["1795168860000,10.0.0.1,10.0.0.2,1000,443,6,O,B,NX,1,2,3,4"] }] }] },
  });
  const variants = [
    record({}), record({ macAddress: "00AB" }), record({ targetResourceID: `${base.targetResourceID}0` }),
    record({ targetResourceID: `${base.targetResourceID}0`, macAddress: "0AA" }), record({ flowLogResourceID: base.flowLogResourceID.slice(0, -1) }),
    record({ flowLogGUID: "h" }), record({ time: "2026-11-20T10:02:00.0000000Z" }), record({}, "acl2"), record({}, "acl", "rule2"),
    record({}, "aclr", "ule"), record({}, "acl", "rul"), record({ targetResourceID: undefined }), record({ macAddress: "00aa" }),
  ];
  const ids = new Set<string>();
  for (const round of [0, 1]) {
    for (const variant of round === 0 ? variants : [...variants].reverse()) {
      const { documents } = parseRecords([variant]);
      assert.deepEqual(documents.map((d) => d.id), recipeIds(variant), JSON.stringify(variant));
      const flows: ParsedFlow[] = [];
      walkRecord(variant, { flow: (flow) => flows.push(flow), reject: () => undefined });
      assert.deepEqual(documents.map((d) => d.source), flows.map((flow) => JSON.stringify(toFlowDocument(flow))));
      documents.forEach((d) => ids.add(d.id));
    }
  }
  // The flow log GUID is not part of the id and the MAC's case is not either (the recipe upper-cases it); every other
  // variant is a distinct flow. (Their documents differ, which the comparison with the mapper above checked.)
  assert.equal(ids.size, variants.length - 2);
});

test("contexts of any length and script, one after another: ids by the recipe whether the hash input fits the id buffer (8 KB) or not", () => {
  const record = (rule: string, aclID = "acl") => ({
    time: "2026-11-20T10:01:00.0000000Z", flowLogVersion: 4, macAddress: "00AA", category: "FlowLogFlowEvent",
    targetResourceID: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet",
    flowRecords: { flows: [{ aclID, flowGroups: [{ rule, flowTuples: [
      "1795168860000,10.0.0.1,10.0.0.2,1000,443,6,O,B,NX,1,2,3,4", "1795168860001,2001:db8::1,fe80::1%eth0,0,0,17,I,D,X,,,,",
      // An IPv6 zone has no length limit (node:net's isIP): a tuple alone can be longer than the buffer.
      `1795168860002,fe80::2%${"z".repeat(9_000)},2001:db8::2,0,0,17,I,D,X,,,,`,
    ] }] }] },
  });
  // Plain, multi-byte, lone surrogates (escaped by JSON), and sizes around the buffer's: prefixes that fit with room
  // for the short tuples but not for the long one, and ones over it.
  const rules = ["r", "Zürich 規則 🚦", "lone \ud800", "x".repeat(2_400), "日".repeat(2_400), "x".repeat(8_100), "z".repeat(20_000), "r"];
  for (const round of [0, 1]) {
    for (const rule of round === 0 ? rules : [...rules].reverse()) {
      const variant = record(rule);
      assert.deepEqual(parseRecords([variant]).documents.map((d) => d.id), recipeIds(variant), `rule of ${rule.length} characters`);
    }
  }
});

test("an NSG tuple's id leads with its time in milliseconds (epoch seconds scaled), so ids of nearby flows share a prefix", () => {
  const record = (tuples: string[]) => ({
    time: "t", category: "NetworkSecurityGroupFlowEvent", resourceId: "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/N",
    properties: { Version: 1, flows: [{ rule: "r", flows: [{ mac: "M", flowTuples: tuples }] }] },
  });
  const ids = parseRecords([record(["1700000000,10.0.0.1,10.0.0.2,1,2,T,I,A", "1700000000,10.0.0.9,10.0.0.2,1,2,T,I,A"])]).documents.map((d) => d.id);
  const time = Buffer.alloc(6);
  time.writeUIntBE(1_700_000_000_000, 0, 6);
  for (const id of ids) assert.equal(Buffer.from(id, "base64url").subarray(0, 6).toString("hex"), time.toString("hex"));
  assert.notEqual(ids[0], ids[1]);
});

test("a parsed document writes its id's bytes (into a bulk action line) exactly as its id reads, for any time and digest", () => {
  // writeIdOfDigest and idOfDigest each turn the time and digest into the id; they must never disagree.
  let state = 7;
  const next = (limit: number) => (state = (state * 1103515245 + 12345) % 2 ** 31) % limit;
  const vnet: string[] = [];
  const nsg: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const ms = 1_262_304_000_000 + next(2 ** 31) * 1300 + next(1000); // 2010 .. 2098, any millisecond
    const ports = `${next(65536)},${next(65536)}`;
    vnet.push(`${ms},10.0.${next(256)}.${next(256)},203.0.113.${next(256)},${ports},6,O,B,NX,1,2,3,4`);
    nsg.push(`${Math.floor(ms / 1000)},10.0.0.${next(256)},2001:db8::${next(65536).toString(16)},${ports},T,I,A,B,1,2,3,4`);
  }
  const documents = parseRecords([
    { category: "FlowLogFlowEvent", flowLogVersion: 4, flowRecords: { flows: [{ flowGroups: [{ flowTuples: vnet }] }] } },
    { category: "NetworkSecurityGroupFlowEvent", properties: { Version: 2, flows: [{ flows: [{ flowTuples: nsg }] }] } },
  ]).documents;
  assert.equal(documents.length, 8000);
  const out = Buffer.alloc(40, 0x2e);
  const lastCharacters = new Set<string>();
  for (const document of documents) {
    const end = document.writeId!(out, 5);
    const { id } = document;
    if (out.toString("latin1", 5, end) !== id) assert.equal(out.toString("latin1", 5, end), id);
    assert.ok(out[4] === 0x2e && out[end] === 0x2e, "nothing written outside the id");
    lastCharacters.add(id[21]!);
  }
  assert.deepEqual([...lastCharacters].sort(), ["A", "Q", "g", "w"]); // the 14th digest character's top two bits, all four
});
