// The flow template the cluster gets (logsdb where it has it), on the real engine: its settings and trimmed
// mapping, every document the collector makes from the fixtures indexed under it (strict mapping) and returned
// unchanged, the denied-flows rule's query and a Community ID look-up answering. The dashboard panels are run on
// it by test/e2e/pipeline.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { parseFlowLogText } from "../../collector/src/format";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { fullDocument } from "./sampleDocuments";
import { openGeoIp } from "../../collector/src/enrich/geoIp";
import { testDatabases } from "../support/mmdbFixtures";

const FIXTURES = ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json", "mixed-records.json", "malformed-tuples.json"];

/** The fixtures' documents with geo/AS on (MaxMind-shaped test City + ASN databases); 52.239.x is rewritten to
 * 20.50.x, which the test City database locates (city, region, geo_point), so every geo field is exercised. */
function collectorDocuments() {
  const dbs = testDatabases();
  const enrichment = { addresses: openGeoIp({ enabled: true, geoDatabase: dbs.city, asnDatabase: dbs.asn, cacheEntries: 1000 }) };
  return FIXTURES.flatMap((name) => parseFlowLogText(
    readFileSync(join(__dirname, "..", "fixtures", name), "utf8").replace(/\b52\.239\./g, "20.50."), enrichment).documents);
}

