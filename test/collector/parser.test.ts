import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FlowLogFormatError, parseFlowLogText, parseRecords, parseTuple, TupleError } from "../../collector/src/format";

const fixture = (name: string): string => readFileSync(join(__dirname, "..", "fixtures", name), "utf8");
const records = (name: string): unknown[] => (JSON.parse(fixture(name)) as { records: unknown[] }).records;

test("NSG v1 tuple: 8 fields, epoch seconds, T/U, I/O, A/D, no state or counters", () => {
  assert.deepEqual(parseTuple("1700000000,192.0.2.95,10.1.0.4,51529,443,T,I,A", "nsg-v1"), {
    timestampMs: 1_700_000_000_000,
    sourceIp: "192.0.2.95",
    destinationIp: "10.1.0.4",
    sourceIpv4: 0xc000025f,
    destinationIpv4: 0x0a010004,
    sourcePort: 51529,
    destinationPort: 443,
    ianaNumber: 6,
    direction: "inbound",
    decision: "allowed",
    counters: {},
  });
  const udpOutDenied = parseTuple("1700000001,10.1.0.4,198.51.100.7,40000,53,U,O,D", "nsg-v1");
  assert.equal(udpOutDenied.ianaNumber, 17);
  assert.equal(udpOutDenied.direction, "outbound");
  assert.equal(udpOutDenied.decision, "denied");
});

test("NSG v2 tuple: B with four empty counters has no counters; C/E counters parse; 0 stays 0", () => {
  const begin = parseTuple("1708978215,203.0.113.105,10.0.0.5,35370,443,T,I,A,B,,,,", "nsg-v2");
  assert.equal(begin.state, "begin");
  assert.deepEqual(begin.counters, {});
  const continuing = parseTuple("1708978215,203.0.113.105,10.0.0.5,35370,443,T,I,A,C,1021,588096,8005,4610880", "nsg-v2");
  assert.equal(continuing.state, "continuing");
  assert.deepEqual(continuing.counters, { packetsSent: 1021, bytesSent: 588096, packetsReceived: 8005, bytesReceived: 4610880 });
  const end = parseTuple("1708978320,10.0.0.5,198.51.100.20,50000,443,T,O,A,E,0,0,3,180", "nsg-v2");
  assert.equal(end.state, "end");
  assert.deepEqual(end.counters, { packetsSent: 0, bytesSent: 0, packetsReceived: 3, bytesReceived: 180 });
});

