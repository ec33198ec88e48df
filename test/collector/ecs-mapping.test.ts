import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlowLogText, parseRecords } from "../../collector/src/format";
import { ECS_VERSION, parseResourceId, transportName } from "../../collector/src/ecs";
import type { FlowDocument } from "../../collector/src/model";

const fixture = (name: string): string => readFileSync(join(__dirname, "..", "fixtures", name), "utf8");
const NSG_ID = "/SUBSCRIPTIONS/6A5E4C3B-1F2D-4E5A-9B8C-7D6E5F4A3B2C/RESOURCEGROUPS/RG-WEB/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG";
const VNET_ID = "/subscriptions/6a5e4c3b-1f2d-4e5a-9b8c-7d6e5f4a3b2c/resourceGroups/rg-Net/providers/Microsoft.Network/virtualNetworks/vnet-Hub";
const FLOWLOG_ID = "/SUBSCRIPTIONS/6A5E4C3B-1F2D-4E5A-9B8C-7D6E5F4A3B2C/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/VNET-FLOWLOG";

// The record's time follows its first tuple's: tuples more than a day from their record's time are rejected.
function nsgRecord(version: 1 | 2, tuples: string[]): unknown {
  return {
    time: new Date(Number(tuples[0].slice(0, 10)) * 1000).toISOString(),
    category: "NetworkSecurityGroupFlowEvent",
    resourceId: NSG_ID,
    properties: { Version: version, flows: [{ rule: "UserRule_AllowWeb", flows: [{ mac: "000D3AF8801A", flowTuples: tuples }] }] },
  };
}

function vnetRecord(tuples: string[]): unknown {
  return {
    time: "2023-11-14T22:15:01.5625085Z",
    flowLogVersion: 4,
    flowLogGUID: "66aa66aa-6a6a-4b4b-8c8c-123456789abc",
    macAddress: "00224871C205",
    category: "FlowLogFlowEvent",
    flowLogResourceID: FLOWLOG_ID,
    targetResourceID: VNET_ID,
    flowRecords: { flows: [{ aclID: "unspecified", flowGroups: [{ rule: "unspecified", flowTuples: tuples }] }] },
  };
}

function onlyDocument(records: unknown[]): FlowDocument {
  const { documents, rejects } = parseRecords(records);
  assert.deepEqual(rejects, []);
  assert.equal(documents.length, 1);
  return documents[0].doc;
}