test("the cluster gets logsdb sorted by NIC, source and time, counters in doc values only, says so, and every collector document indexes and comes back unchanged", async () => {
  const client = esClient(elasticsearchUrl());
  try {
    const namespace = uniqueNamespace("logsdb");
    const applied = await applyIndexAssets(client, { namespace });
    assert.equal(applied.capabilities.logsdb, true, "Elasticsearch 9.2 has index.mode logsdb");
    assert.equal(applied.indexMode.mode, "logsdb");
    assert.match(applied.indexMode.reason, /8\.17/);
    // The test distribution lacks the x-pack logsdb plugin (the licence check), so _source stays synthetic here.
    assert.equal(applied.source, "synthetic");

    const documents = collectorDocuments();
    assert.ok(documents.length >= 20, `${documents.length} documents`);
    assert.ok(documents.some(({ doc }) => doc.destination.geo?.location) && documents.some(({ doc }) => doc.source.geo?.country_iso_code),
      "enriched documents (city, location and country) are among them");
    const response = await client.bulk({
      refresh: true,
      operations: documents.flatMap(({ id, doc }) => [{ create: { _index: applied.dataStream, _id: id } }, doc]),
    });
    assert.equal(response.errors, false, JSON.stringify(response.items.find((item) => item.create?.error)));

    const backing = Object.values(await client.indices.getSettings({ index: applied.dataStream }))[0]!.settings!.index as any;
    assert.equal(backing.mode, "logsdb");
    assert.deepEqual(backing.sort.field, ["azure.flowlog.mac", "source.ip", "@timestamp"]);
    assert.deepEqual(backing.sort.order, ["asc", "asc", "desc"]);
    // logsdb would keep a wrong-typed value half-indexed (ignore_malformed); the template refuses it, so the sink
    // dead-letters the document with the reason, as in the standard mode.
    assert.equal(backing.mapping.ignore_malformed, "false");
    const malformed = await client.bulk({ operations: [{ create: { _index: applied.dataStream, _id: "bad-port" } },
      { ...fullDocument, source: { ...fullDocument.source, port: "not-a-port" } }] });
    assert.equal(malformed.items[0]!.create!.status, 400);
    assert.equal(malformed.items[0]!.create!.error!.type, "document_parsing_exception");
    const mapping = Object.values(await client.indices.getMapping({ index: applied.dataStream }))[0]!.mappings as any;
    assert.equal(mapping.dynamic, "strict");
    assert.deepEqual(mapping.properties.network.properties.community_id, { type: "keyword", index: false });
    // The counters and the source port are kept in doc values only (their points cost 14 B per flow, README Disk).
    for (const [side, fields] of [["source", ["port", "packets", "bytes"]], ["destination", ["packets", "bytes"]], ["network", ["packets", "bytes"]]] as const) {
      for (const name of fields) assert.deepEqual(mapping.properties[side].properties[name], { type: "long", index: false }, `${side}.${name}`);
    }
    assert.deepEqual(mapping.properties.destination.properties.port, { type: "long" }, "destination.port stays indexed: the top-ports panel's filter");

    // _source is rebuilt from doc values, yet every document comes back as the collector sent it (key order aside).
    const found = await client.search<Record<string, unknown>>({ index: applied.dataStream, size: documents.length, query: { match_all: {} } });
    assert.equal(found.hits.hits.length, documents.length);
    const byId = new Map(found.hits.hits.map((hit) => [hit._id, hit._source]));
    for (const { id, doc } of documents) assert.deepEqual(byId.get(id), doc, id);

    // The denied-flows rule's query (infra/elastic/kibana ruleResource.ts) answers.
    const denied = documents.filter(({ doc }) => doc.event.action === "denied").length;
    assert.ok(denied > 0);
    const rule = await client.count({ index: applied.dataStream, query: { bool: { filter: [{ term: { "event.action": "denied" } }] } } });
    assert.equal(rule.count, denied);
    // The Community ID is no longer in the inverted index, but a term look-up still answers from its doc values.
    const withId = documents.find(({ doc }) => doc.network.community_id)!;
    const sameFlow = documents.filter(({ doc }) => doc.network.community_id === withId.doc.network.community_id).length;
    const pivot = await client.count({ index: applied.dataStream, query: { term: { "network.community_id": withId.doc.network.community_id } } });
    assert.equal(pivot.count, sameFlow);
    const terms = await client.search({ index: applied.dataStream, size: 0, aggs: { ids: { cardinality: { field: "network.community_id" } } } });
    assert.ok((terms.aggregations!.ids as { value: number }).value > 1);
    // Searches on the doc-values-only counters and source port still answer, exactly: ranges, terms and sums. Kibana
    // decides from _field_caps whether a field can be filtered on and aggregated: both stay true.
    const caps = await client.fieldCaps({ index: applied.dataStream, fields: ["source.port", "network.bytes", "destination.packets"] });
    for (const name of ["source.port", "network.bytes", "destination.packets"]) {
      assert.equal(caps.fields[name]?.long?.searchable, true, `${name} searchable`);
      assert.equal(caps.fields[name]?.long?.aggregatable, true, `${name} aggregatable`);
    }
    const big = documents.filter(({ doc }) => (doc.network.bytes ?? 0) >= 1000).length;
    assert.ok(big > 0 && big < documents.length, `${big} of ${documents.length} flows with 1,000 bytes or more`);
    const ranged = await client.count({ index: applied.dataStream, query: { range: { "network.bytes": { gte: 1000 } } } });
    assert.equal(ranged.count, big);
    const port = documents.find(({ doc }) => doc.source.port !== undefined)!.doc.source.port!;
    const fromPort = await client.count({ index: applied.dataStream, query: { term: { "source.port": port } } });
    assert.equal(fromPort.count, documents.filter(({ doc }) => doc.source.port === port).length);
    const summed = await client.search({ index: applied.dataStream, size: 0,
      aggs: { sent: { sum: { field: "source.bytes" } }, packets: { sum: { field: "network.packets" } } } });
    assert.equal((summed.aggregations!.sent as { value: number }).value, documents.reduce((n, { doc }) => n + (doc.source.bytes ?? 0), 0));
    assert.equal((summed.aggregations!.packets as { value: number }).value, documents.reduce((n, { doc }) => n + (doc.network.packets ?? 0), 0));
    // The address classes and locality are keywords a panel filters and groups on.
    for (const locality of ["internal", "from_internet", "to_internet"] as const) {
      const expected = documents.filter(({ doc }) => doc.azure.flowlog.locality === locality).length;
      assert.ok(expected > 0, locality);
      const counted = await client.count({ index: applied.dataStream, query: { term: { "azure.flowlog.locality": locality } } });
      assert.equal(counted.count, expected, locality);
    }
    const classes = await client.search({ index: applied.dataStream, size: 0,
      aggs: { classes: { terms: { field: "azure.flowlog.source_address_class" } } } });
    const buckets = (classes.aggregations!.classes as { buckets: Array<{ key: string; doc_count: number }> }).buckets;
    const expectedClasses: Record<string, number> = {};
    for (const { doc } of documents) expectedClasses[doc.azure.flowlog.source_address_class] = (expectedClasses[doc.azure.flowlog.source_address_class] ?? 0) + 1;
    assert.deepEqual(Object.fromEntries(buckets.map((b) => [b.key, b.doc_count])), expectedClasses);
  } finally {
    await client.close();
  }
});

test("indexMode standard keeps the former template, stating its mode: _source stored, no index sort", async () => {
  const client = esClient(elasticsearchUrl());
  try {
    const applied = await applyIndexAssets(client, { namespace: uniqueNamespace("standard"), indexMode: "standard" });
    assert.equal(applied.indexMode.mode, "standard");
    assert.match(applied.indexMode.reason, /^indexMode: standard; stated as index\.mode: standard/);
    assert.equal(applied.source, "stored");
    const response = await client.bulk({ refresh: true, operations: [{ create: { _index: applied.dataStream, _id: "full" } }, fullDocument] });
    assert.equal(response.errors, false, JSON.stringify(response.items));
    const backing = Object.values(await client.indices.getSettings({ index: applied.dataStream }))[0]!.settings!.index as any;
    // Named, not defaulted: a mode the template leaves out is absent here, and the logsdb plugin would fill it in.
    assert.equal(backing.mode, "standard");
    assert.equal(backing.sort, undefined);
  } finally {
    await client.close();
  }
});
