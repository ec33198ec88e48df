// Stack variants around the collector, each its own offline-plan process (scripts/plan.ts), plus one in-process
// mock run that shows the program itself refusing to deploy the collector without its key.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { runProgramUnderMocks, type PlannedResource } from "../../infra/plan/mockRun";
import { loadConfig } from "../../collector/src/service/config";
import { loadStackConfigFiles } from "../../infra/plan/stackFile";
import { ROOT, ofType, planJson, runPlan, vnetId, writeStackFile, type PlanRun } from "./planHelpers";

const base = { location: "westeurope", storage: { accountName: "flowlogstest01" }, flowLogs: [vnetId("vnet1")] };
const collectorOn = { enabled: true, elasticsearch: { url: "https://es.example.com" } };
/** The rest of what the collector needs to load its settings. */
const FAKE_COLLECTOR_ENV = {
  FLOWLOGS_STORAGE_ACCOUNT_URL: "https://flowlogstest01.blob.core.windows.net/", FLOWLOGS_SINK: "elasticsearch",
  FLOWLOGS_ES_URL: "https://es.example.com", FLOWLOGS_ES_API_KEY: "k",
};

async function planFile(config: Record<string, unknown>): Promise<PlanRun> {
  const file = writeStackFile(config);
  try {
    return await runPlan(["--stack", "test", "--json", "--config-file", file.path]);
  } finally {
    file.remove();
  }
}

const scenarios = {
  off: () => planJson(base),
  plainKey: () => planFile({ ...base, collector: collectorOn, collectorEsApiKey: "plain-text-key-4711" }),
  badKeys: () => planFile({ ...base, collector: { enabled: true, cpuu: 1, image: "repo/img", elasticsearch: { url: "http://es" } } }),
  publicImage: () => planJson({
    ...base, storage: { ...base.storage, networkDefaultAction: "Allow" }, collector: { ...collectorOn, image: "ghcr.io/acme/flowlogs-collector:2.0.0", pollIntervalSeconds: 300 },
  }),
  // The Elastic side alone (collector off): no Kibana, so no dashboard.
  elasticOnly: () => planJson({ ...base, elasticsearch: { url: "https://es.example.com", namespace: "ops" }, elasticsearchUsername: "deployer" }),
  elasticBroken: () => planFile({
    ...base, collector: collectorOn, collectorEsApiKey: { secure: "v1:abc" }, elasticsearch: { url: "https://es.example.com", namespce: "x" },
    elasticsearchPassword: "plain-password-4711", kibana: { url: "https://kibana.example.com" },
  }),
};
const runs: Partial<Record<keyof typeof scenarios, Promise<unknown>>> = {};
before(async () => {
  const names = Object.keys(scenarios) as Array<keyof typeof scenarios>;
  const next = async (): Promise<void> => {
    const name = names.shift();
    if (!name) return;
    runs[name] = scenarios[name]().catch((error: unknown) => error);
    await runs[name];
    await next();
  };
  await Promise.all([next(), next()]);
});
const result = async <T>(name: keyof typeof scenarios): Promise<T> => {
  const value = await runs[name];
  if (value instanceof Error) throw value;
  return value as T;
};

