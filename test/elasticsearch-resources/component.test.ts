// FlowlogsElastic as a Pulumi program sees it (runtime mocks): which resources, that credentials travel only as
// secrets, and that the writer key comes out secret.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
// The module declares nothing when imported, so a static import before setMocks is safe.
import { FlowlogsElastic } from "../../infra/elastic";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const ES_PASSWORD = "es-admin-very-secret-password";
const ES_API_KEY = "ZXMtYWRtaW46dmVyeS1zZWNyZXQta2V5";
const KIBANA_KEY = "a2liYW5hOnZlcnktc2VjcmV0LWtleQ==";
const MINTED = "bWludGVkLWlkOm1pbnRlZC1zZWNyZXQ=";
const registered: Array<{ type: string; name: string; inputs: any }> = [];

pulumi.runtime.setMocks({
  newResource(args) {
    registered.push({ type: args.type, name: args.name, inputs: args.inputs });
    const computed = args.type.endsWith(":WriterApiKey") ? { keyId: "minted-id", encoded: MINTED, expiresAt: 0 } : {};
    return { id: `${args.name}-id`, state: { ...args.inputs, ...computed, connectorId: `${args.name}-id`, ruleId: `${args.name}-id` } };
  },
  call: () => ({}),
}, "flowlogs-to-elastic", "test", false);

const resolved = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));

test("FlowlogsElastic declares index assets, the writer key and the Kibana side; the writer key is a secret output and no credential is in plain inputs", async () => {
  const elastic = new FlowlogsElastic("elastic", {
    connection: { url: "https://es.example.com", apiKey: ES_API_KEY },
    writerConnection: { url: "https://es.example.com", username: "flowlogs_admin", password: ES_PASSWORD },
    assets: { namespace: "prod", retention: "14d" },
    writerKey: { expiration: "90d", rotation: "2026-11", dedupeAcrossBackingIndices: true },
    kibana: { connection: { url: "https://kibana.example.com", apiKey: KIBANA_KEY, space: "netops" }, url: "https://kibana.example.com/", space: "netops" },
  });
  assert.equal(await resolved(elastic.writerApiKey!), MINTED);
  assert.equal(await (elastic.writerApiKey as any).isSecret, true, "the writer key output is secret");
  assert.equal(await resolved(elastic.writerKeyId!), "minted-id");
  assert.equal(await resolved(elastic.dataStream), "logs-azure.flowlogs-prod");
  assert.equal(await resolved(elastic.deadLetterDataStream), "logs-azure.flowlogs.deadletter-prod");
  // The Kibana side is the assets' namespace's: its dashboard is prod's own.
  assert.equal(await resolved(elastic.dashboardUrl), "https://kibana.example.com/s/netops/app/dashboards#/view/flowlogs-overview-prod");
  await resolved(elastic.kibana!.savedObjects.objects);

  const types = registered.map((r) => r.type).sort();
  for (const type of ["flowlogs:elastic:Elastic", "flowlogs:elastic:Kibana", "pulumi-nodejs:dynamic/flowlogs:elasticsearch:IndexAssets",
    "pulumi-nodejs:dynamic/flowlogs:elasticsearch:WriterApiKey", "pulumi-nodejs:dynamic/flowlogs:kibana:SavedObjects"]) {
    assert.ok(types.includes(type), `${type} declared`);
  }
  for (const resource of registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"))) {
    assert.notEqual(resource.inputs.connection?.[SECRET_SIG], undefined, `${resource.name}: connection is a secret`);
    const plain = JSON.stringify({ ...resource.inputs, connection: undefined, secrets: undefined, __provider: undefined });
    for (const credential of [ES_PASSWORD, ES_API_KEY, KIBANA_KEY]) assert.ok(!plain.includes(credential), `${resource.name}: no credential outside secrets`);
  }
  const assets = registered.find((r) => r.type.endsWith(":IndexAssets"))!.inputs;
  assert.deepEqual(assets.options, { namespace: "prod", retention: "14d" });
  assert.equal(assets.connection.value.apiKey, ES_API_KEY, "admin operations use the admin API key");
  const key = registered.find((r) => r.type.endsWith(":WriterApiKey"))!.inputs;
  assert.equal(key.connection.value.username, "flowlogs_admin", "the writer key is minted by the user");
  assert.deepEqual([key.name, key.namespace, key.expiration, key.rotation, key.dedupeAcrossBackingIndices], ["flowlogs-collector-prod", "prod", "90d", "2026-11", true]);
  assert.throws(() => new FlowlogsElastic("bad", { connection: { url: "https://es", apiKey: "k" }, assets: { namespace: "Prod-1" } }), /invalid data stream namespace "Prod-1"/);
});

test("FlowlogsElastic with writerKey.external mints nothing: an API key alone manages the assets and the given key comes out secret", async () => {
  const given = "Z2l2ZW4taWQ6Z2l2ZW4tc2VjcmV0";
  const before = registered.length;
  const elastic = new FlowlogsElastic("serverless", {
    connection: { url: "https://project.es.example.com", apiKey: ES_API_KEY },
    assets: { namespace: "prod" },
    writerKey: { external: true, dedupeAcrossBackingIndices: true },
    externalWriterApiKey: pulumi.output(given),
  });
  assert.equal(await resolved(elastic.writerApiKey!), given);
  assert.equal(await (elastic.writerApiKey as any).isSecret, true, "the given key stays secret");
  assert.equal(elastic.writerKey, undefined);
  assert.equal(elastic.writerKeyId, undefined);
  await resolved(elastic.indexAssets.dataStream);
  const types = registered.slice(before).map((r) => r.type);
  assert.ok(types.includes("pulumi-nodejs:dynamic/flowlogs:elasticsearch:IndexAssets"));
  assert.equal(types.some((type) => type.endsWith(":WriterApiKey")), false, "no key is minted");
  // The given key is checked as itself (not with the admin key), on the admin connection's cluster.
  const check = registered.slice(before).find((r) => r.type === "pulumi-nodejs:dynamic/flowlogs:elasticsearch:WriterKeyCheck")!;
  assert.deepEqual([check.inputs.connection.value, check.inputs.namespace, check.inputs.dedupeAcrossBackingIndices],
    [{ url: "https://project.es.example.com", apiKey: given }, "prod", true]);
  assert.notEqual(check.inputs.connection[SECRET_SIG], undefined, "the key goes to the check as a secret");
  assert.ok(!JSON.stringify({ ...check.inputs, connection: undefined }).includes(given), "and nowhere else");
  // Without a collector there is no key to pass on.
  const bare = new FlowlogsElastic("bare", { connection: { url: "https://project.es.example.com", apiKey: ES_API_KEY }, writerKey: { external: true } });
  assert.equal(bare.writerApiKey, undefined);
});
