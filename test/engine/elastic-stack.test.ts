// The Elastic side under the REAL Pulumi engine, against a real Elasticsearch with security on: the program's
// own config reading (readElasticConfig, flowlogsElasticArgs) and its FlowlogsElastic component, deployed, checked
// for no changes, updated, drifted, refreshed, repaired and destroyed by the Pulumi CLI, with the dynamic providers
// run by the engine's own provider host from the code serialized into the state.
// What is NOT real here, and why: Kibana (no Kibana can run on these machines: the Kibana double of
// test/kibana/support/fakeKibana.ts answers), and the writer API key (Elasticsearch's test distribution cannot mint
// API keys: its .security index needs the absent analysis-common module), so the key is minted by the contract
// double of test/elasticsearch-resources/support/fakeElasticsearch.ts. The index assets are real, and so is the
// password: this file starts its own Elasticsearch with security on and a file-realm user, so the secret the
// engine decrypts must authenticate for real (and no other test file's namespace shares its templates).
// One stack per process (Node caches modules; the engine's state is per stack).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { ConfigMap } from "@pulumi/pulumi/automation";
import { FlowlogsElastic, flowlogsElasticArgs, readElasticConfig } from "../../infra/elastic";
import { startElasticsearch, type RunningElasticsearch } from "../support/elasticsearch";
import { pulumiCli } from "../support/env";
import { FakeElasticsearch } from "../elasticsearch-resources/support/fakeElasticsearch";
import { FakeKibana } from "../kibana/support/fakeKibana";
import { engineStack, type EngineStack } from "./support/engineStack";

const PROJECT = "flowlogs-to-elastic";
const USER = { username: "flowlogs_deployer", password: `es-password-${randomBytes(9).toString("hex")}` };
const KIBANA_API_KEY = Buffer.from(`kibana-key-id:kibana-secret-${randomBytes(9).toString("hex")}`).toString("base64");
const NAMESPACE = `engine${randomBytes(4).toString("hex")}`;
const FLOW_TEMPLATE = `/_index_template/azure-flowlogs-${NAMESPACE}`;
const TIMEOUT = 180_000;

let elasticsearch: RunningElasticsearch | undefined;

async function es(method: string, path: string, body?: unknown, password = USER.password): Promise<{ status: number; body: any }> {
  const response = await fetch(`${elasticsearch!.url}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${USER.username}:${password}`).toString("base64")}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function flowTemplateRetention(): Promise<string | undefined> {
  const { status, body } = await es("GET", FLOW_TEMPLATE);
  assert.equal(status, 200, `${FLOW_TEMPLATE} should exist`);
  return body.index_templates[0].index_template.template?.lifecycle?.data_retention;
}