test("collector off (the default): nothing of the collector is declared, the flow-log containers still are", async () => {
  const resources = await result<PlannedResource[]>("off");
  for (const type of ["azure-native:containerinstance:ContainerGroup", "azure-native:containerregistry:Registry", "docker:index/image:Image", "flowlogs:azure:Collector"]) {
    assert.deepEqual(ofType(resources, type), [], type);
  }
  assert.deepEqual(resources.filter((r) => r.name.startsWith("collector")), []);
  assert.deepEqual(ofType(resources, "azure-native:storage:BlobContainer").map((r) => r.name), ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"]);
});

test("collector with a public prebuilt image: no registry credentials, no AcrPull, no build", async () => {
  const resources = await result<PlannedResource[]>("publicImage");
  const group = ofType(resources, "azure-native:containerinstance:ContainerGroup")[0]!;
  assert.equal(group.inputs.imageRegistryCredentials, undefined);
  assert.equal((group.inputs.containers as Array<Record<string, unknown>>)[0]!.image, "ghcr.io/acme/flowlogs-collector:2.0.0");
  assert.deepEqual(resources.filter((r) => r.name.startsWith("collector-access-acr-")), []);
  assert.deepEqual(ofType(resources, "docker:index/image:Image"), []);
  assert.deepEqual(ofType(resources, "azure-native:authorization:RoleAssignment").filter((r) => r.parent === "collector-access").length, 3);
});

test("collector.pollIntervalSeconds reaches the container as FLOWLOGS_POLL_INTERVAL_SECONDS, which the collector reads", async () => {
  const resources = await result<PlannedResource[]>("publicImage");
  const group = ofType(resources, "azure-native:containerinstance:ContainerGroup")[0]!;
  const variables = (group.inputs.containers as Array<{ environmentVariables: Array<{ name: string; value?: string }> }>)[0]!.environmentVariables;
  const poll = variables.filter((v) => v.name === "FLOWLOGS_POLL_INTERVAL_SECONDS");
  assert.deepEqual(poll, [{ name: "FLOWLOGS_POLL_INTERVAL_SECONDS", value: "300" }]);
  assert.equal(loadConfig({ ...FAKE_COLLECTOR_ENV, FLOWLOGS_POLL_INTERVAL_SECONDS: poll[0]!.value }).pollIntervalSeconds, 300);
});

test("an ES key set in plain text in the stack file is refused, without repeating it", async () => {
  const run = await result<PlanRun>("plainKey");
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /collectorEsApiKey: is stored in plain text in Pulumi\.test\.yaml: set it again with `pulumi config set --secret collectorEsApiKey/);
  assert.doesNotMatch(run.stderr, /plain-text-key-4711/);
});

test("bad collector keys: every problem in one error, each naming the key", async () => {
  const run = await result<PlanRun>("badKeys");
  assert.equal(run.code, 1);
  assert.match(run.stderr, /has 3 problems/);
  assert.match(run.stderr, /collector\.cpuu: .*did you mean "collector\.cpu"/);
  assert.match(run.stderr, /collector\.image: "repo\/img" has no tag or digest/);
  assert.match(run.stderr, /collector\.elasticsearch\.url: "http:\/\/es" is not an https:\/\/ URL/);
});

test("without the offline plan's stand-in, the program refuses a collector that has no ES key (before declaring anything)", async () => {
  // A stack whose Elastic side is managed elsewhere: the key can only come from collectorEsApiKey.
  const file = writeStackFile({ ...base, collector: collectorOn });
  const recorded: string[] = [];
  try {
    const stack = loadStackConfigFiles({ stack: "test", dir: ROOT, configFile: file.path });
    await assert.rejects(runProgramUnderMocks({ ...stack, standInMissingSecrets: false, observeInputs: (type) => recorded.push(type) }), (error: Error) => {
      assert.match(error.message, /collectorEsApiKey: is required when collector\.enabled is true.*pulumi config set --secret collectorEsApiKey.*or set `elasticsearch`/);
      return true;
    });
  } finally {
    file.remove();
  }
  assert.deepEqual(recorded, [], "nothing was declared");
});

test("the Elastic side alone: index assets and writer key, no collector, no Kibana", async () => {
  const resources = await result<PlannedResource[]>("elasticOnly");
  assert.deepEqual(resources.filter((r) => r.parent === "elastic").map((r) => r.name).sort(), ["elastic-index-assets", "elastic-writer-key"]);
  assert.deepEqual(ofType(resources, "azure-native:containerinstance:ContainerGroup"), []);
  assert.deepEqual(ofType(resources, "flowlogs:elastic:Kibana"), []);
  const key = resources.find((r) => r.name === "elastic-writer-key")!;
  assert.deepEqual([key.inputs.name, key.inputs.namespace], ["flowlogs-collector-ops", "ops"]);
});

test("bad Elastic-side keys: every problem in one error, before anything is declared, without repeating a secret", async () => {
  const run = await result<PlanRun>("elasticBroken");
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /has 5 problems/);
  assert.match(run.stderr, /elasticsearch\.namespce: is not an Elasticsearch setting/);
  assert.match(run.stderr, /collectorEsApiKey: is set, but this stack manages the Elastic side/);
  assert.match(run.stderr, /collector\.elasticsearch: is taken from `elasticsearch`/);
  assert.match(run.stderr, /elasticsearchPassword: is stored in plain text in Pulumi\.test\.yaml/);
  assert.match(run.stderr, /elasticsearchUsername: is required with `elasticsearch`.*pulumi config set elasticsearchUsername <user>/);
  assert.doesNotMatch(run.stderr, /plain-password-4711/);
  assert.doesNotMatch(run.stderr, /kibanaApiKey/, "a secret the setup needs is stood in by the offline plan, as committed stack files never hold it");
});
