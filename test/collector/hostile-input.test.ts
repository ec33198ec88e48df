// Hostile flow-log input (issue #13): deep nesting, wrong-typed metadata, implausible tuple times. The parser must
// never throw, never recurse on input, keep the good data, and report the bad with a bounded excerpt.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseFlowLogText, parseRecords } from "../../collector/src/format";
import { quote } from "../../collector/src/safeText";
import { StreamedTuples } from "../../collector/src/format/streamedTuples";
import { parseCheckpoint } from "../../collector/src/checkpoint/state";

const DEPTH = 5_000;
/** About 10 KB of JSON nested DEPTH levels deep: fine for JSON.parse, fatal for a recursive JSON.stringify. */
const deep = (): unknown => JSON.parse(`${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}`);
const deepObject = (): unknown => JSON.parse(`${'{"a":'.repeat(DEPTH)}1${"}".repeat(DEPTH)}`);

const NSG_TUPLE = "1700000000,192.0.2.95,10.1.0.4,51529,443,T,I,A";
const VNET_TUPLE = "1700000000000,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,,,,";
const nsgRecord = (extra: Record<string, unknown> = {}, rule: Record<string, unknown> = {}, mac: Record<string, unknown> = {}) => ({
  time: "2023-11-14T22:13:20.0000000Z", category: "NetworkSecurityGroupFlowEvent", resourceId: "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG",
  macAddress: "000D3A000001",
  properties: { Version: 1, flows: [{ rule: "DefaultRule_AllowInternetOutBound", flows: [{ mac: "000D3A000001", flowTuples: [NSG_TUPLE], ...mac }], ...rule }] },
  ...extra,
});
const vnetRecord = (extra: Record<string, unknown> = {}, group: Record<string, unknown> = {}, acl: Record<string, unknown> = {}) => ({
  time: "2023-11-14T22:13:20.0000000Z", category: "FlowLogFlowEvent", flowLogVersion: 4, macAddress: "000D3A000002",
  targetResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet",
  flowLogResourceID: "/SUBSCRIPTIONS/S/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NW/FLOWLOGS/FL",
  flowLogGUID: "66aa66aa-6c3f-4b2a-8b7e-1a2b3c4d5e6f",
  flowRecords: { flows: [{ aclID: "acl-1", flowGroups: [{ rule: "r1", flowTuples: [VNET_TUPLE], ...group }], ...acl }] },
  ...extra,
});

