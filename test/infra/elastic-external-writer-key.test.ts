// elasticsearch.writerKey.external: the Elastic side managed here, the writer key made by a person (Elastic Cloud
// Serverless has no users, and a key made with an API key may carry no privileges) and given as the secret
// collectorEsApiKey. The config check's answers, the program's arguments, and the offline plan of such a stack.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { neededSecretKeys, parseConfig } from "../../infra/config";
import { flowlogsElasticArgs } from "../../infra/elastic/config";
import { writerRoleDescriptors } from "../../infra/elastic/elasticsearch/writerApiKeyResource";
import type { PlannedResource } from "../../infra/plan/mockRun";
import { CONTEXT, only, problems } from "./configProblems";
import { planJson, ROOT, vnetId } from "./planHelpers";

const base = { location: "westeurope", storage: { accountName: "flowlogs001", networkDefaultAction: "Allow" }, flowLogs: [vnetId("vnet1")] };
const external = { url: "https://project.es.eastus.azure.elastic.cloud", namespace: "prod", writerKey: { external: true } };
const serverless = { ...base, elasticsearch: external, elasticsearchApiKey: "[secret]", collectorEsApiKey: "[secret]", collector: { enabled: true } };
const keysOf = (found: string[]) => found.map((p) => p.slice(0, p.indexOf(": "))).sort();
const resolved = <T>(output: pulumi.Input<T>): Promise<T> => new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));

test("external writer key: an admin API key and the given key are a whole stack; the collector writes with the given key", () => {
  const config = parseConfig(serverless, CONTEXT);
  assert.equal(config.elastic?.writerKey.external, true);
  assert.ok(config.collector);
  assert.equal(config.collector.writerKey, "configured");
  assert.deepEqual(config.collector.elasticsearch, { url: external.url, namespace: "prod" });
  // A user may still put the templates; and with the collector off the key is not needed at all.
  assert.ok(parseConfig({ ...serverless, elasticsearchApiKey: undefined, elasticsearchUsername: "deployer", elasticsearchPassword: "[secret]" }, CONTEXT).elastic);
  assert.equal(parseConfig({ ...serverless, collectorEsApiKey: undefined, collector: undefined }, CONTEXT).collector, false);
});

test("external writer key: each missing piece is one problem naming the key and the fix", () => {
  assert.match(only({ ...serverless, collectorEsApiKey: undefined }, "collectorEsApiKey"),
    /required with elasticsearch\.writerKey\.external while the collector is on: .*`npm run writer-key -- --stack <stack>`.*pulumi config set --secret collectorEsApiKey/);
  assert.match(only({ ...serverless, elasticsearchApiKey: undefined }, "elasticsearchApiKey"),
    /required with `elasticsearch` \(or elasticsearchUsername \+ the secret elasticsearchPassword\): .*pulumi config set --secret elasticsearchApiKey/);
  assert.match(only({ ...serverless, elasticsearchUsername: "deployer" }, "elasticsearchPassword"), /required with elasticsearchUsername/);
  const minted = problems({ ...serverless, elasticsearch: { ...external, writerKey: { external: true, name: "k", expiration: "90d", rotation: "r1" } } });
  assert.deepEqual(keysOf(minted), ["elasticsearch.writerKey.expiration", "elasticsearch.writerKey.name", "elasticsearch.writerKey.rotation"]);
  assert.match(minted[0]!, /applies only to a key this stack mints.*pulumi config rm --path elasticsearch\.writerKey\./);
  const notBoolean = problems({ ...serverless, elasticsearch: { ...external, writerKey: { external: "yes" } } });
  assert.match(notBoolean.find((p) => p.startsWith("elasticsearch.writerKey.external: "))!, /must be true or false/);
});

