// The plan built from dashboards/elasticsearch/ (pure), and the mapping <-> FlowDocument consistency.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FULL_CAPABILITIES, loadAsset, planIndexAssets, type ClusterCapabilities } from "../../dashboards/src/indexAssets";
import { fullDocument, leafPaths, mappedFields } from "./sampleDocuments";

const BARE: ClusterCapabilities = { ilm: false, constantKeyword: false, ingestProcessors: [] };

/** The fields of the two mapping components every flow template is composed of (the collector's documents). */
function flowMappings(): Record<string, string> {
  const component = loadAsset("component-templates/azure-flowlogs-mappings.json") as any;
  const geo = loadAsset("component-templates/azure-flowlogs-geo-mappings.json") as any;
  const fields = { ...mappedFields(component.template.mappings.properties), ...mappedFields(geo.template.mappings.properties) };
  delete fields.tags; // only the optional ingest pipeline writes tags (on a GeoIP failure)
  return fields;
}

test("every leaf field of a fully populated FlowDocument has a mapping, and every mapping a field the collector emits", () => {
  // A geo_point is one mapped field for the document's {lat, lon}.
  const emitted = [...new Set(leafPaths(fullDocument).map((path) => path.replace(/\.geo\.location\.(lat|lon)$/, ".geo.location")))].sort();
  const mapped = Object.keys(flowMappings()).sort();
  assert.deepEqual(mapped.filter((path) => !emitted.includes(path)), [], "mapped fields the collector never emits");
  assert.deepEqual(emitted.filter((path) => !mapped.includes(path)), [], "emitted fields without a mapping");
});

test("flow mappings use ip for addresses, long for counters/ports/AS numbers, date for @timestamp, geo_point for locations, keyword for the rest, strict", () => {
  const component = loadAsset("component-templates/azure-flowlogs-mappings.json") as any;
  assert.equal(component.template.mappings.dynamic, "strict");
  for (const [path, type] of Object.entries(flowMappings())) {
    const expected = path === "@timestamp" ? "date"
      : /(^|\.)ip$/.test(path) ? "ip"
      : /\.(port|packets|bytes)$/.test(path) || /\.as\.number$/.test(path) || path === "azure.flowlog.version" ? "long"
      : /\.geo\.location$/.test(path) ? "geo_point"
      : "keyword";
    assert.equal(type, expected, path);
  }
});

test("the geo mappings cover exactly the fields the GeoIP pipeline writes (after its renames), plus tags", () => {
  const pipeline = loadAsset("ingest-pipelines/azure-flowlogs-geoip.json") as any;
  const written = new Set<string>(["tags"]);
  for (const processor of pipeline.processors) {
    if (processor.geoip) {
      for (const property of processor.geoip.properties) written.add(`${processor.geoip.target_field}.${property}`);
    }
  }
  for (const processor of pipeline.processors) {
    if (processor.rename) {
      written.delete(processor.rename.field);
      written.add(processor.rename.target_field);
    }
  }
  const geo = loadAsset("component-templates/azure-flowlogs-geo-mappings.json") as any;
  assert.deepEqual(Object.keys(mappedFields(geo.template.mappings.properties)).sort(), [...written].sort());
  for (const processor of pipeline.processors) {
    const options = processor.geoip ?? processor.rename;
    assert.equal(options.ignore_failure, true, "a pipeline step must never fail a document");
  }
});

test("on a full stack the plan uses ILM, constant_keyword data_stream fields and, when asked, the GeoIP pipeline", () => {
  const plan = planIndexAssets({ namespace: "prod", retention: "14d", geoip: "auto" }, FULL_CAPABILITIES);
  assert.equal(plan.dataStream, "logs-azure.flowlogs-prod");
  assert.equal(plan.deadLetterDataStream, "logs-azure.flowlogs.deadletter-prod");
  assert.deepEqual(plan.skipped, []);
  const byName = Object.fromEntries(plan.requests.map((request) => [request.name, request]));
  const template = byName["azure-flowlogs-prod"]!.body as any;
  assert.deepEqual(template.index_patterns, [plan.dataStream]);
  assert.deepEqual((byName["azure-flowlogs-deadletter-prod"]!.body as any).index_patterns, [plan.deadLetterDataStream]);
  assert.ok(template.priority > 100, "must outrank the built-in logs template (100)");
  assert.deepEqual(template.data_stream, {});
  assert.deepEqual(template.composed_of, ["azure-flowlogs-mappings", "azure-flowlogs-geo-mappings", "azure-flowlogs-logsdb-settings", "azure-flowlogs-data-stream-prod"]);
  assert.equal(plan.indexMode.mode, "logsdb");
  assert.equal(template.template.settings["index.lifecycle.name"], "azure-flowlogs-prod");
  assert.equal(template.template.settings["index.default_pipeline"], "azure-flowlogs-geoip");
  assert.equal(template.template.lifecycle, undefined);
  assert.equal((byName["azure-flowlogs-prod"] as any).path, "/_index_template/azure-flowlogs-prod");
  const policy = plan.requests.find((request) => request.kind === "ilm_policy")!;
  assert.equal(policy.name, "azure-flowlogs-prod");
  assert.equal((policy.body as any).policy.phases.delete.min_age, "14d");
  const dataStreamFields = (byName["azure-flowlogs-data-stream-prod"]!.body as any).template.mappings.properties.data_stream.properties;
  assert.deepEqual(dataStreamFields.namespace, { type: "constant_keyword", value: "prod" });
  assert.deepEqual(dataStreamFields.dataset, { type: "constant_keyword", value: "azure.flowlogs" });
  // Components are put before the index templates that compose them.
  const order = plan.requests.map((request) => request.name);
  for (const component of template.composed_of) assert.ok(order.indexOf(component) < order.indexOf("azure-flowlogs-prod"));
});

