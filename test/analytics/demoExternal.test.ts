// The demo's "External traffic" section (scripts/demo/external.ts) over flows with countries and ASNs, checked
// against Elasticsearch's own aggregations (test/support/externalSection.ts), and its one-line notice when no
// document has geo fields. The end-to-end demo test runs the same check on the collector's output.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { checkExternalSection } from "../support/externalSection";
import { panelRows, panelSearches } from "../../scripts/demo/panels";
import { externalTrafficLines, NO_GEO_LINE } from "../../scripts/demo/external";
import { AMAZON_US, CHINANET_CN, type ExternalFlow, GOOGLE_US, HETZNER_DE, indexExternalFlows, MICROSOFT_NL } from "./externalFlows";

const HOUR = new Date("2026-11-20T13:00:00.000Z");
const at = (minute: number, second = 0) => new Date(HOUR.getTime() + minute * 60_000 + second * 1000).toISOString();
const out = (minute: number, resource: string, dst: string, dstGeo: ExternalFlow["dstGeo"]): ExternalFlow =>
  ({ at: at(minute, 7), src: "10.2.0.4", dst, port: 443, action: "allowed", rule: "DefaultRule_AllowInternetOutBound", resource, locality: "to_internet", dstGeo });
const inbound = (minute: number, src: string, srcGeo: ExternalFlow["srcGeo"]): ExternalFlow =>
  ({ at: at(minute, 3), src, dst: "10.1.0.4", port: 22, action: "denied", rule: "DefaultRule_DenyAllInBound", resource: "NSG-WEB", locality: "from_internet", srcGeo });

const flows: ExternalFlow[] = [
  ...[0, 1, 2, 3].map((m) => out(m, "vnet-app", "20.50.2.1", MICROSOFT_NL)),
  out(4, "vnet-app", "142.250.0.1", GOOGLE_US), out(5, "vnet-data", "20.50.2.1", MICROSOFT_NL),
  out(11, "vnet-app", "88.99.0.3", HETZNER_DE), // a new country and AS for vnet-app in the third run
  ...[0, 2, 4, 6, 8].map((m) => inbound(m, "1.80.0.1", CHINANET_CN)), inbound(9, "3.5.0.1", AMAZON_US),
];

let es: Client;
let dataStream: string;
let plain: string;
before(async () => {
  es = esClient(elasticsearchUrl());
  dataStream = await indexExternalFlows(es, uniqueNamespace("demoext"), flows);
  plain = await indexExternalFlows(es, uniqueNamespace("demonogeo"), flows.map(({ srcGeo: _s, dstGeo: _d, ...f }) => f));
});
after(async () => { await es?.close(); });

async function section(stream: string): Promise<string> {
  const panels = panelSearches(stream, { from: HOUR.toISOString(), to: at(60) }, "5m");
  const rows = async (id: string) => (await panelRows(es, panels[id])).rows;
  return `${(await externalTrafficLines(es, stream, HOUR, new Date(HOUR.getTime() + 15 * 60_000), rows)).join("\n")}\n\n`;
}

test("demo: the external tables and new destinations it prints are Elasticsearch's own aggregations", async () => {
  const text = await section(dataStream);
  const checked = await checkExternalSection(text, es, dataStream);
  assert.deepEqual(checked, { rows: 2 + 2 + 3 + 3, newDestinations: 8 }, text);
  assert.match(text, /^ {2}country +vnet-app +DE +first at 13:11:07Z$/m, text);
  assert.match(text, /^ {4}CN +China +5$/m);
});

test("demo: without geo fields the section is one line saying why", async () => {
  const text = await section(plain);
  assert.equal(text, `External traffic (top countries and ASNs; the collector's geo/AS enrichment)\n${NO_GEO_LINE}\n\n`);
  assert.deepEqual(await checkExternalSection(text, es, plain), { rows: 0, newDestinations: 0 });
});