test("without external the key is minted: the given key is refused, and an API key alone is told about external", () => {
  const minting = { ...serverless, elasticsearch: { url: external.url, namespace: "prod" } };
  assert.match(only({ ...minting, elasticsearchUsername: "deployer", elasticsearchPassword: "[secret]" }, "collectorEsApiKey"),
    /or, if you made this key for this stack, say so with `pulumi config set --path elasticsearch\.writerKey\.external true`/);
  const apiKeyOnly = problems({ ...minting, collectorEsApiKey: undefined });
  assert.deepEqual(keysOf(apiKeyOnly), ["elasticsearchPassword", "elasticsearchUsername"]);
  for (const problem of apiKeyOnly) assert.match(problem, /Elastic Cloud Serverless\), make the key yourself and set elasticsearch\.writerKey\.external: true/);
});

test("external writer key: the offline plan stands in the admin API key and the given key, and nothing else", () => {
  assert.deepEqual(neededSecretKeys(serverless), ["elasticsearchApiKey", "collectorEsApiKey"]);
  assert.deepEqual(neededSecretKeys({ ...serverless, elasticsearchUsername: "deployer" }), ["elasticsearchPassword", "collectorEsApiKey"]);
  assert.deepEqual(neededSecretKeys({ ...serverless, collector: undefined, kibana: { url: "https://k" } }), ["elasticsearchApiKey", "kibanaApiKey"]);
});

test("external writer key: the program's arguments carry the given key and an API-key admin connection, and mint nothing", async () => {
  const settings = parseConfig(serverless, CONTEXT).elastic!;
  const args = flowlogsElasticArgs(settings, { apiKey: "YWRtaW46a2V5", collectorEsApiKey: "Z2l2ZW46a2V5" });
  assert.equal(args.writerConnection, undefined);
  assert.equal(await resolved(args.externalWriterApiKey!), "Z2l2ZW46a2V5");
  assert.equal((await resolved(args.connection)).apiKey, "YWRtaW46a2V5");
  assert.throws(() => flowlogsElasticArgs(settings, {}), /credentials are missing: `pulumi config set --secret elasticsearchApiKey/);
  const minting = { ...settings, writerKey: { dedupeAcrossBackingIndices: false } };
  assert.throws(() => flowlogsElasticArgs(minting, { apiKey: "YWRtaW46a2V5" }), /cannot mint.*or make the key yourself and set elasticsearch\.writerKey\.external: true/);
});

test("infra/README.md gives the exact privileges writerRoleDescriptors mints with (namespace prod, and read with dedupe)", () => {
  const readme = readFileSync(join(ROOT, "infra", "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### A writer key you make"));
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
  assert.deepEqual(blocks[0], writerRoleDescriptors("prod"));
  assert.deepEqual(blocks[1], writerRoleDescriptors("prod", true));
});

let planned: PlannedResource[];
before(async () => {
  // Committed stack files hold no secrets: the plan must stand in the ones this setup needs by itself.
  planned = await planJson({ ...base, elasticsearch: external, collector: { enabled: true, image: "ghcr.io/acme/flowlogs-collector:2.0.0" } });
});

test("external writer key: npm run plan works for such a stack: index assets, no WriterApiKey, its check, the collector with the given key", () => {
  const types = planned.map((r) => r.type);
  assert.ok(types.includes("pulumi-nodejs:dynamic/flowlogs:elasticsearch:IndexAssets"));
  assert.equal(types.includes("pulumi-nodejs:dynamic/flowlogs:elasticsearch:WriterApiKey"), false);
  assert.ok(types.includes("pulumi-nodejs:dynamic/flowlogs:elasticsearch:WriterKeyCheck"), "the given key's privileges are checked");
  const group = planned.find((r) => r.type === "azure-native:containerinstance:ContainerGroup")!;
  const env = (group.inputs.containers as any[])[0].environmentVariables as Array<{ name: string; value?: string; secureValue?: string }>;
  assert.equal(env.find((v) => v.name === "FLOWLOGS_ES_URL")!.value, external.url);
  assert.equal(env.find((v) => v.name === "FLOWLOGS_ES_API_KEY")!.secureValue, "[secret]");
});
