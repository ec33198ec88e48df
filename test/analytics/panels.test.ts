// The rule-hits and connections panels' own searches (Lens -> Elasticsearch, infra/elastic/kibana/lensQuery.ts) on
// the real Elasticsearch over flows whose answers are known by construction: exact numbers.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { panelRows, panelSearches } from "../../scripts/demo/panels";
import { indexFlows, type PlantedFlow } from "./plantedFlows";

const T0 = Date.parse("2026-11-20T11:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const flows: PlantedFlow[] = [
  // NSG-WEB: AllowWeb 3 allowed (bytes 100+200, 50+0, none), DenyRdp 2 denied; vnet-app: AllowHttps 1 allowed, DenySql 1 denied.
  { at: at(10), src: "192.0.2.1", dst: "10.1.0.4", port: 443, action: "allowed", rule: "UserRule_AllowWeb", resource: "NSG-WEB", bytes: [100, 200] },
  { at: at(20), src: "192.0.2.2", dst: "10.1.0.4", port: 443, action: "allowed", rule: "UserRule_AllowWeb", resource: "NSG-WEB", bytes: [50, 0] },
  { at: at(30), src: "192.0.2.3", dst: "10.1.0.4", port: 80, action: "allowed", rule: "UserRule_AllowWeb", resource: "NSG-WEB" },
  { at: at(40), src: "192.0.2.4", dst: "10.1.0.4", port: 3389, action: "denied", rule: "UserRule_DenyRdp", resource: "NSG-WEB" },
  { at: at(50), src: "192.0.2.4", dst: "10.1.0.4", port: 3389, action: "denied", rule: "UserRule_DenyRdp", resource: "NSG-WEB" },
  // One VNet conversation in three records: begin, continuing, end, with counters each way.
  { at: at(60), src: "10.2.0.4", dst: "20.50.2.1", port: 443, srcPort: 50123, action: "allowed", rule: "UserRule_AllowHttps", resource: "vnet-app", state: "begin", bytes: [0, 0], communityId: "1:conv-a" },
  { at: at(120), src: "10.2.0.4", dst: "20.50.2.1", port: 443, srcPort: 50123, action: "allowed", rule: "UserRule_AllowHttps", resource: "vnet-app", state: "continuing", bytes: [1000, 5000], communityId: "1:conv-a" },
  { at: at(180), src: "10.2.0.4", dst: "20.50.2.1", port: 443, srcPort: 50123, action: "allowed", rule: "UserRule_AllowHttps", resource: "vnet-app", state: "end", bytes: [300, 700], communityId: "1:conv-a" },
  { at: at(200), src: "10.2.0.5", dst: "10.2.1.4", port: 1433, srcPort: 50200, action: "denied", rule: "UserRule_DenySql", resource: "vnet-app", state: "deny", communityId: "1:conv-b" },
];

let es: Client;
let dataStream: string;
before(async () => {
  es = esClient(elasticsearchUrl());
  dataStream = await indexFlows(es, uniqueNamespace("panels"), flows);
});
after(async () => { await es?.close(); });

const range = { from: at(0), to: at(3599) };

test("rule hits: every rule per resource with allowed and denied flows, bytes and last hit", async () => {
  const { rows } = await panelRows(es, panelSearches(dataStream, range, "5m")["flowlogs-rule-hits"]);
  assert.deepEqual(rows, [
    { resource: "NSG-WEB", rule: "UserRule_AllowWeb", flows: 3, allowed: 3, denied: 0, bytes: 350, last_hit: T0 + 30_000 },
    { resource: "NSG-WEB", rule: "UserRule_DenyRdp", flows: 2, allowed: 0, denied: 2, bytes: null, last_hit: T0 + 50_000 },
    { resource: "vnet-app", rule: "UserRule_AllowHttps", flows: 3, allowed: 3, denied: 0, bytes: 7000, last_hit: T0 + 180_000 },
    { resource: "vnet-app", rule: "UserRule_DenySql", flows: 1, allowed: 0, denied: 1, bytes: null, last_hit: T0 + 200_000 },
  ].map((row) => ({ ...row, bytes: row.bytes ?? 0 })));
});

test("connections: per Community ID, records, first and last seen, duration (the Lens formula), bytes each way and records per state in lifecycle order", async () => {
  const { rows } = await panelRows(es, panelSearches(dataStream, range, "5m")["flowlogs-connections"]);
  assert.deepEqual(rows, [
    {
      community_id: "1:conv-a", flows: 3, first_seen: T0 + 60_000, last_seen: T0 + 180_000, duration: 120, bytes_sent: 1300, bytes_received: 5700,
      state_begin: 1, state_continuing: 1, state_end: 1, state_deny: 0,
    },
    {
      community_id: "1:conv-b", flows: 1, first_seen: T0 + 200_000, last_seen: T0 + 200_000, duration: 0, bytes_sent: 0, bytes_received: 0,
      state_begin: 0, state_continuing: 0, state_end: 0, state_deny: 1,
    },
  ]);
});