test("VNet tuple: epoch milliseconds, IANA protocol, state D means denied, encryption kept as written", () => {
  const denied = parseTuple("1700000101000,203.0.113.50,10.0.0.6,51000,3389,6,I,D,NX,,,,", "vnet-v4");
  assert.equal(denied.timestampMs, 1_700_000_101_000);
  assert.equal(denied.state, "deny");
  assert.equal(denied.decision, "denied");
  assert.equal(denied.encryption, "NX");
  assert.deepEqual(denied.counters, {});
  for (const [state, name] of [["B", "begin"], ["C", "continuing"], ["E", "end"]] as const) {
    const tuple = parseTuple(`1700000100123,10.0.0.6,52.239.184.180,23956,443,17,O,${state},NX_FALLBACK,0,0,0,0`, "vnet-v4");
    assert.equal(tuple.state, name);
    assert.equal(tuple.decision, "allowed");
    assert.equal(tuple.ianaNumber, 17);
    assert.equal(tuple.encryption, "NX_FALLBACK");
    assert.deepEqual(tuple.counters, { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0 });
  }
  // An encryption word is 1-64 characters of [A-Za-z0-9_].
  const vnetWith = (encryption: string) => parseTuple(`1700000100123,10.0.0.6,10.0.0.9,1,2,6,O,B,${encryption},0,0,0,0`, "vnet-v4");
  assert.equal(vnetWith(`Az09_${"w".repeat(59)}`).encryption, `Az09_${"w".repeat(59)}`);
  for (const bad of ["w".repeat(65), "NX-1", "NX é", "NX\u{1F600}", "N\u0000"]) {
    assert.throws(() => vnetWith(bad), /is not a word like X, NX or NX_FALLBACK/, JSON.stringify(bad));
  }
  // Counters: all four reported, some not reported (omitted, never 0), or one not a whole number (refused).
  assert.deepEqual(vnetWith("X").counters, { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0 });
  assert.deepEqual(parseTuple("1700000100123,10.0.0.6,10.0.0.9,1,2,6,O,C,X,3,,5,", "vnet-v4").counters, { packetsSent: 3, packetsReceived: 5 });
  assert.throws(() => parseTuple("1700000100123,10.0.0.6,10.0.0.9,1,2,6,O,C,X,3,4,5,9007199254740992", "vnet-v4"), /bytes received/);
  // Each counter exact, but a sum of both directions past 2^53 and odd would be written rounded: refused, both paths.
  // An even one there is exact, and kept.
  assert.equal(parseTuple("1700000100123,10.0.0.6,10.0.0.9,1,2,6,O,C,X,3,9007199254740990,5,1", "vnet-v4").counters.bytesSent, 9007199254740990);
  assert.deepEqual(parseTuple("1700000100123,10.0.0.6,10.0.0.9,1,2,6,O,C,X,3,9007199254740991,5,9007199254740991", "vnet-v4").counters,
    { packetsSent: 3, bytesSent: 9007199254740991, packetsReceived: 5, bytesReceived: 9007199254740991 });
  assert.throws(() => parseTuple("1700000100123,10.0.0.6,10.0.0.9,1,2,6,O,C,X,3,9007199254740991,5,2", "vnet-v4"),
    /bytes sent \+ bytes received \(9007199254740991 \+ 2\) cannot be added exactly as a number, so network\.bytes would be rounded/);
  assert.throws(() => parseTuple("1700000100123,10.0.0.6,10.0.0.9,1,2,6,O,C,X,9007199254740991,,2,", "vnet-v4"), /packets sent \+ packets received/);
  assert.throws(() => parseTuple("1700000000,10.0.0.6,10.0.0.9,1,2,T,O,A,C,4503599627370497,1,4503599627370496,1", "nsg-v2"), /network\.packets/);
  const ipv6 = parseTuple("1700000102000,2001:db8:10::6,2001:db8:ff::53,40123,53,17,O,E,X,1,72,1,120", "vnet-v4");
  assert.equal(ipv6.sourceIp, "2001:db8:10::6");
  assert.equal(ipv6.destinationIp, "2001:db8:ff::53");
  const gre = parseTuple("1700000103000,10.0.0.6,10.0.0.9,0,0,47,O,C,NX,5,500,5,500", "vnet-v4");
  assert.equal(gre.ianaNumber, 47);
});