test("on a bare cluster the plan falls back to the data stream lifecycle and states what it left out", () => {
  const plan = planIndexAssets({ namespace: "dev", retention: "7d" }, BARE);
  const template = plan.requests.find((request) => request.name === "azure-flowlogs-dev")!.body as any;
  assert.deepEqual(template.template.lifecycle, { data_retention: "7d" });
  assert.equal(template.template.settings["index.lifecycle.name"], undefined);
  assert.equal(template.template.settings["index.default_pipeline"], undefined);
  assert.deepEqual(template.composed_of, ["azure-flowlogs-mappings", "azure-flowlogs-geo-mappings"]);
  const deadLetter = plan.requests.find((request) => request.name === "azure-flowlogs-deadletter-dev")!.body as any;
  assert.deepEqual(deadLetter.template.lifecycle, { data_retention: "7d" });
  assert.deepEqual(plan.requests.filter((r) => r.kind === "ilm_policy" || r.kind === "ingest_pipeline"), []);
  assert.deepEqual(plan.skipped.map((entry) => entry.asset).sort(),
    ["ILM policy", "data_stream.* constant_keyword fields", "ingest pipeline azure-flowlogs-geoip"]);
});

test("the geo/as mappings are always in the flow template (the collector writes them); the GeoIP pipeline only when asked", () => {
  for (const capabilities of [FULL_CAPABILITIES, BARE, { ...BARE, distribution: "opensearch" as const }]) {
    const plan = planIndexAssets({ namespace: "prod" }, capabilities);
    const template = plan.requests.find((request) => request.kind === "index_template" && request.name === "azure-flowlogs-prod")!.body as any;
    assert.ok(template.composed_of.includes("azure-flowlogs-geo-mappings"), JSON.stringify(capabilities));
    assert.equal(template.template.settings["index.default_pipeline"], undefined, "no ingest pipeline by default");
    assert.deepEqual(plan.requests.filter((r) => r.kind === "ingest_pipeline"), []);
    assert.match(plan.skipped.find((entry) => entry.asset === "ingest pipeline azure-flowlogs-geoip")?.reason ?? "",
      /geoip: off|lacks the ingest processors/);
  }
  const off = planIndexAssets({ namespace: "prod", geoip: "off" }, FULL_CAPABILITIES);
  assert.ok((off.requests.find((r) => r.kind === "index_template" && r.name === "azure-flowlogs-prod")!.body as any).composed_of.includes("azure-flowlogs-geo-mappings"));
});

