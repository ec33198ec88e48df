// ElasticsearchIndexAssets where the test engine lacks the feature (ILM, ingest processors, constant_keyword):
// against the loopback double that enforces Elasticsearch's documented contract.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ALERTS_INDEX_TEMPLATE, planIndexAssets, FULL_CAPABILITIES, streamLifecycleCalls } from "../../dashboards/src/indexAssets";
import { indexAssetsProvider, IndexAssetsInputs, IndexAssetsOutputs } from "../../infra/elastic/elasticsearch/indexAssetsResource";
import { deleteAsset, fingerprint, readAsset } from "../../infra/elastic/elasticsearch/assets";
import { callElasticsearch } from "../../infra/elastic/elasticsearch/client";
import { FakeElasticsearch } from "./support/fakeElasticsearch";

const ADMIN_KEY = Buffer.from("admin-id:admin-secret-key-value").toString("base64");
const p = indexAssetsProvider;

describe("ElasticsearchIndexAssets on a full stack (contract double)", () => {
  let es: FakeElasticsearch;
  let inputs: IndexAssetsInputs;
  before(async () => {
    es = await new FakeElasticsearch({ apiKey: ADMIN_KEY, ilm: true, processors: ["geoip", "rename", "set"] }).start();
    inputs = { connection: { url: es.url, apiKey: ADMIN_KEY }, options: { namespace: "prod", retentionMode: "lifecycle", retention: "14d", geoip: "auto" } };
  });
  after(() => es.stop());

  test("contract: capabilities are detected with GET / (not Serverless), GET _ilm/status and GET _nodes/plugins,ingest; the pipeline and geo mappings are put before the template that uses them, with ApiKey auth", async () => {
    const before = es.requests.length;
    const created = await p.create(inputs);
    const outs = created.outs as IndexAssetsOutputs;
    const calls = es.requests.slice(before);
    assert.deepEqual(calls.slice(0, 3).map((c) => `${c.method} ${c.path}`), ["GET /", "GET /_ilm/status", "GET /_nodes/plugins,ingest"]);
    assert.ok(calls.every((c) => c.headers.authorization === `ApiKey ${ADMIN_KEY}`));
    const puts = calls.filter((c) => c.method === "PUT").map((c) => c.path);
    const plan = planIndexAssets(inputs.options, outs.planned);
    // Then the data streams' own lifecycle (none made yet: both answer 404, which is nothing to change).
    assert.deepEqual(puts, [...plan.requests.map((r) => r.path), ...streamLifecycleCalls(plan).map((c) => c.path)]);
    assert.deepEqual(streamLifecycleCalls(plan).map((c) => c.path), ["/_data_stream/logs-azure.flowlogs-prod/_lifecycle", "/_data_stream/logs-azure.flowlogs.deadletter-prod/_lifecycle"]);
    assert.ok(puts.indexOf("/_ingest/pipeline/azure-flowlogs-geoip") < puts.indexOf("/_index_template/azure-flowlogs-prod"));
    assert.ok(puts.includes("/_component_template/azure-flowlogs-data-stream-prod"), "constant_keyword component on a full stack");
    for (const call of calls.filter((c) => c.method === "PUT" && !c.path.startsWith("/_data_stream/"))) {
      assert.equal(call.headers["content-type"], "application/json");
      assert.deepEqual(JSON.parse(call.body), plan.requests.find((r) => r.path === call.path)!.body, `${call.path}: the plan's body, unchanged`);
    }
    assert.equal(es.indexTemplates.get("azure-flowlogs-prod").template.settings["index.default_pipeline"], "azure-flowlogs-geoip");
    assert.deepEqual(es.indexTemplates.get("azure-flowlogs-prod").template.lifecycle, { data_retention: "14d" });
    assert.equal((await p.diff!(created.id, (await p.read!(created.id, outs)).props!, inputs)).changes, false, "no drift although GET adds dates");
  });

  test("contract: drift in the pipeline is seen by read; switching geoip off removes the pipeline after the template stops using it, and keeps the geo mappings", async () => {
    const created = await p.create(inputs);
    const outs = created.outs as IndexAssetsOutputs;
    es.pipelines.set("azure-flowlogs-geoip", { ...es.pipelines.get("azure-flowlogs-geoip"), processors: [] });
    const drifted = (await p.read!(created.id, outs)).props as IndexAssetsOutputs;
    assert.deepEqual(drifted.assets.filter((a) => a.drift).map((a) => a.name), ["azure-flowlogs-geoip"]);
    assert.deepEqual(drifted.assets.find((a) => a.drift)!.body!.processors, []);
    assert.equal((await p.diff!(created.id, drifted, inputs)).changes, true);
    const off = { ...inputs, options: { ...inputs.options, geoip: "off" as const } };
    assert.deepEqual(await p.diff!(created.id, outs, off), { changes: true, replaces: [], deleteBeforeReplace: false });
    const before = es.requests.length;
    const updated = (await p.update!(created.id, drifted, off)).outs as IndexAssetsOutputs;
    const order = es.requests.slice(before).filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.path}`);
    assert.ok(order.indexOf("PUT /_index_template/azure-flowlogs-prod") < order.indexOf("DELETE /_ingest/pipeline/azure-flowlogs-geoip"), order.join("\n"));
    assert.equal(es.pipelines.has("azure-flowlogs-geoip"), false);
    assert.equal(es.components.has("azure-flowlogs-geo-mappings"), true, "the collector writes geo/as: still mapped");
    assert.equal(updated.assets.some((a) => a.kind === "ingest_pipeline"), false);
    await p.delete!(created.id, updated);
    assert.equal(es.indexTemplates.size + es.components.size, 0);
  });

  test("contract: delete with a data stream in use fails naming it; the pipeline the kept template uses stays too", async () => {
    const created = await p.create(inputs);
    es.dataStreams.set("logs-azure.flowlogs-prod", "azure-flowlogs-prod");
    try {
      await assert.rejects(p.delete!(created.id, created.outs!), /index_template azure-flowlogs-prod is kept: unable to remove composable templates \[azure-flowlogs-prod\] as they are in use by a data streams \[logs-azure\.flowlogs-prod\]/);
      assert.ok(es.pipelines.has("azure-flowlogs-geoip") && es.components.has("azure-flowlogs-mappings"));
      assert.equal(es.indexTemplates.has("azure-flowlogs-deadletter-prod"), false);
    } finally {
      es.dataStreams.clear();
    }
    await p.delete!(created.id, created.outs!);
    assert.equal(es.pipelines.size + es.indexTemplates.size + es.components.size, 0);
  });

  test("contract: the shared alerts template stays while another namespace's stack is on the cluster; the last destroy removes it", async () => {
    const prod = await p.create(inputs);
    const dev = await p.create({ ...inputs, options: { ...inputs.options, namespace: "dev" } });
    await p.delete!(dev.id, dev.outs!);
    assert.deepEqual([...es.indexTemplates.keys()].sort(), ["azure-flowlogs-deadletter-prod", "azure-flowlogs-prod", ALERTS_INDEX_TEMPLATE]);
    await p.delete!(prod.id, prod.outs!);
    assert.equal(es.indexTemplates.size + es.components.size + es.pipelines.size, 0, "the last namespace removes the alerts template too");
  });

  test("contract: ILM read-back ignores the version and date Elasticsearch bumps on each PUT, sees a changed policy, and a policy in use is not deleted", async () => {
    // The documented body shape: `_meta` inside `policy`.
    const body = { policy: { _meta: { managed_by: "flowlogs-to-elastic" }, phases: { hot: { actions: { rollover: { max_age: "1d" } } }, delete: { min_age: "30d", actions: { delete: {} } } } } };
    const connection = inputs.connection;
    await callElasticsearch(connection, { method: "PUT", path: "/_ilm/policy/azure-flowlogs-ilm", json: body });
    const first = await readAsset(connection, "ilm_policy", "azure-flowlogs-ilm", "/_ilm/policy/azure-flowlogs-ilm");
    await callElasticsearch(connection, { method: "PUT", path: "/_ilm/policy/azure-flowlogs-ilm", json: body });
    assert.equal(es.policies.get("azure-flowlogs-ilm")!.version, 2);
    const second = await readAsset(connection, "ilm_policy", "azure-flowlogs-ilm", "/_ilm/policy/azure-flowlogs-ilm");
    assert.equal(fingerprint(second!), fingerprint(first!));
    es.policies.get("azure-flowlogs-ilm")!.policy.phases.delete.min_age = "90d";
    const changed = await readAsset(connection, "ilm_policy", "azure-flowlogs-ilm", "/_ilm/policy/azure-flowlogs-ilm");
    assert.notEqual(fingerprint(changed!), fingerprint(first!));
    es.indexTemplates.set("uses-ilm", { index_patterns: ["x"], template: { settings: { "index.lifecycle.name": "azure-flowlogs-ilm" } } });
    es.dataStreams.set("x", "uses-ilm");
    const refused = await deleteAsset(connection, "/_ilm/policy/azure-flowlogs-ilm");
    assert.equal(refused.deleted, false);
    es.dataStreams.clear();
    es.indexTemplates.delete("uses-ilm");
    assert.deepEqual(await deleteAsset(connection, "/_ilm/policy/azure-flowlogs-ilm"), { deleted: true });
    assert.deepEqual(await deleteAsset(connection, "/_ilm/policy/azure-flowlogs-ilm"), { deleted: true }, "404 is gone");
    assert.equal(await readAsset(connection, "ilm_policy", "azure-flowlogs-ilm", "/_ilm/policy/azure-flowlogs-ilm"), undefined);
  });

  test("contract: the planned ILM policy as dashboards/ has it now (retentionMode ilm); a refused asset fails the create naming it and rolls back what was put", async () => {
    const ilmInputs = { ...inputs, options: { namespace: "ilmns", retentionMode: "ilm" as const } };
    const planned = planIndexAssets(ilmInputs.options, FULL_CAPABILITIES).requests.find((r) => r.kind === "ilm_policy")!;
    const topLevel = Object.keys(planned.body).filter((k) => k !== "policy");
    if (topLevel.length === 0) {
      // The asset has the documented shape: the whole ILM set goes in and comes out again.
      const created = await p.create(ilmInputs);
      assert.ok(es.policies.has("azure-flowlogs-ilmns"));
      assert.equal(es.indexTemplates.get("azure-flowlogs-ilmns").template.settings["index.lifecycle.name"], "azure-flowlogs-ilmns");
      await p.delete!(created.id, created.outs!);
      assert.equal(es.policies.has("azure-flowlogs-ilmns"), false);
    } else {
      // Elasticsearch's put_lifecycle_request parser accepts only `policy` at the top (`_meta` belongs inside it).
      await assert.rejects(p.create(ilmInputs), new RegExp(`could not put ilm_policy azure-flowlogs-ilmns \\(the \\d+ asset\\(s\\) put before it were removed again\\): .*unknown field \\[${topLevel[0]}\\]`));
      assert.equal(es.policies.size + es.indexTemplates.size + es.pipelines.size, 0, "nothing left behind");
    }
  });

  test("contract: a changed retention reaches the data stream already made (its lifecycle is its own once made); none removes it; ILM leaves it", async () => {
    const options = { namespace: "life", retentionMode: "lifecycle" as const, retention: "30d" };
    const created = await p.create({ ...inputs, options });
    es.makeDataStream("logs-azure.flowlogs-life", "azure-flowlogs-life");
    assert.deepEqual(es.streamLifecycles.get("logs-azure.flowlogs-life"), { data_retention: "30d" });
    const shorter = (await p.update!(created.id, created.outs as IndexAssetsOutputs, { ...inputs, options: { ...options, retention: "7d" } })).outs as IndexAssetsOutputs;
    assert.deepEqual(es.indexTemplates.get("azure-flowlogs-life").template.lifecycle, { data_retention: "7d" });
    assert.deepEqual(es.streamLifecycles.get("logs-azure.flowlogs-life"), { data_retention: "7d" }, "the stream deletes after the new retention");
    const ilm = (await p.update!(created.id, shorter, { ...inputs, options: { ...options, retentionMode: "ilm" } })).outs as IndexAssetsOutputs;
    assert.deepEqual(es.streamLifecycles.get("logs-azure.flowlogs-life"), { data_retention: "7d" }, "ILM: the backing indices made before keep their lifecycle");
    const kept = (await p.update!(created.id, ilm, { ...inputs, options: { ...options, retentionMode: "none" } })).outs as IndexAssetsOutputs;
    assert.equal(es.streamLifecycles.has("logs-azure.flowlogs-life"), false, "none: kept until deleted by hand");
    await p.delete!(created.id, { ...kept, keepTemplatesWithData: true });
  });

  test("check names bad options and connections", async () => {
    const reasons = async (news: Partial<IndexAssetsInputs>) =>
      (await p.check!({} as IndexAssetsInputs, { ...inputs, ...news } as IndexAssetsInputs)).failures!.map((f) => `${f.property}: ${f.reason}`).join("\n");
    assert.equal(await reasons({}), "");
    assert.match(await reasons({ options: { namespace: "Prod-1" } }), /options: invalid data stream namespace "Prod-1"/);
    assert.match(await reasons({ options: { retention: "30 days" } }), /options: invalid retention "30 days"/);
    assert.match(await reasons({ options: { colour: "red" } as never }), /options.colour: is not an index-asset option/);
    assert.match(await reasons({ options: { geoip: "maybe" } as never }), /options.geoip: "maybe" is not one of auto, off, required/);
    assert.match(await reasons({ connection: { url: "http://es.example.com:9200", apiKey: ADMIN_KEY } }), /plain http: use https/);
    assert.match(await reasons({ connection: { url: "https://u:p@es.example.com", apiKey: ADMIN_KEY } }), /carries credentials/);
    assert.match(await reasons({ connection: { url: "https://es.example.com" } }), /exactly one way to authenticate/);
    assert.match(await reasons({ capabilities: { ilm: "yes" } as never }), /capabilities must be/);
  });
});
