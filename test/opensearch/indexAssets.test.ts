// The index assets on a real OpenSearch (the 2.19 integ-test distribution test/run.ts starts): what the plan puts
// there, that the data streams come from them, and what OpenSearch lacks (ILM, the data stream lifecycle, ingest
// processors in this distribution) left out with its reason instead of a refused request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { applyOpenSearchIndexAssets, detectOpenSearchCapabilities, identifyCluster } from "../../dashboards/src/applyOpenSearchIndexAssets";
import { FULL_CAPABILITIES, planIndexAssets } from "../../dashboards/src/indexAssets";
import { OpenSearchSink } from "../../collector/src/sink/opensearch";
import { opensearchUrl } from "../support/env";
import { openSearchHttp } from "../support/openSearchHttp";
import { freePort } from "../support/ports";
import { uniqueNamespace } from "../support/esClient";
import { fullDocument, sampleBatch } from "../elasticsearch/sampleDocuments";
import { identifiedDocument } from "../../collector/src/ecs";
import { deadLetterDataStream, flowDataStream } from "../../collector/src/sink/dataStreams";
import type { FlowDocument } from "../../collector/src/model";

const os = openSearchHttp(opensearchUrl());

test("the cluster is identified as OpenSearch, with constant_keyword and without ILM", async () => {
  const identity = await identifyCluster({ node: opensearchUrl() });
  assert.equal(identity.distribution, "opensearch");
  assert.match(identity.version, /^\d+\.\d+\.\d+$/);
  const capabilities = await detectOpenSearchCapabilities({ node: opensearchUrl() });
  assert.equal(capabilities.distribution, "opensearch");
  assert.equal(capabilities.ilm, false);
  assert.equal(capabilities.constantKeyword, true);
  // The 2.x integ-test zip ships transport-netty4 alone; 3.x's carries the ingest modules (test/opensearch/opensearch3.test.ts).
  if (Number(identity.version.split(".")[0]) < 3) assert.deepEqual(capabilities.ingestProcessors, [], "the 2.x integ-test distribution has no ingest-common / ingest-geoip modules");
  else assert.ok(capabilities.ingestProcessors.includes("geoip"), "the 3.x integ-test distribution has ingest-geoip");
});

test("applied for OpenSearch: templates without lifecycle, retention and pipeline left out with reasons; the data streams come from them", async () => {
  const namespace = uniqueNamespace("osassets");
  const applied = await applyOpenSearchIndexAssets({ node: opensearchUrl() }, { namespace });
  assert.deepEqual(applied.requests.map((request) => `${request.kind} ${request.name}`), [
    "component_template azure-flowlogs-mappings",
    "component_template azure-flowlogs-geo-mappings",
    `component_template azure-flowlogs-data-stream-${namespace}`,
    "component_template azure-flowlogs-deadletter-mappings",
    `index_template azure-flowlogs-${namespace}`,
    `index_template azure-flowlogs-deadletter-${namespace}`,
  ]);
  const reasons = Object.fromEntries(applied.skipped.map(({ asset, reason }) => [asset, reason]));
  assert.match(reasons["retention"] ?? "", /OpenSearch has no ILM and no data stream lifecycle: .*ISM policy/);
  assert.match(reasons["ingest pipeline azure-flowlogs-geoip"] ?? "", /geoip: off \(the default: the collector adds geo\/as itself\)/);

  const flowTemplate = (await os.ok("GET", `/_index_template/azure-flowlogs-${namespace}`)).index_templates[0].index_template;
  assert.deepEqual(flowTemplate.index_patterns, [`logs-azure.flowlogs-${namespace}`]);
  assert.deepEqual(flowTemplate.composed_of, ["azure-flowlogs-mappings", "azure-flowlogs-geo-mappings", `azure-flowlogs-data-stream-${namespace}`]);
  assert.ok(flowTemplate.data_stream, "a data stream template");
  assert.equal(flowTemplate.template.lifecycle, undefined);
  assert.equal(flowTemplate.template.settings.index.lifecycle, undefined);
  assert.equal(flowTemplate.template.settings.index.default_pipeline, undefined);

  // Applying again changes nothing and fails nothing (PUT overwrites).
  await applyOpenSearchIndexAssets({ node: opensearchUrl() }, { namespace });

  const sink = new OpenSearchSink({ node: opensearchUrl(), namespace });
  const batch = sampleBatch(3, "osassets");
  assert.deepEqual(await sink.write(batch), { indexed: 3, duplicates: 0, deadLettered: 0, retries: 0 });
  await sink.deadLetter([{ reason: "truncated record", raw: "{\"time\":", position: { container: "c", blob: "b", offset: 0 } }]);
  const streams = (await os.ok("GET", `/_data_stream/${sink.dataStream},${sink.deadLetterDataStream}`)).data_streams;
  assert.deepEqual(streams.map((stream: any) => [stream.name, stream.template, stream.timestamp_field.name]).sort(), [
    [sink.dataStream, `azure-flowlogs-${namespace}`, "@timestamp"],
    [sink.deadLetterDataStream, `azure-flowlogs-deadletter-${namespace}`, "@timestamp"],
  ].sort());
  // The data_stream.* constant_keyword fields answer queries though the collector never sends them.
  assert.equal(await os.count(sink.dataStream, { term: { "data_stream.dataset": "azure.flowlogs" } }), 3);
  assert.equal(await os.count(sink.dataStream, { term: { "data_stream.namespace": namespace } }), 3);
  const mapping = await os.ok("GET", `/${sink.dataStream}/_mapping`);
  const properties = (Object.values(mapping)[0] as any).mappings.properties;
  assert.equal(properties.source.properties.ip.type, "ip");
  assert.equal((Object.values(mapping)[0] as any).mappings.dynamic, "strict");
  // The collector's geo/as fields are mapped here too: a document carrying all of them is indexed, not refused.
  assert.equal(properties.destination.properties.geo.properties.location.type, "geo_point");
  assert.deepEqual(await sink.write([identifiedDocument("enriched-1", fullDocument as FlowDocument)]), { indexed: 1, duplicates: 0, deadLettered: 0, retries: 0 });
  const country = fullDocument.destination.geo.country_iso_code;
  const asNumber = fullDocument.source.as.number;
  assert.equal(await os.count(sink.dataStream, { term: { "destination.geo.country_iso_code": country } }),
    1 + batch.filter(({ doc }) => doc.destination.geo?.country_iso_code === country).length);
  assert.equal(await os.count(sink.dataStream, { term: { "source.as.number": asNumber } }),
    1 + batch.filter(({ doc }) => doc.source.as?.number === asNumber).length);
});