test("invalid tuples throw TupleError naming the bad field", () => {
  const cases: Array<[string, "nsg-v1" | "nsg-v2" | "vnet-v4", RegExp]> = [
    ["1700000000,192.0.2.95,10.1.0.4,51529,443,T,I", "nsg-v1", /has 7 comma-separated fields, expected 8/],
    ["1700000000,192.0.2.95,10.1.0.4,51529,443,T,I,A", "nsg-v2", /has 8 comma-separated fields, expected 13/],
    ["1700000000,192.0.2.256,10.1.0.4,51529,443,T,I,A", "nsg-v1", /source IP "192\.0\.2\.256"/],
    ["1700000000,192.0.2.1,not-an-ip,51529,443,T,I,A", "nsg-v1", /destination IP "not-an-ip"/],
    ["1700000000,192.0.2.1,10.1.0.4,65536,443,T,I,A", "nsg-v1", /source port "65536"/],
    ["1700000000,192.0.2.1,10.1.0.4,1,-443,T,I,A", "nsg-v1", /destination port "-443"/],
    ["1700000000,192.0.2.1,10.1.0.4,1,,T,I,A", "nsg-v1", /destination port ""/],
    ["1700000000,192.0.2.1,10.1.0.4,1,2,6,I,A", "nsg-v1", /protocol "6" is not T \(TCP\) or U \(UDP\)/],
    ["1700000000123,192.0.2.1,10.1.0.4,1,2,T,I,A", "nsg-v1", /timestamp "1700000000123" is not 10-digit epoch seconds/],
    ["17000x0000,192.0.2.1,10.1.0.4,1,2,T,I,A", "nsg-v1", /timestamp "17000x0000"/],
    ["1700000000,192.0.2.1,10.1.0.4,1,2,T,X,A", "nsg-v1", /direction "X"/],
    ["1700000000,192.0.2.1,10.1.0.4,1,2,T,I,B", "nsg-v1", /decision "B"/],
    ["1700000000,192.0.2.1,10.1.0.4,1,2,T,I,A,D,,,,", "nsg-v2", /flow state "D" is not one of B, C, E/],
    ["1700000000,192.0.2.1,10.1.0.4,1,2,T,I,A,C,1,2.5,3,4", "nsg-v2", /bytes sent "2\.5"/],
    ["1700000000,192.0.2.1,10.1.0.4,1,2,T,I,A,C,1,2,3,x", "nsg-v2", /bytes received "x"/],
    ["1700000000,10.0.0.6,10.0.0.7,1,2,6,O,B,NX,0,0,0,0", "vnet-v4", /timestamp "1700000000" is not 13-digit epoch milliseconds/],
    ["1700000000000,10.0.0.6,10.0.0.7,1,2,T,O,B,NX,0,0,0,0", "vnet-v4", /protocol "T" is not an IANA protocol number/],
    ["1700000000000,10.0.0.6,10.0.0.7,1,2,256,O,B,NX,0,0,0,0", "vnet-v4", /protocol "256"/],
    ["1700000000000,10.0.0.6,10.0.0.7,1,2,6,O,A,NX,0,0,0,0", "vnet-v4", /flow state "A" is not one of B, C, E, D/],
    ["1700000000000,10.0.0.6,10.0.0.7,1,2,6,O,B,N X,0,0,0,0", "vnet-v4", /encryption "N X"/],
    ["1700000000000,10.0.0.6,10.0.0.7,1,2,6,O,B,NX,0,0,-1,0", "vnet-v4", /packets received "-1"/],
  ];
  for (const [text, layout, reason] of cases) {
    assert.throws(() => parseTuple(text, layout), (error: unknown) => error instanceof TupleError && reason.test(error.message), text);
  }
});

test("NSG v1 fixture: empty rule flows list is fine, inner mac is used, record-level macAddress may be absent", () => {
  const { documents, rejects } = parseFlowLogText(fixture("nsg-v1.json"));
  assert.deepEqual(rejects, []);
  assert.equal(documents.length, 3);
  for (const { doc } of documents) {
    assert.equal(doc.rule?.name, "UserRule_AllowWeb");
    assert.equal(doc.azure.flowlog.mac, "000D3AF8801A");
    assert.equal(doc.azure.flowlog.version, 1);
  }
  assert.deepEqual(documents.map(({ doc }) => doc.event.action), ["allowed", "allowed", "denied"]);
});

test("NSG v2 fixture: records with and without record-level macAddress, empty rule list, all tuples in file order", () => {
  const { documents, rejects } = parseFlowLogText(fixture("nsg-v2.json"));
  assert.deepEqual(rejects, []);
  assert.deepEqual(documents.map(({ doc }) => [doc.azure.flowlog.state, doc.rule?.name]), [
    ["begin", "UserRule_AllowHttps"],
    ["continuing", "UserRule_AllowHttps"],
    ["end", "UserRule_AllowHttps"],
    ["begin", "DefaultRule_DenyAllInBound"],
    ["end", "DefaultRule_AllowInternetOutBound"],
    ["end", "DefaultRule_AllowInternetOutBound"],
  ]);
  assert.ok(documents.every(({ doc }) => doc.azure.flowlog.mac === "002248A1B2C3"));
});