test("deep nesting in category, properties.Version or flowLogVersion: one bounded reject, the good records kept", () => {
  const good = [nsgRecord(), vnetRecord()];
  const bad = [
    { ...nsgRecord(), category: deep() },
    nsgRecord({ properties: { Version: deep(), flows: [] } }),
    vnetRecord({ flowLogVersion: deepObject() }),
  ];
  const { documents, rejects } = parseRecords([good[0], ...bad, good[1]]);
  assert.equal(documents.length, 2, "both good records indexed");
  assert.deepEqual(rejects.map((r) => r.record), [1, 2, 3]);
  assert.match(rejects[0].reason, /^record category \[\[\[\[.*… is not a flow-log category/);
  assert.match(rejects[1].reason, /properties\.Version \[\[\[.*… is not supported/);
  assert.match(rejects[2].reason, /flowLogVersion \{"a":\{"a":.*… is not supported/);
  for (const reject of rejects) {
    assert.ok(reject.reason.length < 400, `bounded reason: ${reject.reason.length}`);
    assert.ok((reject.raw ?? "").length <= 301, `bounded raw: ${(reject.raw ?? "").length}`);
  }
  // The same through the whole-document path the CLI uses.
  const text = JSON.stringify({ records: [good[0]] }).replace(/]}$/, `,{"category":${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}}]}`);
  const whole = parseFlowLogText(text);
  assert.equal(whole.documents.length, 1);
  assert.equal(whole.rejects.length, 1);
});

test("a deep value inside a tuple list is rejected with a bounded JSON-ish excerpt, not [object Object]", () => {
  const { documents, rejects } = parseRecords([nsgRecord({}, {}, { flowTuples: [NSG_TUPLE, deepObject(), deep()] })]);
  assert.equal(documents.length, 1);
  assert.equal(rejects.length, 2);
  assert.match(rejects[0].reason, /flowTuples\[1\] is an object, expected a tuple string/);
  assert.match(rejects[0].raw ?? "", /^\{"a":\{"a":\{"a":/);
  assert.match(rejects[1].raw ?? "", /^\[\[\[\[/);
  for (const reject of rejects) assert.ok((reject.raw ?? "").length <= 301);
});

test("quote renders any JSON value like JSON.stringify when short, and cuts long or deep ones without recursing", () => {
  for (const value of [null, true, 42, -0.5, "a\"b\n", [1, "x", { k: [null] }], { a: { b: [] }, c: "d" }, []]) {
    assert.equal(quote(value), JSON.stringify(value));
  }
  assert.equal(quote(undefined), "missing");
  assert.equal(quote("x".repeat(50), 10), `"xxxxxxxxx…`);
  assert.equal(quote(deep(), 8), "[[[[[[[[…");
  const huge = { records: Array.from({ length: 200_000 }, (_, i) => ({ i })) };
  assert.equal(quote(huge, 20), '{"records":[{"i":0},…');
  // As JSON.stringify does, a value's toJSON() is what is shown: a streamed tuple list is a list, not its fields.
  const streamed = { flowTuples: new StreamedTuples(0, 3), mac: "M" };
  assert.equal(quote(streamed), JSON.stringify(streamed));
  assert.equal(quote(streamed), '{"flowTuples":["(3 tuples, streamed)"],"mac":"M"}');
});

test("metadata of the wrong type rejects the entry it belongs to, naming the path and the type; nothing is invented", () => {
  const cases: Array<[unknown, RegExp, number]> = [
    [nsgRecord({}, { rule: 42 }), /^NSG record: properties\.flows\[0\]\.rule is a number, expected a string$/, 0],
    [nsgRecord({ time: 17 }), /^NSG record: time is a number, expected a string$/, 0],
    [nsgRecord({ macAddress: ["x"] }), /^NSG record: macAddress is an array, expected a string$/, 0],
    [nsgRecord({ resourceId: 123 }), /^NSG record: resourceId is a number, expected a string$/, 0],
    [nsgRecord({}, {}, { mac: { m: 1 } }), /^NSG record: properties\.flows\[0\]\.flows\[0\]\.mac is an object, expected a string$/, 0],
    [vnetRecord({}, { rule: 42 }), /^VNet record: flowRecords\.flows\[0\]\.flowGroups\[0\]\.rule is a number, expected a string$/, 0],
    [vnetRecord({}, {}, { aclID: false }), /^VNet record: flowRecords\.flows\[0\]\.aclID is a boolean, expected a string$/, 0],
    [vnetRecord({ time: 17 }), /^VNet record: time is a number, expected a string$/, 0],
    [vnetRecord({ macAddress: ["x"] }), /^VNet record: macAddress is an array, expected a string$/, 0],
    [vnetRecord({ targetResourceID: 123 }), /^VNet record: targetResourceID is a number, expected a string$/, 0],
    [vnetRecord({ flowLogResourceID: {} }), /^VNet record: flowLogResourceID is an object, expected a string$/, 0],
    [vnetRecord({ flowLogGUID: 7 }), /^VNet record: flowLogGUID is a number, expected a string$/, 0],
  ];
  for (const [record, reason, documents] of cases) {
    const result = parseRecords([record]);
    assert.equal(result.documents.length, documents, String(reason));
    assert.equal(result.rejects.length, 1, String(reason));
    assert.match(result.rejects[0].reason, reason);
    assert.equal(result.rejects[0].tuple, undefined);
    assert.ok((result.rejects[0].raw ?? "").length > 0);
  }
  // Only the entry with the bad field is set aside: a second rule in the same record is still indexed.
  const twoRules = nsgRecord();
  twoRules.properties.flows.push({ rule: 43 as unknown as string, flows: [{ mac: "000D3A000001", flowTuples: [NSG_TUPLE] }] });
  const mixed = parseRecords([twoRules]);
  assert.equal(mixed.documents.length, 1);
  assert.match(mixed.rejects[0].reason, /properties\.flows\[1\]\.rule is a number/);
  // Absent, null or empty metadata is still simply omitted.
  const absent = parseRecords([nsgRecord({ time: null, resourceId: "" }, { rule: undefined })]);
  assert.equal(absent.rejects.length, 0);
  assert.equal(absent.documents[0].doc.rule, undefined);
});

test("tuple times outside a plausible window are rejected: ±1 day of the record's time, else 2010..2100", () => {
  const nsgAt = (seconds: number, time?: unknown) =>
    nsgRecord({ time }, {}, { flowTuples: [`${seconds},192.0.2.95,10.1.0.4,51529,443,T,I,A`] });
  const vnetAt = (ms: number, time?: unknown) => vnetRecord({ time }, { flowTuples: [`${ms},10.0.0.1,10.0.0.2,1,2,6,O,B,NX,,,,`] });
  const recordTime = "2023-11-14T22:13:20.0000000Z"; // 1700000000
  const accepted = (record: unknown) => parseRecords([record]).documents.length === 1;
  const reason = (record: unknown) => parseRecords([record]).rejects[0]?.reason ?? "";

  assert.ok(accepted(nsgAt(1_700_000_000, recordTime)));
  assert.ok(accepted(nsgAt(1_700_000_000 - 86_400, recordTime)), "a day before the record is fine");
  assert.ok(accepted(nsgAt(1_700_000_000 + 86_400, recordTime)), "a day after too");
  assert.ok(!accepted(nsgAt(1_700_000_000 + 86_401, recordTime)));
  assert.match(reason(nsgAt(1_700_000_000 + 86_401, recordTime)), /flowTuples\[0\]: timestamp 1700086401 \(2023-11-15T22:13:21\.000Z\) is more than a day from the record's time 2023-11-14T22:13:20\.0000000Z/);
  assert.ok(!accepted(nsgAt(1_000_000_000, recordTime)), "2001 in a 2023 record");
  // No usable record time: the fixed window.
  assert.ok(!accepted(nsgAt(1_000_000_000)), "1970s-2001 outside 2010..2100");
  assert.match(reason(nsgAt(1_000_000_000)), /timestamp 1000000000 \(2001-09-09T01:46:40\.000Z\) is outside 2010-01-01\.\.2100-01-01/);
  assert.ok(!accepted(nsgAt(9_999_999_999)), "2286");
  assert.ok(accepted(nsgAt(1_700_000_000, "not a time")), "an unreadable record time falls back to the fixed window");
  assert.ok(!accepted(vnetAt(1_000_000_000_000)));
  assert.ok(!accepted(vnetAt(9_999_999_999_999)), "VNet 2286");
  assert.ok(!accepted(vnetAt(1_000_000_000_000, "2001-09-09T01:46:40Z")), "the fixed window holds even when the record agrees");
  assert.ok(accepted(vnetAt(1_700_000_000_000, recordTime)));
  assert.equal(parseRecords([nsgAt(9_999_999_999)]).rejects[0].tuple, 0);
});

test("a damaged checkpoint with a deep value is reported with a bounded reason, not a stack overflow", () => {
  const deepText = `${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}`;
  for (const text of [`{"format":${deepText}}`, `{"format":1,"offset":0,"blocks":0,"records":0,"container":${deepText},"blob":"b"}`]) {
    assert.throws(() => parseCheckpoint(text, "c", "b"), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.doesNotMatch(error.message, /call stack/);
      assert.ok(error.message.length < 300, error.message);
      return true;
    });
  }
});