test("the Elasticsearch-only retention refuses to plan for OpenSearch, naming the fix; the plan it replaces is refused by OpenSearch", async () => {
  const capabilities = await detectOpenSearchCapabilities({ node: opensearchUrl() });
  for (const retentionMode of ["lifecycle", "ilm"] as const) {
    assert.throws(() => planIndexAssets({ retentionMode }, capabilities),
      new RegExp(`retentionMode "${retentionMode}" but the cluster is OpenSearch, .*use "auto" or "none" and keep the retention with an ISM policy`));
  }
  assert.match(planIndexAssets({ retentionMode: "none" }, capabilities).skipped.map((s) => s.reason).join(), /retentionMode: none/);
  // What the planner made for a cluster without ILM before it knew OpenSearch: the data stream lifecycle, which
  // OpenSearch refuses outright, so every later template would be missing.
  const elasticsearchStyle = planIndexAssets({ namespace: uniqueNamespace("oslifecycle") }, { ...capabilities, distribution: undefined });
  const template = elasticsearchStyle.requests.find((request) => request.kind === "index_template")!;
  assert.ok((template.body.template as Record<string, unknown>).lifecycle);
  const refused = await os.call("PUT", template.path, template.body);
  assert.equal(refused.status, 400);
  assert.match(JSON.stringify(refused.body), /unknown field \[lifecycle\]/);
});

test("an unreachable cluster is named in the error", async () => {
  const port = await freePort(); // nothing listens there
  await assert.rejects(detectOpenSearchCapabilities({ node: `http://127.0.0.1:${port}` }), new RegExp(`GET / on http://127\\.0\\.0\\.1:${port} failed: ECONNREFUSED`));
});

test("npm run index-assets recognises OpenSearch at ES_URL and says what it left out", async () => {
  const namespace = uniqueNamespace("osscript");
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/index-assets.ts", "--namespace", namespace],
    { cwd: resolve(__dirname, "../.."), env: { ...process.env, ES_URL: opensearchUrl() }, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`put index_template azure-flowlogs-${namespace}`));
  assert.match(result.stdout, /left out retention: OpenSearch has no ILM/);
  assert.equal((await os.ok("GET", `/_index_template/azure-flowlogs-deadletter-${namespace}`)).index_templates.length, 1);
  const refused = spawnSync(process.execPath, ["--import", "tsx", "scripts/index-assets.ts", "--retention-mode", "lifecycle"],
    { cwd: resolve(__dirname, "../.."), env: { ...process.env, ES_URL: opensearchUrl() }, encoding: "utf8" });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /cluster is OpenSearch, which has neither ILM nor the data stream lifecycle/);
});

test("the ISM advice names the data streams the templates make, not their .ds- backing indices (ISM matches a backing index by its data stream's name)", () => {
  const capabilities = { ...FULL_CAPABILITIES, distribution: "opensearch" as const, ilm: false, logsdb: false, implicitLogsdb: false };
  const plan = planIndexAssets({ namespace: "prod" }, capabilities);
  const reason = plan.skipped.find(({ asset }) => asset === "retention")?.reason ?? "";
  const patterns = plan.requests.filter((request) => request.kind === "index_template").flatMap((request) => request.body.index_patterns as string[]);
  assert.deepEqual(patterns, [flowDataStream("prod"), deadLetterDataStream("prod")]);
  assert.ok(reason.includes(`ism_template.index_patterns ["${patterns[0]}", "${patterns[1]}"]`), reason);
  const readme = readFileSync(resolve(__dirname, "../../dashboards/elasticsearch/README.md"), "utf8");
  const ismAdvice = readme.slice(readme.indexOf("**Retention on OpenSearch (ISM)**"), readme.indexOf("**Proven versions**"));
  for (const stream of [flowDataStream("prod"), deadLetterDataStream("prod")].map((name) => name.replace(/prod$/, "<namespace>"))) {
    assert.ok(ismAdvice.includes(`\`${stream}\``), stream);
  }
  assert.doesNotMatch(ismAdvice, /`\.ds-logs-azure/, "no backing-index pattern advised");
});