describe("the Elastic side on the real Pulumi engine: real Elasticsearch; Kibana and API keys by their contract doubles", { timeout: TIMEOUT * 2 }, () => {
  let engine: EngineStack;
  let kibana: FakeKibana;
  let keys: FakeElasticsearch;
  let destroyed = false;

  before(async () => {
    pulumiCli(); // fails first, and clearly, outside `npm test`
    elasticsearch = await startElasticsearch({
      security: { users: [{ ...USER, roles: ["superuser"] }] },
      log: (line) => console.log(`secured elasticsearch: ${line}`),
    });
    kibana = await new FakeKibana({ apiKey: KIBANA_API_KEY }).start();
    keys = await new FakeElasticsearch({ basic: USER }).start();
    const keysUrl = keys.url;
    engine = await engineStack({
      projectName: PROJECT,
      stackName: "elastic",
      // The program's own config path, as infra/index.ts takes it; only the key minting goes elsewhere (see top).
      program: async () => {
        const config = new pulumi.Config();
        const problems: string[] = [];
        const settings = readElasticConfig(config.requireObject("elasticsearch"), config.getObject("kibana"), (key, text) => problems.push(`${key}: ${text}`));
        if (!settings || problems.length) throw new Error(`config problems:\n${problems.join("\n")}`);
        const password = config.requireSecret("elasticsearchPassword");
        const args = flowlogsElasticArgs(settings, {
          username: config.require("elasticsearchUsername"),
          password,
          kibana: { apiKey: config.requireSecret("kibanaApiKey") },
        });
        const elastic = new FlowlogsElastic("elastic", {
          ...args,
          writerConnection: pulumi.secret(pulumi.output({ url: keysUrl, username: USER.username, password })),
        });
        return { writerApiKey: elastic.writerApiKey, writerKeyId: elastic.writerKeyId, dataStream: elastic.dataStream, dashboardUrl: elastic.dashboardUrl };
      },
    });
    const config: ConfigMap = {
      "elasticsearch.url": { value: elasticsearch.url },
      "elasticsearch.namespace": { value: NAMESPACE },
      "elasticsearch.retention": { value: "7d" },
      "kibana.url": { value: kibana.url },
      elasticsearchUsername: { value: USER.username },
      elasticsearchPassword: { value: USER.password, secret: true },
      kibanaApiKey: { value: KIBANA_API_KEY, secret: true },
    };
    await engine.stack.setAllConfig(config, true);
  });

  /** The index assets as the engine's state records them (what the provider put, and any drift a refresh saw). */
  async function stateAssets(): Promise<Array<{ kind: string; path: string; body: unknown; drift?: string }>> {
    const state = await engine.stack.exportStack();
    const resource = state.deployment.resources.find((r: any) => r.type.endsWith(":elasticsearch:IndexAssets"));
    assert.ok(resource, "the state holds the index assets");
    return resource.outputs.assets;
  }

  after(async () => {
    // A failed step leaves resources: take them down so the shared Elasticsearch stays clean for other files.
    if (engine && !destroyed) await engine.stack.destroy({ signal: engine.signal }).catch(() => undefined);
    await engine?.close();
    await kibana?.stop();
    await keys?.stop();
    await elasticsearch?.stop();
  });

  test("up creates the index assets in Elasticsearch, the Kibana objects and the writer key", { timeout: TIMEOUT }, async () => {
    assert.equal((await es("GET", "/", undefined, "not-the-password")).status, 401, "this Elasticsearch checks passwords");
    const result = await engine.stack.up({ signal: engine.signal });
    assert.equal(result.summary.result, "succeeded");
    assert.equal(await flowTemplateRetention(), "7d");
    const assets = await stateAssets();
    assert.ok(assets.some((a) => a.path === `/_index_template/azure-flowlogs-deadletter-${NAMESPACE}`));
    for (const asset of assets) assert.equal((await es("GET", asset.path)).status, 200, `${asset.path} is in Elasticsearch`);
    const space = kibana.spaces.get("default")!;
    assert.ok(space.objects.size > 0, "saved objects imported");
    assert.equal(space.connectors.size, 1);
    assert.equal(space.rules.size, 2, "denied-flows and brute-force .es-query rules");
    // The stack's namespace is in every rule_id, and its data view reads that namespace only.
    assert.deepEqual([...space.detectionRules.keys()].sort(), ["flowlogs-host-sweep", "flowlogs-new-destination-asn", "flowlogs-new-destination-country", "flowlogs-port-scan"].map((id) => `${id}-${NAMESPACE}`));
    assert.equal(space.objects.get(`index-pattern/flowlogs-data-view-${NAMESPACE}`)?.attributes.title, `logs-azure.flowlogs-${NAMESPACE}`);
    assert.equal(result.outputs.dashboardUrl!.value, `${kibana.url}/app/dashboards#/view/flowlogs-overview-${NAMESPACE}`);
    const [key] = [...keys.keys.values()];
    assert.ok(key && !key.invalidated);
    assert.equal(result.outputs.writerKeyId!.value, key.id);
    assert.equal(result.outputs.writerApiKey!.secret, true);
    assert.equal(result.outputs.writerApiKey!.value, Buffer.from(`${key.id}:${key.apiKey}`).toString("base64"));
    assert.equal(result.outputs.dataStream!.value, `logs-azure.flowlogs-${NAMESPACE}`);
  });

  test("preview --expect-no-changes right after up", { timeout: TIMEOUT }, async () => {
    const preview = await engine.stack.preview({ expectNoChanges: true, signal: engine.signal });
    assert.deepEqual(Object.keys(preview.changeSummary).filter((op) => op !== "same"), []);
  });

  test("a config change is an update in place: the retention Elasticsearch holds follows it", { timeout: TIMEOUT }, async () => {
    await engine.stack.setConfig("elasticsearch.retention", { value: "14d" }, true);
    const result = await engine.stack.up({ signal: engine.signal });
    assert.equal(result.summary.result, "succeeded");
    const { same: _same, ...changes } = result.summary.resourceChanges ?? {};
    assert.deepEqual(changes, { update: 1 }, "only the index assets change");
    assert.equal(await flowTemplateRetention(), "14d");
    assert.equal([...keys.keys.values()].length, 1, "the writer key is not re-minted for a retention change");
  });

  test("drift made in Elasticsearch: refresh shows it, up repairs it", { timeout: TIMEOUT }, async () => {
    // The body the provider put, with another retention: a change someone makes in Kibana or with curl.
    const template = structuredClone((await stateAssets()).find((a) => a.path === FLOW_TEMPLATE)!.body) as any;
    template.template.lifecycle.data_retention = "1d";
    const put = await es("PUT", FLOW_TEMPLATE, template);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(await flowTemplateRetention(), "1d");

    const refresh = await engine.stack.refresh({ signal: engine.signal });
    assert.equal(refresh.summary.result, "succeeded");
    assert.equal(refresh.summary.resourceChanges?.update, 1, `refresh should see one drifted resource: ${JSON.stringify(refresh.summary.resourceChanges)}`);
    const drifted = (await stateAssets()).filter((a: any) => a.drift).map((a: any) => `${a.path} ${a.drift}`);
    assert.deepEqual(drifted, [`${FLOW_TEMPLATE} changed outside Pulumi`]);

    const repair = await engine.stack.up({ signal: engine.signal });
    assert.equal(repair.summary.resourceChanges?.update, 1);
    assert.equal(await flowTemplateRetention(), "14d");
    await engine.stack.preview({ expectNoChanges: true, signal: engine.signal });
  });

  test("the state file holds every secret only encrypted: passwords, the Kibana key, the writer key", { timeout: TIMEOUT }, async () => {
    const raw = readFileSync(engine.stateFile(), "utf8");
    const [key] = [...keys.keys.values()];
    const secrets = {
      "elasticsearch password": USER.password,
      "Kibana API key": KIBANA_API_KEY,
      "writer key (encoded)": Buffer.from(`${key!.id}:${key!.apiKey}`).toString("base64"),
      "writer key (secret part)": key!.apiKey,
      "basic auth header": Buffer.from(`${USER.username}:${USER.password}`).toString("base64"),
    };
    for (const [what, value] of Object.entries(secrets)) assert.ok(!raw.includes(value), `the state file holds the ${what} in plain text`);
    const ciphertexts = raw.match(/"ciphertext":/g) ?? [];
    assert.ok(ciphertexts.length >= 5, `expected encrypted values in the state, found ${ciphertexts.length}`);
    // ...and they are there, decryptable by the stack's passphrase: the engine gives them back.
    const outputs = await engine.stack.outputs();
    assert.equal(outputs.writerApiKey!.value, secrets["writer key (encoded)"]);
  });

  test("destroy leaves nothing behind in Elasticsearch, in the Kibana double, and invalidates the writer key", { timeout: TIMEOUT }, async () => {
    const assets = await stateAssets();
    const result = await engine.stack.destroy({ signal: engine.signal });
    destroyed = true;
    assert.equal(result.summary.result, "succeeded");
    assert.ok(assets.some((a) => a.path === FLOW_TEMPLATE));
    for (const asset of assets) assert.equal((await es("GET", asset.path)).status, 404, `${asset.path} is still in Elasticsearch`);
    // Nothing of this project's is left at all (this Elasticsearch serves only this file).
    const left = [
      ...(await es("GET", "/_index_template")).body.index_templates.map((t: any) => t.name),
      ...(await es("GET", "/_component_template")).body.component_templates.map((t: any) => t.name),
    ].filter((name: string) => name.startsWith("azure-flowlogs"));
    assert.deepEqual(left, []);
    const space = kibana.spaces.get("default")!;
    assert.deepEqual([space.objects.size, space.connectors.size, space.rules.size], [0, 0, 0]);
    assert.ok([...keys.keys.values()].every((k) => k.invalidated), "the writer key is invalidated");
    const after = await engine.stack.exportStack();
    assert.equal((after.deployment.resources ?? []).length, 0);
  });
});
