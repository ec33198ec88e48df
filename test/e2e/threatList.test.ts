// The threat list end to end: NSG v1/v2 and VNet blobs on the real Azurite, the collector's poll loop with
// FLOWLOGS_THREAT_LIST_FILE set, the real Elasticsearch under the strict index template. Flows with a listed source
// or destination carry threat.enrichments naming the entry and the matched field, the others carry nothing, counts
// stay exact; the list is then replaced between two polls and the next poll's documents follow the new list.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCollector } from "../../collector/src/service/collector";
import type { LogEvent } from "../../collector/src/service/logger";
import { FlowLogDataset } from "../support/dataset";
import type { WrittenTuple } from "../support/flowLogWriter";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { createWorld, type E2eWorld } from "./e2eSupport";

let world: E2eWorld;
let dataset: FlowLogDataset;
let dir: string;

before(async () => {
  assert.ok(azuriteConnectionString() && elasticsearchUrl(), "the runner started Azurite and Elasticsearch");
  world = await createWorld("threat");
  dataset = new FlowLogDataset(world.service, { nsgContainer: world.nsg.containerName, vnetContainer: world.vnet.containerName });
  dir = mkdtempSync(join(tmpdir(), "threat-e2e-"));
});
after(async () => {
  await world?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The most frequent value of `key` among `tuples`. */
function mostFrequent(tuples: WrittenTuple[], key: (t: WrittenTuple) => string, except: string[] = []): string {
  const counts = new Map<string, number>();
  for (const t of tuples) counts.set(key(t), (counts.get(key(t)) ?? 0) + 1);
  return [...counts].filter(([value]) => !except.includes(value)).sort((a, b) => b[1] - a[1])[0]![0];
}

/** A list as simple predicates, to count independently of the collector's matcher. */
interface Listing {
  text: string;
  description: string;
  listed(ip: string): boolean;
}

async function countWhere(query: Record<string, unknown>): Promise<number> {
  await world.es.indices.refresh({ index: world.dataStream });
  return (await world.es.count({ index: world.dataStream, query })).count;
}

test("listed flows carry threat.enrichments, the others nothing; a list replaced between polls applies from the next poll", async () => {
  await dataset.appendMinutes(10);
  const phaseA = dataset.written;
  // List A: the busiest source as a bare address, and the /24 of the busiest IPv4 destination (a CIDR).
  const sourceA = mostFrequent(phaseA, (t) => t.sourceIp);
  const destination = mostFrequent(phaseA.filter((t) => /^\d+\.\d+\.\d+\.\d+$/.test(t.destinationIp)), (t) => t.destinationIp, [sourceA]);
  const blockA = `${destination.split(".").slice(0, 3).join(".")}.`;
  const listA: Listing = {
    text: `; e2e list A\n${sourceA} ; list-a\n${blockA}0/24 ; list-a\nnot-an-address\n`,
    description: "list-a",
    listed: (ip) => ip === sourceA || ip.startsWith(blockA),
  };
  const file = join(dir, "e2e-list.txt");
  writeFileSync(file, listA.text);

  const events: LogEvent[] = [];
  let listB: Listing | undefined;
  let phaseB: WrittenTuple[] = [];
  const controller = new AbortController();
  let pauses = 0;
  const summary = await runCollector({
    config: world.config({ FLOWLOGS_THREAT_LIST_FILE: file }),
    signal: controller.signal,
    onEvent: (event) => events.push(event),
    sleep: async () => {
      pauses++;
      if (pauses > 1) {
        controller.abort();
        return;
      }
      // Between the two polls: list B (another address) replaces the file, and ten more minutes are written.
      const sourceB = mostFrequent(phaseA, (t) => t.sourceIp, [sourceA]);
      listB = { text: `${sourceB} ; list-b\n`, description: "list-b", listed: (ip) => ip === sourceB };
      writeFileSync(`${file}.new`, listB.text);
      renameSync(`${file}.new`, file);
      const seen = new Set(dataset.written);
      await dataset.appendMinutes(10);
      phaseB = dataset.written.filter((t) => !seen.has(t));
    },
  });
  assert.equal(summary.polls, 2);
  assert.equal(summary.metrics.indexed, dataset.tuples, "every tuple indexed once");
  assert.equal(await world.count(), dataset.tuples, "exact count");
  assert.ok(phaseB.length > 0 && listB);

  const loaded = events.find((e) => e.event === "threatlist.loaded")!;
  assert.equal(loaded.entries, 2);
  assert.deepEqual((events.find((e) => e.event === "threatlist.lines.rejected")!.lines as Array<{ line: number }>).map((l) => l.line), [4]);
  assert.equal(events.filter((e) => e.event === "threatlist.reloaded").length, 1);
  assert.match(summary.metrics.render(), /\nflowlogs_threat_list_entries 1\n[^]*\nflowlogs_threat_list_refused_total 0\n/, "list B in use, nothing refused");

  for (const [phase, listing] of [[phaseA, listA], [phaseB, listB!]] as const) {
    const bySource = phase.filter((t) => listing.listed(t.sourceIp)).length;
    const byDestination = phase.filter((t) => listing.listed(t.destinationIp)).length;
    const tagged = phase.filter((t) => listing.listed(t.sourceIp) || listing.listed(t.destinationIp)).length;
    assert.ok(tagged > 0 && tagged < phase.length, `${listing.description}: some flows listed (${tagged} of ${phase.length})`);
    const described = { term: { "threat.enrichments.indicator.description": listing.description } };
    assert.equal(await countWhere(described), tagged, `${listing.description}: tagged documents`);
    const field = (name: string) => ({ bool: { filter: [described, { term: { "threat.enrichments.matched.field": name } }] } });
    assert.equal(await countWhere(field("source.ip")), bySource, `${listing.description}: matched on source.ip`);
    if (listing === listA) assert.equal(await countWhere(field("destination.ip")), byDestination, "list-a: matched on destination.ip");
  }
  const taggedA = phaseA.filter((t) => listA.listed(t.sourceIp) || listA.listed(t.destinationIp)).length;
  const taggedB = phaseB.filter((t) => listB!.listed(t.sourceIp) || listB!.listed(t.destinationIp)).length;
  assert.equal(await countWhere({ exists: { field: "threat.enrichments.matched.atomic" } }), taggedA + taggedB, "no other document is tagged");

  // One tagged document in full: the entry as written, its comment, the file's name, the address that matched.
  const hit = await world.es.search<Record<string, any>>({ index: world.dataStream, size: 1, query: { term: { "threat.enrichments.indicator.name": `${blockA}0/24` } } });
  const enrichment = hit.hits.hits[0]!._source!.threat.enrichments.find((e: any) => e.indicator.name === `${blockA}0/24`);
  assert.deepEqual(enrichment.indicator, { name: `${blockA}0/24`, type: "ipv4-addr", description: "list-a", provider: "e2e-list.txt" });
  assert.equal(enrichment.matched.type, "threat_list");
  assert.ok(enrichment.matched.atomic.startsWith(blockA));
  assert.equal(hit.hits.hits[0]!._source![enrichment.matched.field === "source.ip" ? "source" : "destination"].ip, enrichment.matched.atomic);
});
