// Elastic Cloud Serverless, as a contract: no Serverless runs here, so the loopback double plays it, held to the rules
// Elastic publishes (support/serverlessRules.ts cites each one): GET / says build_flavor serverless, ILM has no
// handler, _nodes is internal (410), templates with settings Serverless does not publish are refused (400), and only
// API keys authenticate. The plan made before Serverless was a capability is refused there; the Serverless plan goes in.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@elastic/elasticsearch";
import { detectCapabilities } from "../../dashboards/src/applyIndexAssets";
import { planIndexAssets, SERVERLESS_CAPABILITIES, type ClusterCapabilities } from "../../dashboards/src/indexAssets";
import { indexAssetsProvider, type IndexAssetsInputs, type IndexAssetsOutputs } from "../../infra/elastic/elasticsearch/indexAssetsResource";
import { callElasticsearch, capabilityClient } from "../../infra/elastic/elasticsearch/client";
import { writerApiKeyProvider, writerRoleDescriptors, type WriterApiKeyInputs } from "../../infra/elastic/elasticsearch/writerApiKeyResource";
import { HOLDS_ALL, writerKeyCheckProvider, type WriterKeyCheckInputs } from "../../infra/elastic/elasticsearch/writerKeyCheckResource";
import { FakeElasticsearch } from "./support/fakeElasticsearch";
import { refusedSettings } from "./support/serverlessRules";

const ADMIN_KEY = Buffer.from("admin-id:admin-secret-key-value").toString("base64");
const p = indexAssetsProvider;

/** What detection answered on this double before Serverless was a capability: ILM 400 → none, _nodes 410 → defaults. */
const DETECTED_BEFORE: ClusterCapabilities = { ilm: false, constantKeyword: true, ingestProcessors: ["geoip", "rename"], logsdb: true, implicitLogsdb: true };

