import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { flowlogsElasticArgs, readElasticConfig } from "../../infra/elastic/config";
import { planIndexAssets, SERVERLESS_CAPABILITIES } from "../../dashboards/src/indexAssets";

function read(value: unknown, kibana?: unknown) {
  const problems: string[] = [];
  const settings = readElasticConfig(value, kibana, (key, text) => problems.push(`${key}: ${text}`));
  return { settings, problems };
}

const resolved = <T>(output: pulumi.Input<T>): Promise<T> => new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));

test("elasticsearch config: nothing when absent, defaults when minimal, every setting read", () => {
  assert.deepEqual(read(undefined), { settings: undefined, problems: [] });
  const minimal = read({ url: "https://es.example.com" });
  assert.deepEqual(minimal.problems, []);
  assert.deepEqual(minimal.settings, { url: "https://es.example.com", caCert: undefined, allowInsecureHttp: false, assets: {}, capabilities: undefined, keepTemplatesWithData: false, writerKey: { dedupeAcrossBackingIndices: false }, kibana: undefined });
  const full = read({
    url: "https://es.example.com", caCert: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----", namespace: "prod", retention: "14d", retentionMode: "lifecycle", geoip: "off",
    capabilities: { ilm: false, constantKeyword: true, ingestProcessors: [] }, keepTemplatesWithData: true,
    writerKey: { expiration: "90d", rotation: "2026-11", dedupeAcrossBackingIndices: true },
  }, { url: "https://kibana.example.com" });
  assert.deepEqual(full.problems, []);
  assert.deepEqual(full.settings!.assets, { namespace: "prod", retention: "14d", retentionMode: "lifecycle", geoip: "off" });
  assert.deepEqual(full.settings!.writerKey, { name: undefined, expiration: "90d", rotation: "2026-11", dedupeAcrossBackingIndices: true });
  assert.equal(full.settings!.kibana!.url, "https://kibana.example.com");
});

test("elasticsearch config: every problem names its key and the fix", () => {
  const { problems } = read({
    url: "http://es.example.com:9200", caCert: "nope", namespace: "Prod-1", retention: "30 days", retentionMode: "forever", geoip: 1,
    capabilities: { ilm: "yes" }, keepTemplatesWithData: "no", colour: "red", writerKey: { expiration: "3 months", dedupeAcrossBackingIndices: "yes", owner: "x" },
  });
  const keys = problems.map((p) => p.split(":")[0]).sort();
  assert.deepEqual(keys, [
    "elasticsearch.caCert", "elasticsearch.capabilities", "elasticsearch.colour", "elasticsearch.geoip", "elasticsearch.keepTemplatesWithData",
    "elasticsearch.namespace", "elasticsearch.retention", "elasticsearch.retentionMode", "elasticsearch.url",
    "elasticsearch.writerKey.dedupeAcrossBackingIndices", "elasticsearch.writerKey.expiration", "elasticsearch.writerKey.owner",
  ]);
  assert.match(problems.find((p) => p.startsWith("elasticsearch.url"))!, /plain http: use https/);
  assert.match(read({ url: "https://u:p@es.example.com" }).problems[0]!, /must not carry credentials/);
  assert.match(read(undefined, { url: "https://k" }).problems[0]!, /^kibana: .*configure elasticsearch.url/);
  assert.deepEqual(read({ url: "http://127.0.0.1:9200" }).problems, [], "plain http on loopback is fine");
});

test("elasticsearch.capabilities pinned: every key read, Serverless pinned as detection would see it, contradictions refused", () => {
  const pinned = (capabilities: unknown) => read({ url: "https://es.example.com", capabilities });
  assert.deepEqual(pinned({ ilm: true, constantKeyword: true, ingestProcessors: ["geoip"], logsdb: true, implicitLogsdb: true }).settings!.capabilities,
    { ilm: true, constantKeyword: true, ingestProcessors: ["geoip"], logsdb: true, implicitLogsdb: true }, "logsdb and implicitLogsdb are kept, not dropped");
  const serverless = pinned({ ilm: false, constantKeyword: true, ingestProcessors: ["geoip", "rename"], serverless: true }).settings!.capabilities!;
  assert.deepEqual(serverless, SERVERLESS_CAPABILITIES);
  assert.deepEqual(planIndexAssets({ namespace: "prod" }, serverless), planIndexAssets({ namespace: "prod" }, SERVERLESS_CAPABILITIES), "the plan detection would make");
  assert.equal(planIndexAssets({ namespace: "prod" }, serverless).indexMode.mode, "logsdb");
  const problem = (capabilities: unknown) => pinned(capabilities).problems.join("\n");
  assert.match(problem({ ilm: true, constantKeyword: true, ingestProcessors: [], serverless: true }), /^elasticsearch.capabilities: ilm: true with serverless: true: .*set ilm: false/);
  assert.match(problem({ ilm: false, constantKeyword: true, ingestProcessors: [], serverless: true, logsdb: false }), /^elasticsearch.capabilities: .*leave them out/);
  assert.match(problem({ ilm: false, constantKeyword: true, ingestProcessors: [], logsDb: true }), /^elasticsearch.capabilities: has no key logsDb: it is \{ ilm: bool/);
  assert.match(problem({ ilm: false, constantKeyword: true, ingestProcessors: [], implicitLogsdb: "yes" }), /^elasticsearch.capabilities: must be \{/);
});

test("config + secrets -> component arguments: connections secret, admin via API key when given, writer key always via the user", async () => {
  const { settings } = read({ url: "https://es.example.com", namespace: "prod" }, { url: "https://kibana.example.com", space: "netops" });
  const args = flowlogsElasticArgs(settings!, { username: "admin", password: pulumi.secret("pw"), apiKey: pulumi.secret("a2V5"), kibana: { apiKey: "a2liYW5h" } });
  assert.equal(await (pulumi.output(args.connection) as any).isSecret, true);
  assert.equal(await (pulumi.output(args.writerConnection!) as any).isSecret, true);
  assert.deepEqual(await resolved(args.connection), { url: "https://es.example.com", caCert: undefined, allowInsecureHttp: undefined, apiKey: "a2V5" });
  assert.deepEqual(await resolved(args.writerConnection!), { url: "https://es.example.com", caCert: undefined, allowInsecureHttp: undefined, username: "admin", password: "pw" });
  assert.deepEqual(args.assets, { namespace: "prod" });
  assert.equal(args.kibana!.url, "https://kibana.example.com");
  assert.equal(args.kibana!.space, "netops");
  assert.throws(() => flowlogsElasticArgs(settings!, {}), /elasticsearchUsername.*--secret elasticsearchPassword/);
  assert.throws(() => flowlogsElasticArgs(settings!, { apiKey: "a2V5" }), /elasticsearchApiKey alone cannot mint the collector's writer key/);
});
