// The demo's "External traffic" section: the four external-traffic panels' own searches (top countries and ASNs of
// inbound denied and outbound allowed flows) and the new-outbound-destination rules' searches, on the demo's data
// stream. The countries and ASNs come from the collector's geo/AS enrichment: without it no document has them, and
// the section says so instead of printing empty tables.
import type { Client } from "@elastic/elasticsearch";
import type { PanelRow } from "./panels";
import { newDestinationRuleBody, RESOURCE_FIELD, NEW_DESTINATION_FIELD, type NewDestinationKind } from "../../infra/elastic/kibana/newDestination";
import { runNewTermsRule } from "../../infra/elastic/kibana/newTermsQuery";
import { withoutPipelineAggs, type RuleSearch } from "../../infra/elastic/kibana/ruleQuery";
import { runTimes, securityRuleWindow } from "../../infra/elastic/kibana/ruleReplay";
import { KIBANA_DEFAULTS } from "../../infra/elastic/kibana/config";

export const EXTERNAL_PANELS = [
  { id: "flowlogs-external-inbound-denied-countries", title: "inbound denied from the internet, by source country" },
  { id: "flowlogs-external-inbound-denied-asns", title: "inbound denied from the internet, by source ASN" },
  { id: "flowlogs-external-outbound-allowed-countries", title: "outbound allowed to the internet, by destination country" },
  { id: "flowlogs-external-outbound-allowed-asns", title: "outbound allowed to the internet, by destination ASN" },
] as const;

export const NO_GEO_LINE = "  (no document has geo/AS fields: the collector ran with FLOWLOGS_GEOIP=off, or its databases know none of these addresses)";

export interface NewDestination {
  kind: NewDestinationKind;
  resource: string;
  /** Country ISO code or AS number. */
  value: string | number;
  firstSeen: string;
}

/** Documents with a country on either side (what the external views and rules can use). */
export async function documentsWithGeo(es: Client, dataStream: string): Promise<number> {
  const query = { bool: { should: [{ exists: { field: "source.geo.country_iso_code" } }, { exists: { field: "destination.geo.country_iso_code" } }, { exists: { field: "source.as.number" } }, { exists: { field: "destination.as.number" } }], minimum_should_match: 1 } };
  return (await es.count({ index: dataStream, query })).count;
}

/**
 * Every new (resource, country) and (resource, AS) pair the new-destination rules would report over [from, to):
 * a run every windowMinutes over the window the declared body gives it (ruleReplay.ts: from/to resolved against the
 * run), the history being whatever the data stream holds before each window. A pair found again by the
 * overlapping run is one alert (Kibana's alert id is its first document), kept once here.
 */
export async function newDestinationsOver(es: Client, dataStream: string, from: Date, to: Date, windowMinutes = KIBANA_DEFAULTS.windowMinutes, historyDays = KIBANA_DEFAULTS.newDestinationHistoryDays, lateArrivalMinutes = KIBANA_DEFAULTS.lateArrivalMinutes): Promise<NewDestination[]> {
  const search = (request: RuleSearch) => es.search({ index: dataStream, ...withoutPipelineAggs(request).body } as any);
  const found: NewDestination[] = [];
  for (const kind of ["country", "asn"] as NewDestinationKind[]) {
    const rule = newDestinationRuleBody(kind, { historyDays, windowMinutes, lateArrivalMinutes });
    const seen = new Set<string>();
    // Runs until the window has passed `to` (it ends lateArrivalMinutes before its run).
    for (const runAt of runTimes(rule.interval, from, new Date(to.getTime() + (lateArrivalMinutes + windowMinutes) * 60_000))) {
      const window = securityRuleWindow(rule, runAt);
      for (const alert of await runNewTermsRule(rule, window, search)) {
        const value = alert.terms[NEW_DESTINATION_FIELD[kind]]!;
        const resource = String(alert.terms[RESOURCE_FIELD]);
        if (seen.has(`${resource}|${value}`)) continue;
        seen.add(`${resource}|${value}`);
        found.push({ kind, resource, value, firstSeen: alert.firstSeen });
      }
    }
  }
  return found.sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.kind.localeCompare(b.kind) || String(a.value).localeCompare(String(b.value)));
}

/** The section's lines. `rows` runs a panel's search (the summary's own helper). */
export async function externalTrafficLines(es: Client, dataStream: string, from: Date, to: Date, rows: (id: string) => Promise<PanelRow[]>): Promise<string[]> {
  const lines = ["External traffic (top countries and ASNs; the collector's geo/AS enrichment)"];
  if (!(await documentsWithGeo(es, dataStream))) return [...lines, NO_GEO_LINE];
  for (const { id, title } of EXTERNAL_PANELS) {
    lines.push(`  ${title}`);
    const found = await rows(id);
    if (!found.length) lines.push("    (none)");
    for (const row of found) {
      const [key, name] = id.endsWith("countries") ? [row.country, row.country_name] : [`AS${row.asn}`, row.organization];
      lines.push(`    ${String(key).padEnd(8)} ${String(name).slice(0, 40).padEnd(40)} ${Number(row.flows).toLocaleString("en-US").padStart(9)}`);
    }
  }
  lines.push("", `New outbound destinations (the new-destination rules' searches, every ${KIBANA_DEFAULTS.windowMinutes} minutes; the demo's history is its own hour, so each pair is new once)`);
  const fresh = await newDestinationsOver(es, dataStream, from, to);
  if (!fresh.length) lines.push("  (none)");
  for (const d of fresh) {
    const resource = d.resource.split("/").pop() ?? d.resource;
    lines.push(`  ${(d.kind === "country" ? "country" : "ASN").padEnd(8)} ${resource.padEnd(20)} ${(d.kind === "asn" ? `AS${d.value}` : String(d.value)).padEnd(10)} first at ${d.firstSeen.slice(11, 19)}Z`);
  }
  return lines;
}
