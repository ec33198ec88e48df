// The plan for Elastic Cloud Serverless (capabilities.serverless): the full-stack plan minus the settings Serverless
// refuses, retention by the data stream lifecycle, and nothing else changed. Pure: no cluster. What Serverless itself
// says to these bodies is in test/elasticsearch-resources/serverlessContract.test.ts, and the real engine takes them
// in test/elasticsearch/serverlessTemplates.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FULL_CAPABILITIES, planIndexAssets, SERVERLESS_CAPABILITIES, type ClusterCapabilities, type IndexAssetRequest } from "../../dashboards/src/indexAssets";
import { isServerlessPublic, serverlessSettings } from "../../dashboards/src/serverlessSettings";

/** The request with `index.number_of_shards` taken out of its template settings by hand (nested, as the files have it). */
function withoutShards(request: IndexAssetRequest): IndexAssetRequest {
  const body = structuredClone(request.body) as any;
  const index = body.template?.settings?.index;
  if (index?.number_of_shards === undefined) return request;
  delete index.number_of_shards;
  if (Object.keys(index).length === 0) delete body.template.settings.index;
  if (Object.keys(body.template.settings).length === 0) delete body.template.settings;
  return { ...request, body };
}

/** On Serverless the dead letters' mode is not stated (every logs-*-* stream is logsdb there). */
function withoutStatedDeadLetterMode(request: IndexAssetRequest): IndexAssetRequest {
  if (request.name !== "azure-flowlogs-deadletter-prod") return request;
  const body = structuredClone(request.body) as any;
  delete body.template.settings["index.mode"];
  if (Object.keys(body.template.settings).length === 0) delete body.template.settings;
  return { ...request, body };
}

test("the Serverless plan is the full-stack lifecycle plan with index.number_of_shards and the dead letters' stated mode left out, request for request", () => {
  for (const options of [{ namespace: "prod" }, { namespace: "prod", geoip: "auto" as const }, { namespace: "prod", indexMode: "standard" as const }]) {
    const serverless = planIndexAssets(options, SERVERLESS_CAPABILITIES);
    const stateful = planIndexAssets({ ...options, retentionMode: "lifecycle" }, FULL_CAPABILITIES);
    assert.deepEqual(serverless.requests, stateful.requests.map(withoutShards).map(withoutStatedDeadLetterMode), JSON.stringify(options));
    assert.equal(serverless.indexMode.mode, stateful.indexMode.mode);
    assert.equal(serverless.deadLetterIndexMode.mode, "logsdb");
    const templates = serverless.requests.filter((r) => r.kind === "index_template");
    assert.deepEqual(templates.map((t) => t.name), ["azure-flowlogs-prod", "azure-flowlogs-deadletter-prod", "flowlogs-alerts"]);
    for (const template of templates) assert.equal(JSON.stringify(template.body).includes("number_of_shards"), false, template.name);
  }
});

test("the Serverless plan keeps its retention in the data stream lifecycle and says what it left out and why", () => {
  const plan = planIndexAssets({ namespace: "prod", retention: "14d" }, SERVERLESS_CAPABILITIES);
  assert.equal(plan.requests.some((r) => r.kind === "ilm_policy"), false);
  for (const name of ["azure-flowlogs-prod", "azure-flowlogs-deadletter-prod"]) {
    const template = plan.requests.find((r) => r.name === name)!.body.template as Record<string, unknown>;
    assert.deepEqual(template.lifecycle, { data_retention: "14d" }, name);
    assert.equal(JSON.stringify(template).includes("index.lifecycle.name"), false, name);
  }
  const skipped = Object.fromEntries(plan.skipped.map((s) => [s.asset, s.reason]));
  assert.match(skipped["ILM policy"]!, /^Elastic Cloud Serverless has no ILM: the data stream lifecycle keeps the retention/);
  assert.match(skipped["index.number_of_shards in azure-flowlogs-prod, azure-flowlogs-deadletter-prod, flowlogs-alerts"]!, /Serverless refuses it/);
  // The alerts template had nothing but the shard count in its settings: it keeps its mappings and loses `settings`.
  const alerts = plan.requests.find((r) => r.name === "flowlogs-alerts")!.body.template as Record<string, unknown>;
  assert.deepEqual(Object.keys(alerts), ["mappings"]);
});

test("on Serverless retentionMode ilm is refused naming Serverless; lifecycle and none work as elsewhere", () => {
  assert.throws(() => planIndexAssets({ retentionMode: "ilm" }, SERVERLESS_CAPABILITIES),
    /retentionMode "ilm" but the cluster is Elastic Cloud Serverless, which has no ILM: use "lifecycle" or "auto"/);
  const none = planIndexAssets({ retentionMode: "none" }, SERVERLESS_CAPABILITIES);
  assert.ok(none.requests.every((r) => (r.body.template as any)?.lifecycle === undefined));
});

test("every other cluster's plan is unchanged: serverless false or absent plans the same bytes", () => {
  const clusters: ClusterCapabilities[] = [
    FULL_CAPABILITIES,
    { ilm: false, constantKeyword: false, ingestProcessors: [] },
    { ilm: true, constantKeyword: true, ingestProcessors: [], logsdb: false, implicitLogsdb: true },
    { distribution: "opensearch", ilm: false, constantKeyword: true, ingestProcessors: ["geoip", "rename"], logsdb: false, implicitLogsdb: false },
  ];
  for (const capabilities of clusters) {
    const absent = planIndexAssets({ namespace: "prod", geoip: "auto" }, capabilities);
    assert.equal(JSON.stringify(planIndexAssets({ namespace: "prod", geoip: "auto" }, { ...capabilities, serverless: false })), JSON.stringify(absent));
    assert.ok(absent.requests.filter((r) => r.kind === "index_template").every((r) => JSON.stringify(r.body).includes("number_of_shards")));
  }
});

test("the settings filter reads nested and dotted keys as Elasticsearch normalises them, and drops emptied objects", () => {
  const { settings, dropped } = serverlessSettings({
    index: { number_of_shards: 1, mode: "logsdb", sort: { field: ["a"], order: ["asc"] }, routing: { allocation: { include: { _tier: "x" } } } },
    "index.default_pipeline": "p", number_of_replicas: 2, "analysis.analyzer.a.type": "standard",
  });
  assert.deepEqual(settings, { index: { mode: "logsdb", sort: { field: ["a"], order: ["asc"] } }, "index.default_pipeline": "p", "analysis.analyzer.a.type": "standard" });
  assert.deepEqual(dropped.sort(), ["index.number_of_replicas", "index.number_of_shards", "index.routing.allocation.include._tier"]);
  assert.equal(isServerlessPublic("index.mapping.ignore_malformed"), true);
  assert.equal(isServerlessPublic("index.lifecycle.name"), false, "ILM's setting: Serverless has no ILM");
});
