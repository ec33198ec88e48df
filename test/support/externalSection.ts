// Checks the demo's "External traffic" section against Elasticsearch's own aggregations, written here
// independently of the Lens translation and of the rule searches the demo prints from: plain terms aggregations for
// the four top-10 tables, and one composite of (resource, country / AS) with each pair's first sighting for the
// new destinations (every pair in the data stream is new once: the demo's history is its own hour).
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { NO_GEO_LINE } from "../../scripts/demo/external";

export const EXTERNAL_TABLES = [
  { id: "flowlogs-external-inbound-denied-countries", title: "inbound denied from the internet, by source country", locality: "from_internet", action: "denied", key: "source.geo.country_iso_code", name: "source.geo.country_name" },
  { id: "flowlogs-external-inbound-denied-asns", title: "inbound denied from the internet, by source ASN", locality: "from_internet", action: "denied", key: "source.as.number", name: "source.as.organization.name" },
  { id: "flowlogs-external-outbound-allowed-countries", title: "outbound allowed to the internet, by destination country", locality: "to_internet", action: "allowed", key: "destination.geo.country_iso_code", name: "destination.geo.country_name" },
  { id: "flowlogs-external-outbound-allowed-asns", title: "outbound allowed to the internet, by destination ASN", locality: "to_internet", action: "allowed", key: "destination.as.number", name: "destination.as.organization.name" },
];

/** The lines from `title` to the next blank line. */
function block(lines: string[], title: string): string[] {
  const start = lines.findIndex((line) => line.startsWith(title));
  assert.ok(start >= 0, `the summary has "${title}":\n${lines.join("\n")}`);
  const end = lines.findIndex((line, i) => i > start && line === "");
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** One external table's top 10 by Elasticsearch's own terms aggregation (key, its first name, flows). */
export async function externalTableRows(es: Client, index: string, table: (typeof EXTERNAL_TABLES)[number], range?: { from: string; to: string }): Promise<Array<{ key: string | number; name: string | undefined; flows: number }>> {
  const filter: Record<string, unknown>[] = [{ term: { "azure.flowlog.locality": table.locality } }, { term: { "event.action": table.action } }];
  if (range) filter.push({ range: { "@timestamp": { gte: range.from, lte: range.to } } });
  const answer: any = await es.search({
    index, size: 0, query: { bool: { filter } },
    aggs: { key: { terms: { field: table.key, size: 10 }, aggs: { name: { terms: { field: table.name, size: 1 } } } } },
  });
  return answer.aggregations.key.buckets.map((b: any) => ({ key: b.key, name: b.name.buckets[0]?.key, flows: b.doc_count }));
}

/** Returns how many table rows and new destinations were checked (0 when no document has geo/AS fields). */
export async function checkExternalSection(stdout: string, es: Client, dataStream: string): Promise<{ rows: number; newDestinations: number }> {
  const lines = stdout.split("\n");
  const section = block(lines, "External traffic");
  const geoQuery = { bool: { should: EXTERNAL_TABLES.map((t) => ({ exists: { field: t.key } })), minimum_should_match: 1 } };
  if ((await es.count({ index: dataStream, query: geoQuery })).count === 0) {
    assert.deepEqual(section, [NO_GEO_LINE], "without geo fields the section says so, in one line");
    return { rows: 0, newDestinations: 0 };
  }
  let rows = 0;
  for (const table of EXTERNAL_TABLES) {
    const at = section.indexOf(`  ${table.title}`);
    assert.ok(at >= 0, `the section has "${table.title}"`);
    const next = section.findIndex((line, i) => i > at && !line.startsWith("    "));
    const printed = section.slice(at + 1, next < 0 ? undefined : next).filter((line) => line !== "    (none)")
      .map((line) => { const cells = line.trim().split(/ +/); return { key: cells[0], name: cells.slice(1, -1).join(" "), flows: Number(cells.at(-1)!.replace(/,/g, "")) }; });
    const expected = (await externalTableRows(es, dataStream, table)).map((row) => ({
      key: table.key.endsWith("number") ? `AS${row.key}` : String(row.key),
      name: String(row.name ?? "undefined").slice(0, 40).trim().replace(/ +/g, " "),
      flows: row.flows,
    }));
    assert.deepEqual(printed, expected, `${table.title}: the printed rows are Elasticsearch's aggregation`);
    rows += printed.length;
  }
  const fresh = block(lines, "New outbound destinations").filter((line) => line !== "  (none)")
    .map((line) => line.trim().split(/ +/)).map((c) => ({ kind: c[0], resource: c[1], value: c[2], at: c[5] })).sort(byAll);
  const expected: typeof fresh = [];
  for (const [kind, field] of [["country", "destination.geo.country_iso_code"], ["ASN", "destination.as.number"]]) {
    const answer: any = await es.search({
      index: dataStream, size: 0,
      query: { bool: { filter: [{ term: { "azure.flowlog.locality": "to_internet" } }, { term: { "event.action": "allowed" } }] } },
      aggs: { pairs: { composite: { size: 10000, sources: [{ r: { terms: { field: "azure.resource.id" } } }, { v: { terms: { field } } }] }, aggs: { first: { min: { field: "@timestamp" } } } } },
    });
    for (const b of answer.aggregations.pairs.buckets) {
      expected.push({ kind, resource: String(b.key.r).split("/").pop()!, value: kind === "ASN" ? `AS${b.key.v}` : String(b.key.v), at: `${new Date(b.first.value).toISOString().slice(11, 19)}Z` });
    }
  }
  assert.deepEqual(fresh, expected.sort(byAll), "each (resource, country / AS) pair once, at its first flow");
  return { rows, newDestinations: fresh.length };
}

function byAll(a: Record<string, string>, b: Record<string, string>): number {
  return JSON.stringify(a).localeCompare(JSON.stringify(b));
}
