// The external-traffic panels' own searches (Lens -> Elasticsearch) on the real Elasticsearch over flows whose
// answers are known by construction: top countries and ASNs of inbound denied flows (from the internet) and of
// outbound allowed flows (to the internet). Exact rows; everything else in the dataset must stay out of them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { panelRows, panelSearches } from "../../scripts/demo/panels";
import { AMAZON_US, CHINANET_CN, type ExternalFlow, GOOGLE_US, HETZNER_DE, indexExternalFlows, MICROSOFT_NL, OVH_FR } from "./externalFlows";

const T0 = Date.parse("2026-11-20T12:00:00.000Z");
let second = 0;
const times = (n: number, flow: Omit<ExternalFlow, "at">): ExternalFlow[] =>
  Array.from({ length: n }, () => ({ ...flow, at: new Date(T0 + 1000 * ++second).toISOString() }));
const inbound = (src: string, action: "allowed" | "denied", srcGeo?: ExternalFlow["srcGeo"]) =>
  ({ src, dst: "10.1.0.4", port: 22, action, rule: action === "denied" ? "DefaultRule_DenyAllInBound" : "UserRule_AllowSsh", resource: "NSG-WEB", locality: "from_internet" as const, srcGeo });
const outbound = (dst: string, action: "allowed" | "denied", dstGeo?: ExternalFlow["dstGeo"]) =>
  ({ src: "10.2.0.4", dst, port: 443, action, rule: action === "allowed" ? "DefaultRule_AllowInternetOutBound" : "UserRule_DenyOut", resource: "vnet-app", locality: "to_internet" as const, dstGeo });

const flows: ExternalFlow[] = [
  // Inbound denied from the internet: US 7 (Google 4, Amazon 3), DE 5, CN 2, FR 1.
  ...times(4, inbound("8.8.8.8", "denied", GOOGLE_US)),
  ...times(3, inbound("3.5.0.1", "denied", AMAZON_US)),
  ...times(5, inbound("88.99.0.1", "denied", HETZNER_DE)),
  ...times(2, inbound("1.80.0.1", "denied", CHINANET_CN)),
  ...times(1, inbound("51.68.0.1", "denied", OVH_FR)),
  // Outbound allowed to the internet: NL 6, US 5 (Google 3, Amazon 2), DE 1.
  ...times(6, outbound("20.50.2.1", "allowed", MICROSOFT_NL)),
  ...times(3, outbound("142.250.0.1", "allowed", GOOGLE_US)),
  ...times(2, outbound("52.0.0.1", "allowed", AMAZON_US)),
  ...times(1, outbound("88.99.0.2", "allowed", HETZNER_DE)),
  // Not in any of the four: allowed inbound, denied outbound, public addresses the database does not know,
  // internal flows, and public-to-public (external) flows.
  ...times(10, inbound("88.99.0.1", "allowed", HETZNER_DE)),
  ...times(4, outbound("1.80.0.2", "denied", CHINANET_CN)),
  ...times(6, inbound("203.0.113.9", "denied")),
  ...times(2, outbound("198.51.100.5", "allowed")),
  ...times(3, { src: "10.1.0.5", dst: "10.1.0.4", port: 3389, action: "denied", rule: "UserRule_DenyRdp", resource: "NSG-WEB", locality: "internal" }),
  ...times(2, { src: "51.68.0.2", dst: "20.50.2.9", port: 443, action: "denied", rule: "DefaultRule_DenyAllInBound", resource: "NSG-WEB", locality: "external", srcGeo: OVH_FR, dstGeo: MICROSOFT_NL }),
];

let es: Client;
let dataStream: string;
before(async () => {
  es = esClient(elasticsearchUrl());
  dataStream = await indexExternalFlows(es, uniqueNamespace("external"), flows);
});
after(async () => { await es?.close(); });

const rowsOf = async (id: string) => (await panelRows(es, panelSearches(dataStream, { from: new Date(T0).toISOString(), to: new Date(T0 + 3599_000).toISOString() }, "5m")[id])).rows;

test("inbound denied from the internet: top source countries", async () => {
  assert.deepEqual(await rowsOf("flowlogs-external-inbound-denied-countries"), [
    { country: "US", country_name: "United States", flows: 7 },
    { country: "DE", country_name: "Germany", flows: 5 },
    { country: "CN", country_name: "China", flows: 2 },
    { country: "FR", country_name: "France", flows: 1 },
  ]);
});

test("inbound denied from the internet: top source ASNs", async () => {
  assert.deepEqual(await rowsOf("flowlogs-external-inbound-denied-asns"), [
    { asn: 24940, organization: "Hetzner Online GmbH", flows: 5 },
    { asn: 15169, organization: "GOOGLE", flows: 4 },
    { asn: 16509, organization: "AMAZON-02", flows: 3 },
    { asn: 4134, organization: "Chinanet", flows: 2 },
    { asn: 16276, organization: "OVH SAS", flows: 1 },
  ]);
});

test("outbound allowed to the internet: top destination countries", async () => {
  assert.deepEqual(await rowsOf("flowlogs-external-outbound-allowed-countries"), [
    { country: "NL", country_name: "Netherlands", flows: 6 },
    { country: "US", country_name: "United States", flows: 5 },
    { country: "DE", country_name: "Germany", flows: 1 },
  ]);
});

test("outbound allowed to the internet: top destination ASNs", async () => {
  assert.deepEqual(await rowsOf("flowlogs-external-outbound-allowed-asns"), [
    { asn: 8075, organization: "MICROSOFT-CORP-MSN-AS-BLOCK", flows: 6 },
    { asn: 15169, organization: "GOOGLE", flows: 3 },
    { asn: 16509, organization: "AMAZON-02", flows: 2 },
    { asn: 24940, organization: "Hetzner Online GmbH", flows: 1 },
  ]);
});
