// Geo/AS enrichment end to end: NSG and VNet blobs on Azurite, the collector configured through its environment
// (MaxMind-shaped City and ASN test databases), the real Elasticsearch under the template the cluster gets. Public
// endpoints carry geo/as, private and Azure platform ones none, and the counts stay exact.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { addressClass } from "../../collector/src/ecs/addressClass";
import { openGeoIp } from "../../collector/src/enrich/geoIp";
import { runCollector } from "../../collector/src/service/collector";
import { FlowLogDataset } from "../support/dataset";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { testDatabases, type TestDatabases } from "../support/mmdbFixtures";
import { createWorld, type E2eWorld } from "./e2eSupport";

let world: E2eWorld;
let dataset: FlowLogDataset;
let dbs: TestDatabases;

before(async () => {
  assert.ok(azuriteConnectionString() && elasticsearchUrl(), "the runner started Azurite and Elasticsearch");
  dbs = testDatabases();
  world = await createWorld("geo");
  dataset = new FlowLogDataset(world.service, { nsgContainer: world.nsg.containerName, vnetContainer: world.vnet.containerName });
});
after(async () => {
  await world?.cleanup();
});

test("public endpoints get geo and AS fields, private ones none, with exact counts", async () => {
  await dataset.appendMinutes(10);
  const env = { FLOWLOGS_GEOIP_DATABASE: dbs.city, FLOWLOGS_GEOIP_ASN_DATABASE: dbs.asn };
  const run = await runCollector({ config: world.config(env), once: true });
  assert.equal(run.metrics.indexed, dataset.tuples);
  assert.equal(run.metrics.deadLettered, 0, "no document refused by the strict mapping");
  assert.equal(await world.count(), dataset.tuples);

  // Expected from the same databases, asked directly, for the tuples the writers recorded.
  const lookup = openGeoIp({ enabled: true, geoDatabase: dbs.city, asnDatabase: dbs.asn, cacheEntries: 1000 })!;
  const known = (ip: string) => (addressClass(ip) === "public" ? lookup.lookup(ip) : undefined);
  const written = dataset.written;
  const expectedCountries = new Map<string, number>();
  let sourceGeo = 0;
  let destinationAs = 0;
  for (const tuple of written) {
    if (known(tuple.sourceIp)?.geo) sourceGeo++;
    const destination = known(tuple.destinationIp);
    if (destination?.as) destinationAs++;
    const country = destination?.geo?.country_iso_code;
    if (country) expectedCountries.set(country, (expectedCountries.get(country) ?? 0) + 1);
  }
  assert.ok(destinationAs > 0 && expectedCountries.get("NL"), "the dataset reaches 20.50.2.0/24 (NL, AS8075 in the test database)");

  const es = world.es;
  const count = async (query: object) => (await es.count({ index: world.dataStream, query })).count;
  assert.equal(await count({ exists: { field: "source.geo.country_iso_code" } }), sourceGeo);
  assert.equal(await count({ exists: { field: "destination.as.number" } }), destinationAs);
  assert.equal(await count({ term: { "destination.as.number": 8075 } }),
    written.filter((t) => t.destinationIp.startsWith("20.50.")).length, "AS8075 is every 20.50/16 destination");
  assert.equal(await count({ term: { "destination.as.organization.name": "MICROSOFT-CORP-MSN-AS-BLOCK" } }), destinationAs);
  // No private or Azure platform endpoint carries any of it.
  for (const side of ["source", "destination"] as const) {
    assert.equal(await count({ bool: {
      must_not: [{ term: { [`azure.flowlog.${side}_address_class`]: "public" } }],
      should: [{ exists: { field: `${side}.geo.country_iso_code` } }, { exists: { field: `${side}.as.number` } }],
      minimum_should_match: 1,
    } }), 0, side);
  }
  const countries = await es.search({ index: world.dataStream, size: 0,
    aggs: { countries: { terms: { field: "destination.geo.country_iso_code", size: 50 } } } });
  const buckets = (countries.aggregations!.countries as { buckets: Array<{ key: string; doc_count: number }> }).buckets;
  assert.deepEqual(new Map(buckets.map((b) => [b.key, b.doc_count])), expectedCountries);
  // A geo_point the map panels can use.
  const located = await es.search({ index: world.dataStream, size: 1, query: { geo_distance: { distance: "10km", "destination.geo.location": { lat: 52.3759, lon: 4.8975 } } } });
  assert.equal((located.hits.total as { value: number }).value, expectedCountries.get("NL"));
});

test("default settings: the shipped ASN data fills source/destination .as.* (number and organization as its CSV says), counts exact", async () => {
  const own = await createWorld("geo-default");
  try {
    const ownDataset = new FlowLogDataset(own.service, { nsgContainer: own.nsg.containerName, vnetContainer: own.vnet.containerName });
    await ownDataset.appendMinutes(5);
    const events: Array<{ event: string }> = [];
    const run = await runCollector({ config: own.config({}), once: true, onEvent: (event) => events.push(event) });
    assert.equal(run.metrics.indexed, ownDataset.tuples);
    const loaded = events.find((entry) => entry.event === "geoip.loaded");
    assert.ok(loaded, "the start-up log says what was loaded");
    assert.match(JSON.stringify(loaded), /shipped ASN tables \(\d+ IPv4 \+ \d+ IPv6 ranges, (pre-parsed by the build|parsed from CSV; no pre-parsed tables: [^)]+)\)/);
    assert.equal(run.metrics.deadLettered, 0, "no document refused by the strict mapping");
    assert.equal(await own.count(), ownDataset.tuples);

    // Expected from the shipped data asked directly (asn-table.test.ts holds those answers to the CSV rows).
    const lookup = openGeoIp({ enabled: true, cacheEntries: 1000 })!;
    const asOf = (ip: string) => (addressClass(ip) === "public" ? lookup.lookup(ip)?.as : undefined);
    const expected = new Map<string, number>();
    let sourceAs = 0;
    for (const tuple of ownDataset.written) {
      if (asOf(tuple.sourceIp)) sourceAs++;
      const as = asOf(tuple.destinationIp);
      if (as) expected.set(`${as.number} ${as.organization!.name}`, (expected.get(`${as.number} ${as.organization!.name}`) ?? 0) + 1);
    }
    assert.ok(expected.size > 0, "the dataset reaches public addresses the shipped data knows");
    assert.equal((await own.es.count({ index: own.dataStream, query: { exists: { field: "source.as.number" } } })).count, sourceAs);
    const all = await own.es.search({ index: own.dataStream, size: 0, aggs: { as: {
      terms: { field: "destination.as.number", size: 200 }, aggs: { names: { terms: { field: "destination.as.organization.name", size: 10 } } },
    } } });
    type Bucket = { key: number | string; doc_count: number };
    const found = new Map<string, number>();
    for (const bucket of (all.aggregations!.as as { buckets: Array<Bucket & { names: { buckets: Bucket[] } }> }).buckets) {
      for (const name of bucket.names.buckets) found.set(`${bucket.key} ${name.key}`, name.doc_count);
    }
    assert.deepEqual(found, expected);
  } finally {
    await own.cleanup();
  }
});
