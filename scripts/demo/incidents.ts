// The attacks the demo plants in its simulated hour: one port scan and one brute-force run, from public sources
// outside the dataset's normal pools, on the NSG v2 NIC (nsg-web). They are written into the PT1H.json blobs like
// every other tuple, so they reach Elasticsearch through the real collector.
import type { PlantedTraffic } from "../../test/support/dataset";
import type { PlantedTuple } from "../../test/support/flowLogWriter";

const NIC = "000D3A0B0001"; // nsg-web, NSG flow logs v2
const TARGET = "10.1.0.4";

export const PORT_SCAN = { source: "203.0.113.200", ports: 40 };
export const BRUTE_FORCE = { source: "198.51.100.200", flows: 36, ports: [22, 3389, 1433] };

/**
 * The scan in a quarter of the written minutes and the brute force in three quarters: six or more minutes apart
 * from 12 minutes up, so no 5-minute window holds both (their denied flows do not add up to a denied spike).
 */
export function demoIncidents(minutes: number): Array<PlantedTraffic & { what: string }> {
  const scan: PlantedTuple[] = Array.from({ length: PORT_SCAN.ports }, (_, i) => ({
    offsetMs: 5_000 + i * 1_000, sourceIp: PORT_SCAN.source, destinationIp: TARGET, destinationPort: 1 + i,
    rule: "DefaultRule_DenyAllInBound", deny: true,
  }));
  // SSH is allowed by UserRule_AllowSsh, RDP denied by UserRule_DenyRdp, SQL by the default deny: allowed and denied.
  const rules: Record<number, { rule: string; deny: boolean }> = {
    22: { rule: "UserRule_AllowSsh", deny: false }, 3389: { rule: "UserRule_DenyRdp", deny: true }, 1433: { rule: "DefaultRule_DenyAllInBound", deny: true },
  };
  const bruteForce: PlantedTuple[] = Array.from({ length: BRUTE_FORCE.flows }, (_, i) => {
    const port = BRUTE_FORCE.ports[i % BRUTE_FORCE.ports.length];
    return { offsetMs: 2_000 + i * 1_500, sourceIp: BRUTE_FORCE.source, destinationIp: TARGET, destinationPort: port, ...rules[port] };
  });
  return [
    { what: `port scan from ${PORT_SCAN.source} (${PORT_SCAN.ports} ports of ${TARGET})`, minute: Math.floor(minutes / 4), mac: NIC, tuples: scan },
    { what: `brute force from ${BRUTE_FORCE.source} (${BRUTE_FORCE.flows} flows to ${TARGET} ports ${BRUTE_FORCE.ports.join(", ")})`, minute: Math.floor((minutes * 3) / 4), mac: NIC, tuples: bruteForce },
  ];
}
