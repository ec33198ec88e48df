// The index assets on the real engine: they apply, a collector document indexes with exactly the mapped types,
// and the data stream appears on the first write.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyIndexAssets, detectCapabilities } from "../../dashboards/src/applyIndexAssets";
import { loadAsset } from "../../dashboards/src/indexAssets";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { fullDocument, mappedFields, minimalDocument } from "./sampleDocuments";

test("applyIndexAssets puts the templates for a namespace and reports what the cluster lacks", async () => {
  const client = esClient(elasticsearchUrl());
  try {
    const namespace = uniqueNamespace("apply");
    const applied = await applyIndexAssets(client, { namespace, retention: "3d" });
    const capabilities = await detectCapabilities(client);
    assert.deepEqual(applied.capabilities, capabilities);
    const { index_templates: [template] } = await client.indices.getIndexTemplate({ name: `azure-flowlogs-${namespace}` });
    assert.deepEqual(template!.index_template.index_patterns, [`logs-azure.flowlogs-${namespace}`]);
    assert.ok(template!.index_template.data_stream, "data stream enabled");
    assert.ok(template!.index_template.composed_of.includes("azure-flowlogs-mappings"));
    const components = await client.cluster.getComponentTemplate({ name: "azure-flowlogs-mappings" });
    assert.equal(components.component_templates[0]!.component_template.template.mappings?.dynamic, "strict");
    await client.indices.getIndexTemplate({ name: `azure-flowlogs-deadletter-${namespace}` });
    // Each missing feature is stated, and only missing ones.
    const skipped = applied.skipped.map((entry) => entry.asset);
    assert.equal(skipped.includes("ILM policy"), !capabilities.ilm);
    assert.equal(skipped.includes("data_stream.* constant_keyword fields"), !capabilities.constantKeyword);
    assert.ok(skipped.includes("ingest pipeline azure-flowlogs-geoip"), "the GeoIP pipeline is off by default (the collector enriches)");
    if (!capabilities.ilm) assert.deepEqual(template!.index_template.template?.lifecycle?.data_retention, "3d");
    // Applying again is harmless (PUT overwrites).
    await applyIndexAssets(client, { namespace, retention: "3d" });
  } finally {
    await client.close();
  }
});

test("the data stream is created on the first write and documents index with exactly the mapped types", async () => {
  const client = esClient(elasticsearchUrl());
  try {
    const namespace = uniqueNamespace("mapping");
    const { dataStream } = await applyIndexAssets(client, { namespace });
    const before = await client.indices.resolveIndex({ name: dataStream, expand_wildcards: "all" }).catch(() => ({ data_streams: [] }));
    assert.deepEqual(before.data_streams, []);

    const response = await client.bulk({
      refresh: true,
      operations: [
        { create: { _index: dataStream, _id: "full" } }, fullDocument,
        { create: { _index: dataStream, _id: "minimal" } }, minimalDocument,
      ],
    });
    assert.equal(response.errors, false, JSON.stringify(response.items));

    const after = await client.indices.resolveIndex({ name: dataStream, expand_wildcards: "all" });
    assert.equal(after.data_streams.length, 1);
    assert.match(after.data_streams[0]!.backing_indices[0]!, /^\.ds-logs-azure\.flowlogs-/);

    const mapping = await client.indices.getMapping({ index: dataStream });
    const [backing] = Object.values(mapping);
    const live = mappedFields(backing!.mappings.properties as Record<string, any>);
    const component = loadAsset("component-templates/azure-flowlogs-mappings.json") as any;
    const geoComponent = loadAsset("component-templates/azure-flowlogs-geo-mappings.json") as any;
    const declared = { ...mappedFields(component.template.mappings.properties), ...mappedFields(geoComponent.template.mappings.properties) };
    delete declared.tags; // mapped for the optional pipeline; no collector document has it
    const capabilities = await detectCapabilities(client);
    if (capabilities.constantKeyword) {
      Object.assign(declared, { "data_stream.type": "constant_keyword", "data_stream.dataset": "constant_keyword", "data_stream.namespace": "constant_keyword" });
    }
    // Exactly what was declared (geo/as included, the collector writes them): no dynamic extras.
    const withoutTags = Object.fromEntries(Object.entries(live).filter(([path]) => path !== "tags"));
    assert.deepEqual(withoutTags, declared);

    const found = await client.search<Record<string, unknown>>({ index: dataStream, query: { ids: { values: ["full", "minimal"] } } });
    assert.equal(found.hits.hits.length, 2);
    const full = found.hits.hits.find((hit) => hit._id === "full")!._source!;
    assert.deepEqual((full as any).related.ip, fullDocument.related.ip);
    // ip fields answer range queries over an address block.
    const inBlock = await client.count({ index: dataStream, query: { term: { "source.ip": "10.0.0.0/8" } } });
    assert.equal(inBlock.count, 1);
  } finally {
    await client.close();
  }
});