// The 5-tuples below are published Community ID v1 vectors (corelight/community-id-spec baseline, seed 0), so the
// expected community_id values are independent of this code.
test("NSG v1 allowed TCP tuple maps to the exact ECS document (no state, no counters)", () => {
  const doc = onlyDocument([nsgRecord(1, ["1700000000,128.232.110.120,66.35.250.204,34855,80,T,I,A"])]);
  assert.deepEqual(doc, {
    "@timestamp": "2023-11-14T22:13:20.000Z",
    ecs: { version: ECS_VERSION },
    event: { kind: "event", category: ["network"], dataset: "azure.flowlogs", type: ["connection", "allowed"], action: "allowed", outcome: "success" },
    source: { ip: "128.232.110.120", port: 34855 },
    destination: { ip: "66.35.250.204", port: 80 },
    network: { transport: "tcp", iana_number: "6", direction: "inbound", community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
    rule: { name: "UserRule_AllowWeb" },
    related: { ip: ["128.232.110.120", "66.35.250.204"] },
    cloud: { provider: "azure", account: { id: "6a5e4c3b-1f2d-4e5a-9b8c-7d6e5f4a3b2c" } },
    azure: {
      resource: { id: NSG_ID, name: "WEB-NSG", group: "RG-WEB" },
      flowlog: { version: 1, source_address_class: "public", destination_address_class: "public", locality: "external", mac: "000D3AF8801A" },
    },
  } satisfies FlowDocument);
});

test("NSG v2 denied UDP begin tuple: denied/failure, start, state begin, counters absent", () => {
  const doc = onlyDocument([nsgRecord(2, ["1700000000,8.8.8.8,192.168.1.52,53,54585,U,O,D,B,,,,"])]);
  assert.deepEqual(doc.event.type, ["connection", "denied", "start"]);
  assert.equal(doc.event.action, "denied");
  assert.equal(doc.event.outcome, "failure");
  assert.deepEqual(doc.network, { transport: "udp", iana_number: "17", direction: "outbound", community_id: "1:d/FP5EW3wiY1vCndhwleRRKHowQ=" });
  assert.deepEqual(doc.source, { ip: "8.8.8.8", port: 53 });
  assert.deepEqual(doc.destination, { ip: "192.168.1.52", port: 54585 });
  assert.deepEqual(doc.azure.flowlog, {
    version: 2, source_address_class: "public", destination_address_class: "private", locality: "from_internet", state: "begin", mac: "000D3AF8801A",
  });
});

test("NSG v2 continuing and end tuples: counters per direction (sent = source), sums in network.*, end adds \"end\"", () => {
  const { documents } = parseRecords([nsgRecord(2, [
    "1708978215,203.0.113.105,10.0.0.5,35370,443,T,I,A,C,1021,588096,8005,4610880",
    "1708978215,203.0.113.105,10.0.0.5,35370,443,T,I,A,E,52,29952,47,27072",
  ])]);
  const [continuing, end] = documents.map(({ doc }) => doc);
  assert.deepEqual(continuing.event.type, ["connection", "allowed"]);
  assert.deepEqual(continuing.source, { ip: "203.0.113.105", port: 35370, packets: 1021, bytes: 588096 });
  assert.deepEqual(continuing.destination, { ip: "10.0.0.5", port: 443, packets: 8005, bytes: 4610880 });
  assert.equal(continuing.network.packets, 9026);
  assert.equal(continuing.network.bytes, 5198976);
  assert.equal(continuing.azure.flowlog.state, "continuing");
  assert.deepEqual(end.event.type, ["connection", "allowed", "end"]);
  assert.equal(end.azure.flowlog.state, "end");
  // Microsoft's worked example: the C and E rows together give 9125 packets and 5256000 bytes.
  assert.equal((continuing.network.packets ?? 0) + (end.network.packets ?? 0), 9125);
  assert.equal((continuing.network.bytes ?? 0) + (end.network.bytes ?? 0), 5256000);
});

test("VNet denied (state D) IPv6 TCP tuple maps to the exact ECS document with VNet metadata", () => {
  const doc = onlyDocument([vnetRecord(["1700000104321,2607:f8b0:400c:c03::1a,2001:470:e5bf:dead:4957:2174:e82c:4887,25,63943,6,I,D,NX_NOT_ACCEPTED,,,,"])]);
  assert.deepEqual(doc, {
    "@timestamp": "2023-11-14T22:15:04.321Z",
    ecs: { version: ECS_VERSION },
    event: { kind: "event", category: ["network"], dataset: "azure.flowlogs", type: ["connection", "denied"], action: "denied", outcome: "failure" },
    source: { ip: "2607:f8b0:400c:c03::1a", port: 25 },
    destination: { ip: "2001:470:e5bf:dead:4957:2174:e82c:4887", port: 63943 },
    network: { transport: "tcp", iana_number: "6", direction: "inbound", community_id: "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
    rule: { name: "unspecified" },
    related: { ip: ["2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887"] },
    cloud: { provider: "azure", account: { id: "6a5e4c3b-1f2d-4e5a-9b8c-7d6e5f4a3b2c" } },
    azure: {
      resource: { id: VNET_ID, name: "vnet-Hub", group: "rg-Net" },
      flowlog: {
        version: 4,
        source_address_class: "public",
        destination_address_class: "public",
        locality: "external",
        state: "deny",
        encryption: "NX_NOT_ACCEPTED",
        mac: "00224871C205",
        acl_id: "unspecified",
        id: FLOWLOG_ID,
        guid: "66aa66aa-6a6a-4b4b-8c8c-123456789abc",
      },
    },
  } satisfies FlowDocument);
});

test("VNet B/C/E tuples are allowed; zero counters are kept as 0; timestamps keep their milliseconds", () => {
  const { documents } = parseFlowLogText(fixture("vnet-v4.json"));
  const [begin, continuing, end] = documents.map(({ doc }) => doc);
  assert.equal(begin["@timestamp"], "2023-11-14T22:15:00.123Z");
  assert.deepEqual(begin.event.type, ["connection", "allowed", "start"]);
  assert.equal(begin.event.outcome, "success");
  assert.deepEqual([begin.source.packets, begin.source.bytes, begin.destination.packets, begin.destination.bytes], [0, 0, 0, 0]);
  assert.deepEqual([begin.network.packets, begin.network.bytes], [0, 0]);
  assert.deepEqual(continuing.event.type, ["connection", "allowed"]);
  assert.equal(continuing.azure.flowlog.encryption, "X");
  assert.deepEqual(end.event.type, ["connection", "allowed", "end"]);
  assert.equal(end["@timestamp"], "2023-11-14T22:15:00.789Z");
});

test("an IANA number without a known name keeps network.iana_number and omits network.transport", () => {
  const doc = onlyDocument([vnetRecord(["1700000103000,10.0.0.6,10.0.0.9,0,0,253,O,C,NX,5,500,5,500"])]);
  assert.equal(doc.network.iana_number, "253");
  assert.equal("transport" in doc.network, false);
  assert.match(doc.network.community_id ?? "", /^1:[A-Za-z0-9+/]{27}=$/);
  const gre = onlyDocument([vnetRecord(["1700000103000,10.0.0.6,10.0.0.9,0,0,47,O,C,NX,5,500,5,500"])]);
  assert.equal(gre.network.transport, "gre");
});

test("related.ip is unique when source and destination are the same address", () => {
  const doc = onlyDocument([nsgRecord(1, ["1700000000,10.0.0.4,10.0.0.4,1000,80,T,O,A"])]);
  assert.deepEqual(doc.related.ip, ["10.0.0.4"]);
});

test("missing record metadata is omitted, not invented", () => {
  const doc = onlyDocument([{
    category: "FlowLogFlowEvent",
    flowLogVersion: 4,
    flowRecords: { flows: [{ flowGroups: [{ flowTuples: ["1700000000000,10.0.0.1,10.0.0.2,1,2,6,O,E,NX,1,2,3,4"] }] }] },
  }]);
  assert.equal("rule" in doc, false);
  assert.deepEqual(doc.cloud, { provider: "azure" });
  assert.equal("resource" in doc.azure, false);
  assert.deepEqual(doc.azure.flowlog, {
    version: 4, source_address_class: "private", destination_address_class: "private", locality: "internal", state: "end", encryption: "NX",
  });
});

test("cloud.account.id falls back to the flowLogResourceID subscription when targetResourceID is absent", () => {
  const record = vnetRecord(["1700000000000,10.0.0.1,10.0.0.2,1,2,6,O,E,NX,1,2,3,4"]) as Record<string, unknown>;
  delete record.targetResourceID;
  const doc = onlyDocument([record]);
  assert.deepEqual(doc.cloud, { provider: "azure", account: { id: "6a5e4c3b-1f2d-4e5a-9b8c-7d6e5f4a3b2c" } });
  assert.equal("resource" in doc.azure, false);
});

test("parseResourceId handles upper-case NSG ids, mixed-case ids, child resources and junk", () => {
  assert.deepEqual(parseResourceId(NSG_ID), { subscriptionId: "6A5E4C3B-1F2D-4E5A-9B8C-7D6E5F4A3B2C", group: "RG-WEB", name: "WEB-NSG" });
  assert.deepEqual(parseResourceId(VNET_ID), { subscriptionId: "6a5e4c3b-1f2d-4e5a-9b8c-7d6e5f4a3b2c", group: "rg-Net", name: "vnet-Hub" });
  assert.equal(parseResourceId(`${VNET_ID}/subnets/app`).name, "app");
  assert.equal(parseResourceId(FLOWLOG_ID).name, "VNET-FLOWLOG");
  assert.deepEqual(parseResourceId("not a resource id"), {});
});

test("transport names follow IANA keywords for the common protocols", () => {
  assert.deepEqual([6, 17, 1, 58, 132, 47, 50].map(transportName), ["tcp", "udp", "icmp", "ipv6-icmp", "sctp", "gre", "esp"]);
  assert.equal(transportName(200), undefined);
});

test("every fixture document carries the constant ECS fields and well-formed values", () => {
  for (const name of ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json"]) {
    for (const { doc } of parseFlowLogText(fixture(name)).documents) {
      assert.equal(doc.ecs.version, ECS_VERSION);
      assert.equal(doc.event.kind, "event");
      assert.deepEqual(doc.event.category, ["network"]);
      assert.equal(doc.event.dataset, "azure.flowlogs");
      assert.equal(doc.cloud.provider, "azure");
      assert.match(doc["@timestamp"], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(doc.event.outcome, doc.event.action === "allowed" ? "success" : "failure");
      assert.equal(doc.event.type[1], doc.event.action);
      assert.ok(Number.isInteger(doc.source.port) && Number.isInteger(doc.destination.port));
      assert.match(doc.network.iana_number ?? "", /^\d+$/);
      assert.equal(doc.cloud.account?.id, "6a5e4c3b-1f2d-4e5a-9b8c-7d6e5f4a3b2c");
    }
  }
});
