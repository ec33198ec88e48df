// A small flow dataset with planted attacks and normal traffic whose detection and panel answers are known by
// construction. Documents have the collector's ECS shape (collector/src/model.ts) and go through the project's
// index template, so every query runs on the real mappings.
import type { Client } from "@elastic/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { flowDataStream } from "../../collector/src/sink/dataStreams";

/** Window A holds the planted incidents (and normal traffic); window B the same normal traffic only. */
export const WINDOW_A = { from: "2026-11-20T10:00:00.000Z", to: "2026-11-20T10:05:00.000Z" };
export const WINDOW_B = { from: "2026-11-20T10:10:00.000Z", to: "2026-11-20T10:15:00.000Z" };

export interface PlantedFlow {
  at: string;
  src: string;
  dst: string;
  port: number;
  action: "allowed" | "denied";
  rule: string;
  resource: string;
  srcPort?: number;
  bytes?: [number, number];
  state?: "begin" | "continuing" | "end" | "deny";
  communityId?: string;
}

/** Thresholds the proof uses (the rules' defaults are in infra/elastic/kibana/config.ts). */
export const PROOF = { bruteForceFlows: 30, bruteForcePorts: [22, 3389, 1433], portScanPorts: 20, hostSweepHosts: 20, deniedThreshold: 100, windowMinutes: 5, lateArrivalMinutes: 5, interval: "1m" };

/**
 * The run that counts a window's flows: lateArrivalMinutes after it ends (each declared rule's window ends that long
 * before its run, infra/elastic/kibana/schedule.ts).
 */
export const runCounting = (window: { to: string }) => new Date(Date.parse(window.to) + PROOF.lateArrivalMinutes * 60_000);

const at = (window: { from: string }, i: number) => new Date(Date.parse(window.from) + 1000 + (i % 290) * 1000).toISOString();

function repeat(n: number, make: (i: number) => PlantedFlow): PlantedFlow[] {
  return Array.from({ length: n }, (_, i) => make(i));
}

/** Normal traffic, the same in both windows: busy but below every threshold, or not from a public source. */
function normal(window: { from: string }): PlantedFlow[] {
  return [
    // Private, CGNAT and IPv6 ULA sources hammering watched ports: not brute force (not public).
    ...repeat(60, (i) => ({ at: at(window, i), src: "10.1.0.5", dst: "10.1.0.4", port: 22, action: "allowed", rule: "UserRule_AllowSsh", resource: "NSG-WEB" })),
    ...repeat(40, (i) => ({ at: at(window, i), src: "100.64.0.9", dst: "10.1.0.4", port: 3389, action: "denied", rule: "UserRule_DenyRdp", resource: "NSG-WEB" })),
    ...repeat(40, (i) => ({ at: at(window, i), src: "fd00::5", dst: "fd00::4", port: 22, action: "allowed", rule: "UserRule_AllowSsh", resource: "NSG-WEB" })),
    // Azure's load balancer health probes (168.63.129.16, a public-looking platform address) to a balanced SSH port.
    ...repeat(60, (i) => ({ at: at(window, i), src: "168.63.129.16", dst: "10.1.0.7", port: 22, action: "allowed", rule: "DefaultRule_AllowAzureLoadBalancerInBound", resource: "NSG-WEB" })),
    // A public source at exactly the threshold (30 is not more than 30).
    ...repeat(30, (i) => ({ at: at(window, i), src: "203.0.113.9", dst: "10.1.0.4", port: 22, action: "denied", rule: "DefaultRule_DenyAllInBound", resource: "NSG-WEB" })),
    // A busy public client of an unwatched port, and a host using 15 ports of 15 hosts (below 20).
    ...repeat(50, (i) => ({ at: at(window, i), src: "198.51.100.23", dst: "10.1.0.6", port: 443, action: "allowed", rule: "UserRule_AllowWeb", resource: "NSG-WEB" })),
    ...repeat(15, (i) => ({ at: at(window, i), src: "10.2.0.4", dst: `10.2.1.${i + 1}`, port: 8000 + i, action: "allowed", rule: "DefaultRule_AllowVnetOutBound", resource: "vnet-app" })),
  ];
}

/** The planted incidents (window A only). */
export function incidents(): PlantedFlow[] {
  return [
    // Port scan: 40 distinct ports of one host.
    ...repeat(40, (i) => ({ at: at(WINDOW_A, i), src: "203.0.113.50", dst: "10.1.0.4", port: 1 + i, action: "denied", rule: "DefaultRule_DenyAllInBound", resource: "NSG-WEB" })),
    // Host sweep: one port on 25 distinct hosts.
    ...repeat(25, (i) => ({ at: at(WINDOW_A, i), src: "198.51.100.77", dst: `10.1.0.${10 + i}`, port: 445, action: "denied", rule: "DefaultRule_DenyAllInBound", resource: "NSG-WEB" })),
    // Brute force on RDP, allowed and denied; and on SQL just over the threshold.
    ...repeat(40, (i) => ({ at: at(WINDOW_A, i), src: "192.0.2.66", dst: "10.1.0.4", port: 3389, action: i % 4 === 0 ? "allowed" : "denied", rule: i % 4 === 0 ? "UserRule_AllowRdpVpn" : "UserRule_DenyRdp", resource: "NSG-WEB" })),
    ...repeat(31, (i) => ({ at: at(WINDOW_A, i), src: "192.0.2.67", dst: "10.2.1.4", port: 1433, action: "denied", rule: "UserRule_DenySql", resource: "vnet-data" })),
  ];
}

export function plantedFlows(): PlantedFlow[] {
  return [...normal(WINDOW_A), ...incidents(), ...normal(WINDOW_B)];
}

export function flowDocument(f: PlantedFlow): Record<string, unknown> {
  return {
    "@timestamp": f.at,
    ecs: { version: "8.17.0" },
    event: { kind: "event", category: ["network"], dataset: "azure.flowlogs", type: ["connection", f.action === "allowed" ? "allowed" : "denied"], action: f.action, outcome: f.action === "allowed" ? "success" : "failure" },
    source: { ip: f.src, port: f.srcPort ?? 50000, ...(f.bytes ? { bytes: f.bytes[0], packets: 1 } : {}) },
    destination: { ip: f.dst, port: f.port, ...(f.bytes ? { bytes: f.bytes[1], packets: 1 } : {}) },
    network: {
      transport: "tcp", iana_number: "6", direction: "inbound",
      ...(f.communityId ? { community_id: f.communityId } : {}),
      ...(f.bytes ? { bytes: f.bytes[0] + f.bytes[1], packets: 2 } : {}),
    },
    rule: { name: f.rule },
    related: { ip: [f.src, f.dst] },
    cloud: { provider: "azure" },
    azure: { resource: { id: `/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/${f.resource}`, name: f.resource }, flowlog: { version: f.state ? 4 : 2, ...(f.state ? { state: f.state } : {}) } },
  };
}

/** Applies the index assets for a fresh namespace and indexes the flows; returns the data stream. */
export async function indexFlows(es: Client, namespace: string, flows: PlantedFlow[]): Promise<string> {
  await applyIndexAssets(es, { namespace });
  const dataStream = flowDataStream(namespace);
  const operations = flows.flatMap((f) => [{ create: { _index: dataStream } }, flowDocument(f)]);
  const answer = await es.bulk({ operations, refresh: true });
  if (answer.errors) {
    const first = answer.items.find((item) => item.create?.error)?.create?.error;
    throw new Error(`bulk refused documents: ${JSON.stringify(first)}`);
  }
  return dataStream;
}