test("logsdb where the cluster has it, sorted by NIC, source, then newest first; standard elsewhere, each with its reason", () => {
  const logsdb = planIndexAssets({}, FULL_CAPABILITIES);
  assert.deepEqual(logsdb.indexMode, { mode: "logsdb", reason: "the cluster has index.mode logsdb (Elasticsearch 8.17+)" });
  const settings = (logsdb.requests.find((r) => r.name === "azure-flowlogs-logsdb-settings")!.body as any).template.settings.index;
  assert.deepEqual(settings, { mode: "logsdb", mapping: { ignore_malformed: false },
    sort: { field: ["azure.flowlog.mac", "source.ip", "@timestamp"], order: ["asc", "asc", "desc"] } });
  // The sort fields are mapped as doc-valued keyword/ip/date (an index sort needs doc values).
  assert.equal(flowMappings()["azure.flowlog.mac"], "keyword");
  assert.equal(flowMappings()["source.ip"], "ip");
  assert.equal(flowMappings()["@timestamp"], "date");
  // Dead letters stay standard: event.original is kept without doc values, which synthetic _source would re-store.
  const deadLetter = logsdb.requests.find((r) => r.name === "azure-flowlogs-deadletter-default")!.body as any;
  assert.ok(!deadLetter.composed_of.includes("azure-flowlogs-logsdb-settings"));

  const cases: Array<[ClusterCapabilities, RegExp]> = [
    [{ ...FULL_CAPABILITIES, logsdb: false }, /no index.mode logsdb \(it needs Elasticsearch 8.17\+/],
    [BARE, /do not say whether the cluster has index.mode logsdb/],
    [{ ...FULL_CAPABILITIES, distribution: "opensearch", logsdb: false }, /OpenSearch has no index.mode logsdb/],
  ];
  for (const [capabilities, reason] of cases) {
    const plan = planIndexAssets({}, capabilities);
    assert.equal(plan.indexMode.mode, "standard");
    assert.match(plan.indexMode.reason, reason);
    assert.ok(!plan.requests.some((r) => r.name === "azure-flowlogs-logsdb-settings"));
    assert.throws(() => planIndexAssets({ indexMode: "logsdb" }, capabilities), /indexMode "logsdb" but .*: use indexMode "auto" or "standard"/);
  }
  const standard = planIndexAssets({ indexMode: "standard" }, FULL_CAPABILITIES);
  assert.equal(standard.indexMode.mode, "standard");
  assert.match(standard.indexMode.reason, /^indexMode: standard; stated as index\.mode: standard/);
  assert.ok(!standard.requests.some((r) => r.name === "azure-flowlogs-logsdb-settings"));
  assert.throws(() => planIndexAssets({ indexMode: "fast" as never }), /invalid indexMode "fast": use one of auto, logsdb, standard/);
});

test("bad options are refused with an error that says how to fix them", () => {
  assert.throws(() => planIndexAssets({ namespace: "Prod-1" }), /invalid data stream namespace "Prod-1".*a-z, 0-9/);
  assert.throws(() => planIndexAssets({ retention: "30 days" }), /invalid retention "30 days".*"30d"/);
  assert.throws(() => planIndexAssets({ retentionMode: "ilm" }, BARE), /no ILM.*"lifecycle"/);
  assert.throws(() => planIndexAssets({ geoip: "required" }, BARE), /lacks the ingest processors geoip, rename/);
  assert.throws(() => planIndexAssets({ retentionMode: "forever" as never }), /invalid retentionMode "forever": use one of auto, ilm, lifecycle, none/);
  assert.throws(() => planIndexAssets({ geoip: "on" as never }), /invalid geoip "on": use one of auto, off, required/);
});

test("retentionMode none keeps data without any lifecycle and says so", () => {
  const plan = planIndexAssets({ retentionMode: "none" }, FULL_CAPABILITIES);
  const template = plan.requests.find((request) => request.name === "azure-flowlogs-default")!.body as any;
  assert.equal(template.template.lifecycle, undefined);
  assert.equal(template.template.settings["index.lifecycle.name"], undefined);
  assert.deepEqual(plan.skipped.map((entry) => entry.asset), ["ingest pipeline azure-flowlogs-geoip", "retention"]);
});

test("the GeoIP pipeline asks for continent_code only where the geoip processor has it (8.15+), and says so", () => {
  const properties = (capabilities: ClusterCapabilities) => {
    const plan = planIndexAssets({ namespace: "prod", geoip: "auto" }, capabilities);
    const pipeline = plan.requests.find((r) => r.kind === "ingest_pipeline")!.body as { processors: Array<{ geoip?: { properties: string[] } }> };
    return { plan, lists: pipeline.processors.flatMap((p) => (p.geoip ? [p.geoip.properties] : [])) };
  };
  const current = properties(FULL_CAPABILITIES);
  assert.ok(current.lists.slice(0, 2).every((list) => list.includes("continent_code")));
  const older = properties({ ...FULL_CAPABILITIES, geoipContinentCode: false });
  assert.equal(older.lists.length, 4);
  assert.ok(older.lists.every((list) => !list.includes("continent_code")), JSON.stringify(older.lists));
  assert.deepEqual(older.lists.slice(0, 2).map((list) => list.length), current.lists.slice(0, 2).map((list) => list.length - 1), "only continent_code goes");
  assert.match(older.plan.skipped.find((e) => e.asset === "continent_code in ingest pipeline azure-flowlogs-geoip")?.reason ?? "", /8\.15/);
});