describe("Elastic Cloud Serverless (contract double)", () => {
  let es: FakeElasticsearch;
  let connection: IndexAssetsInputs["connection"];
  before(async () => {
    es = await new FakeElasticsearch({ apiKey: ADMIN_KEY, serverless: true }).start();
    connection = { url: es.url, apiKey: ADMIN_KEY };
  });
  after(() => es.stop());
  const call = (method: "GET" | "PUT" | "POST", path: string, json?: unknown) =>
    callElasticsearch(connection, { method, path, json, accept: [400, 401, 410] });

  test("contract: the double answers as Serverless documents it: flavor, ILM, _nodes, a refused setting, no users", async () => {
    assert.equal((await call("GET", "/")).body.version.build_flavor, "serverless");
    assert.deepEqual(await call("GET", "/_ilm/status"), { status: 400, body: { error: "no handler found for uri [/_ilm/status] and method [GET]" } });
    const nodes = await call("GET", "/_nodes/plugins,ingest");
    assert.equal(nodes.status, 410);
    assert.equal(nodes.body.error.type, "api_not_available_exception");
    const shards = await call("PUT", "/_component_template/c1", { template: { settings: { index: { number_of_shards: 1, mode: "logsdb" } } } });
    assert.equal(shards.status, 400);
    assert.equal(shards.body.error.type, "illegal_argument_exception");
    assert.equal(shards.body.error.reason, "Settings [index.number_of_shards] are not available when running in serverless mode");
    assert.equal((await call("PUT", "/_component_template/c1", { template: { settings: { index: { mode: "logsdb" } } } })).status, 200);
    es.components.delete("c1");
    const basic = await callElasticsearch({ url: es.url, username: "elastic", password: "changeme" }, { method: "GET", path: "/", accept: [401] });
    assert.equal(basic.status, 401, "Serverless projects authenticate API keys, not native users");
  });

  test("contract: detection asks GET / alone, through the resource's HTTP and the official client, and gets Serverless", async () => {
    for (const client of [capabilityClient(connection), new Client({ node: es.url, auth: { apiKey: ADMIN_KEY } })]) {
      const before = es.requests.length;
      assert.deepEqual(await detectCapabilities(client), SERVERLESS_CAPABILITIES);
      assert.deepEqual(es.requests.slice(before).map((r) => `${r.method} ${r.path}`), ["GET /"], "nothing Serverless does not serve");
    }
  });

  test("contract: where GET / is refused (no monitor privilege), the 410 of _nodes still gives Serverless away", async () => {
    const hidden = await new FakeElasticsearch({ apiKey: ADMIN_KEY, serverless: true, rootForbidden: true }).start();
    try {
      assert.deepEqual(await detectCapabilities(capabilityClient({ url: hidden.url, apiKey: ADMIN_KEY })), SERVERLESS_CAPABILITIES);
    } finally {
      await hidden.stop();
    }
  });

  test("contract: the plan made before Serverless support is refused there on its first template, and the create leaves nothing", async () => {
    const inputs: IndexAssetsInputs = { connection, options: { namespace: "old" }, capabilities: DETECTED_BEFORE };
    await assert.rejects(p.create(inputs),
      /could not put index_template azure-flowlogs-old \(the \d+ asset\(s\) put before it were removed again\): .*illegal_argument_exception: Settings \[index\.number_of_shards\] are not available when running in serverless mode/);
    assert.equal(es.indexTemplates.size + es.components.size + es.pipelines.size, 0);
  });

  test("contract: the detected Serverless plan goes in whole: lifecycle retention, no ILM, no drift, no change, clean delete", async () => {
    const inputs: IndexAssetsInputs = { connection, options: { namespace: "prod", retention: "14d" } };
    const before = es.requests.length;
    const created = await p.create(inputs);
    const outs = created.outs as IndexAssetsOutputs;
    assert.deepEqual(outs.planned, SERVERLESS_CAPABILITIES);
    const paths = es.requests.slice(before).map((r) => r.path);
    assert.equal(paths.some((path) => path.startsWith("/_ilm") || path.startsWith("/_nodes")), false, paths.join("\n"));
    assert.deepEqual(outs.assets.map((a) => a.path), planIndexAssets(inputs.options, SERVERLESS_CAPABILITIES).requests.map((r) => r.path));
    assert.deepEqual(es.indexTemplates.get("azure-flowlogs-prod").template.lifecycle, { data_retention: "14d" });
    assert.equal(es.indexTemplates.get("azure-flowlogs-prod").template.settings, undefined, "the shard count was its only setting");
    assert.equal(es.indexTemplates.get("azure-flowlogs-deadletter-prod").template.settings, undefined, "no stated mode: Serverless makes it logsdb");
    assert.equal(es.components.get("azure-flowlogs-logsdb-settings").template.settings.index.mode, "logsdb");
    const read = (await p.read!(created.id, outs)).props as IndexAssetsOutputs;
    assert.ok(read.assets.every((a) => a.drift === undefined));
    assert.equal((await p.diff!(created.id, read, inputs)).changes, false);
    await p.delete!(created.id, read);
    assert.equal(es.indexTemplates.size + es.components.size + es.pipelines.size, 0);
  });

  test("contract: every option's Serverless plan passes Serverless's settings rule, template by template", () => {
    const variants = [{}, { geoip: "auto" as const }, { indexMode: "standard" as const }, { indexMode: "logsdb" as const }, { retentionMode: "none" as const }];
    for (const options of variants) {
      for (const request of planIndexAssets(options, SERVERLESS_CAPABILITIES).requests) {
        assert.equal(refusedSettings((request.body.template as any)?.settings), undefined, `${JSON.stringify(options)} ${request.name}`);
      }
    }
  });

  test("contract: the stack cannot mint the writer key there: an API key's key may not carry privileges, and there are no users", async () => {
    const news: WriterApiKeyInputs = { connection, name: "flowlogs-collector-prod", namespace: "prod" };
    const { failures } = await writerApiKeyProvider.check!({} as WriterApiKeyInputs, news);
    assert.match(failures!.map((f) => f.reason).join("\n"), /must be minted with user credentials/);
    // What Elasticsearch itself answers if it were tried (TransportCreateApiKeyAction: a derived key gets no privileges).
    const refused = await call("POST", "/_security/api_key", { name: "w", role_descriptors: writerRoleDescriptors("prod") });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.reason, /creating derived api keys requires an explicit role descriptor that is empty/);
  });

  test("contract: a writer key made there by hand passes the stack's check (writerKey.external); one without create_doc is refused, naming it", async () => {
    // Keys made in the project's UI with a role: the double holds them as it holds the keys it mints.
    const given = (id: string, roleDescriptors: unknown) => {
      es.keys.set(id, { id, name: id, apiKey: `${id}-secret`, roleDescriptors, metadata: {}, invalidated: false, creation: Date.now(), username: "ui" });
      return { url: es.url, apiKey: Buffer.from(`${id}:${id}-secret`).toString("base64") };
    };
    const check = (connection: WriterKeyCheckInputs["connection"]) => writerKeyCheckProvider.check!({} as WriterKeyCheckInputs, { connection, namespace: "prod" });
    const writer = await check(given("writer", writerRoleDescriptors("prod")));
    assert.deepEqual(writer.failures, []);
    assert.equal(writer.inputs?.verdict, HOLDS_ALL);
    const readOnly = writerRoleDescriptors("prod") as Record<string, any>;
    for (const role of Object.values(readOnly)) for (const entry of role.indices) entry.privileges = entry.privileges.filter((p: string) => p !== "create_doc");
    const lacking = await check(given("read-only", readOnly));
    assert.match(lacking.failures!.map((f) => f.reason).join("\n"), /lacks privileges the collector needs: create_doc on logs-azure\.flowlogs-prod/);
    // The rule that makes the first a finding: Serverless refuses a privilege it does not have (ILM's, here).
    const unknown = await call("POST", "/_security/user/_has_privileges", { cluster: ["manage_ilm"], index: [] });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.type, "illegal_argument_exception");
  });
});