test("NSG record without inner mac falls back to record-level macAddress, and omits mac when neither exists", () => {
  const record = (mac?: string) => ({
    category: "NetworkSecurityGroupFlowEvent",
    ...(mac ? { macAddress: mac } : {}),
    properties: { Version: 1, flows: [{ rule: "R", flows: [{ flowTuples: ["1700000000,192.0.2.1,10.0.0.4,1,2,T,I,A"] }] }] },
  });
  const withRecordMac = parseRecords([record("00224871C205")]);
  assert.equal(withRecordMac.documents[0].doc.azure.flowlog.mac, "00224871C205");
  const without = parseRecords([record()]);
  assert.equal(without.rejects.length, 0);
  assert.equal("mac" in without.documents[0].doc.azure.flowlog, false);
});

test("VNet fixture: GUID-suffixed and unspecified rules, unspecified acl, encryption values, IPv6, empty group", () => {
  const { documents, rejects } = parseFlowLogText(fixture("vnet-v4.json"));
  assert.deepEqual(rejects, []);
  assert.deepEqual(documents.map(({ doc }) => [doc.rule?.name, doc.azure.flowlog.acl_id, doc.azure.flowlog.encryption, doc.azure.flowlog.state]), [
    ["DefaultRule_AllowInternetOutBound", "9d4c1a2b-3e5f-4a6b-8c7d-0e1f2a3b4c5d", "NX", "begin"],
    ["DefaultRule_AllowInternetOutBound", "9d4c1a2b-3e5f-4a6b-8c7d-0e1f2a3b4c5d", "X", "continuing"],
    ["DefaultRule_AllowInternetOutBound", "9d4c1a2b-3e5f-4a6b-8c7d-0e1f2a3b4c5d", "NX_FALLBACK", "end"],
    ["BlockHighRiskTCPPortsFromInternet_456b4993-6e57-4e46-aa4d-81767afff09c", "9d4c1a2b-3e5f-4a6b-8c7d-0e1f2a3b4c5d", "NX", "deny"],
    ["Internet_4b9ac3d8-1111-4222-8333-944455556666", "9d4c1a2b-3e5f-4a6b-8c7d-0e1f2a3b4c5d", "NX", "end"],
    ["Internet_4b9ac3d8-1111-4222-8333-944455556666", "9d4c1a2b-3e5f-4a6b-8c7d-0e1f2a3b4c5d", "NX", "continuing"],
    ["unspecified", "unspecified", "NX_NOT_ACCEPTED", "deny"],
  ]);
  assert.equal(documents[4].doc.source.ip, "2001:db8:10::6");
});

test("bad tuples become rejects with record and tuple index; the good tuples around them are kept", () => {
  const { documents, rejects } = parseFlowLogText(fixture("malformed-tuples.json"));
  assert.equal(documents.length, 3);
  assert.deepEqual(documents.map(({ doc }) => doc.source.port), [35370, 35371, 23956]);
  assert.deepEqual(
    rejects.map((r) => [r.record, r.tuple]),
    [[0, 1], [0, 2], [0, 3], [0, 4], [0, 5], [0, 6], [0, 7], [0, 8], [0, 9], [0, 10], [1, 0], [1, 1], [1, 2], [1, 3], [1, 4], [1, undefined]],
  );
  assert.match(rejects[1].reason, /^properties\.flows\[0\]\.flows\[0\]\.flowTuples\[2\]: source IP "203\.0\.113\.300"/);
  assert.equal(rejects[1].raw, "1708978215,203.0.113.300,10.0.0.5,35370,443,T,I,A,B,,,,");
  assert.match(rejects[9].reason, /flowTuples\[10\] is a number, expected a tuple string/);
  assert.equal(rejects[9].raw, "42");
  assert.match(rejects[15].reason, /flowGroups\[1\]\.flowTuples is a string, expected an array/);
});