test("a field outside the mapping is refused (dynamic: strict), not silently added", async () => {
  const client = esClient(elasticsearchUrl());
  try {
    const namespace = uniqueNamespace("strict");
    const { dataStream } = await applyIndexAssets(client, { namespace });
    const response = await client.bulk({
      refresh: true,
      operations: [{ create: { _index: dataStream, _id: "extra" } }, { ...fullDocument, surprise: { field: 1 } }],
    });
    assert.equal(response.errors, true);
    assert.equal(response.items[0]!.create!.status, 400);
    assert.equal(response.items[0]!.create!.error!.type, "strict_dynamic_mapping_exception");
  } finally {
    await client.close();
  }
});

test("the aggregations the dashboards need work on the mapped fields (terms, date_histogram, sum)", async () => {
  const client = esClient(elasticsearchUrl());
  try {
    const namespace = uniqueNamespace("aggs");
    const { dataStream } = await applyIndexAssets(client, { namespace });
    await client.bulk({
      refresh: true,
      operations: [
        { create: { _index: dataStream, _id: "a" } }, fullDocument,
        { create: { _index: dataStream, _id: "b" } }, { ...fullDocument, "@timestamp": "2026-11-27T04:15:00.000Z", network: { ...fullDocument.network, bytes: 100 } },
        { create: { _index: dataStream, _id: "c" } }, minimalDocument,
      ],
    });
    const result = await client.search({
      index: dataStream, size: 0,
      aggs: {
        actions: { terms: { field: "event.action" } },
        perHour: { date_histogram: { field: "@timestamp", fixed_interval: "1h" } },
        bytes: { sum: { field: "network.bytes" } },
      },
    });
    const aggs = result.aggregations as any;
    assert.deepEqual(aggs.actions.buckets.map((b: any) => [b.key, b.doc_count]), [["allowed", 2], ["denied", 1]]);
    assert.deepEqual(aggs.perHour.buckets.map((b: any) => [b.key_as_string, b.doc_count]),
      [["2026-11-27T03:00:00.000Z", 2], ["2026-11-27T04:00:00.000Z", 1]]);
    assert.equal(aggs.bytes.value, 13324 + 100);
  } finally {
    await client.close();
  }
});

test("the optional geo mapping component is valid on the engine even where the pipeline cannot run", async () => {
  const client = esClient(elasticsearchUrl());
  const name = `azure-flowlogs-geo-check-${uniqueNamespace("geo")}`;
  try {
    await client.transport.request({ method: "PUT", path: `/_component_template/${name}`, body: loadAsset("component-templates/azure-flowlogs-geo-mappings.json") });
    const stored = await client.cluster.getComponentTemplate({ name });
    const properties = stored.component_templates[0]!.component_template.template.mappings!.properties as Record<string, any>;
    assert.equal(mappedFields(properties)["source.geo.location"], "geo_point");
  } finally {
    await client.cluster.deleteComponentTemplate({ name }).catch(() => undefined);
    await client.close();
  }
});