test("bad records become rejects (unknown category, unknown version, missing arrays, not an object); good ones parse", () => {
  const { documents, rejects } = parseFlowLogText(fixture("mixed-records.json"));
  assert.equal(documents.length, 2);
  assert.deepEqual(documents.map(({ doc }) => doc.azure.flowlog.version), [2, 4]);
  assert.deepEqual(rejects.map((r) => [r.record, r.tuple]), [[1, undefined], [2, undefined], [3, undefined], [4, undefined], [5, undefined], [6, undefined]]);
  assert.match(rejects[0].reason, /properties\.Version 3 is not supported \(expected the number 1 or 2\)/);
  assert.match(rejects[1].reason, /category "SomethingElse" is not a flow-log category/);
  assert.match(rejects[2].reason, /record is a number, expected an object/);
  assert.match(rejects[3].reason, /properties\.flows is missing, expected an array/);
  assert.match(rejects[4].reason, /flowLogVersion 5 is not supported \(expected the number 4\)/);
  assert.match(rejects[5].reason, /flowRecords is missing, expected an object/);
  assert.ok(rejects.every((r) => typeof r.raw === "string" && r.raw.length > 0));
});

test("tuple indexes in rejects count across all rules and groups of the record", () => {
  const { documents, rejects } = parseRecords([
    {
      category: "FlowLogFlowEvent",
      flowLogVersion: 4,
      flowRecords: {
        flows: [
          { aclID: "a", flowGroups: [{ rule: "r1", flowTuples: ["1700000000000,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,,,,"] }] },
          { aclID: "b", flowGroups: [{ rule: "r2", flowTuples: ["1700000000000,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,,,,", "bad"] }] },
        ],
      },
    },
  ]);
  assert.equal(documents.length, 2);
  assert.deepEqual(rejects.map((r) => [r.record, r.tuple]), [[0, 2]]);
});

test("parseRecords offsets record indexes by firstRecordIndex, truncates long raw excerpts, and never throws", () => {
  const longRule = "x".repeat(5000);
  const { documents, rejects } = parseRecords([null, "text", [], { category: longRule }], 40);
  assert.equal(documents.length, 0);
  assert.deepEqual(rejects.map((r) => r.record), [40, 41, 42, 43]);
  assert.ok(rejects.every((r) => r.tuple === undefined));
  assert.ok((rejects[3].raw ?? "").length <= 301);
  assert.deepEqual(parseRecords([]), { documents: [], rejects: [] });
});

test("parseFlowLogText throws FlowLogFormatError for input that is not a flow-log document at all", () => {
  const cases: Array<[string, RegExp]> = [
    [fixture("not-json.txt"), /^input is not JSON/],
    [fixture("no-records.json"), /^input has no "records" array/],
    ["[1,2,3]", /^input has no "records" array \(top level is an array\)/],
    [fixture("unknown-records.json"), /^none of the 2 records is a known flow log/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseFlowLogText(text), (error: unknown) => {
      assert.ok(error instanceof FlowLogFormatError);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  }
});

test("parseFlowLogText accepts an empty records array and a leading byte-order mark", () => {
  assert.deepEqual(parseFlowLogText('{"records":[]}'), { documents: [], rejects: [] });
  assert.equal(parseFlowLogText(`\ufeff${fixture("nsg-v1.json")}`).documents.length, 3);
});

test("the parser is pure: parsing the same records twice gives equal results and leaves the input unchanged", () => {
  const input = records("vnet-v4.json");
  const before = JSON.stringify(input);
  assert.deepEqual(parseRecords(input), parseRecords(input));
  assert.equal(JSON.stringify(input), before);
});
