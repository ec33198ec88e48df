// The collector of the committed dev stack (image built and pushed to the stack's own registry) under Pulumi
// mocks. The dev stack manages its Elastic side, so the writer key is the one its WriterApiKey resource mints (the
// mock answers with a recognisable key); the deployer's credentials are given as recognisable Pulumi secrets.
// One mock run for this file's process.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { MOCK_ACR_REFRESH_TOKEN, MOCK_SUBSCRIPTION_ID, MOCK_WRITER_API_KEY, runProgramUnderMocks, type PlanResult, type PlannedResource } from "../../infra/plan/mockRun";
import { loadConfig } from "../../collector/src/service/config";
import { ACR_PULL, ACR_REPOSITORY_READER, STORAGE_BLOB_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_READER } from "../../infra/components/builtInRoles";
import { PROJECT, ROOT, ofType, one } from "./planHelpers";
import { loadExampleStack } from "../support/exampleStacks";

const ES_KEY = MOCK_WRITER_API_KEY;
const ES_PASSWORD = "dev-deployer-password-4711";
const KIBANA_KEY = "a2liYW5hLWRldjpzZWNyZXQta2liYW5hLWtleQ==";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const ACCOUNT = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/flowlogs-to-elastic-dev/providers/Microsoft.Storage/storageAccounts/flowlogsdev4711`;
const REGISTRY = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/flowlogs-to-elastic-dev/providers/Microsoft.ContainerRegistry/registries/flowlogsdev4711acr`;
const role = (guid: string) => `/subscriptions/${MOCK_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

let plan: PlanResult;
const raw = new Map<string, Record<string, unknown>>();
before(async () => {
  const stack = loadExampleStack("dev");
  const secrets = { [`${PROJECT}:elasticsearchPassword`]: ES_PASSWORD, [`${PROJECT}:kibanaApiKey`]: KIBANA_KEY };
  plan = await runProgramUnderMocks({
    ...stack,
    config: { ...stack.config, ...secrets },
    secretKeys: [...stack.secretKeys, ...Object.keys(secrets)],
    observeInputs: (type, name, inputs) => raw.set(`${type}::${name}`, inputs),
  });
});

const group = (): PlannedResource => one(plan.resources, "azure-native:containerinstance:ContainerGroup");
const container = (): Record<string, any> => (group().inputs.containers as Array<Record<string, any>>)[0]!;
const env = (): Map<string, Record<string, unknown>> => new Map((container().environmentVariables as Array<Record<string, unknown>>).map((v) => [String(v.name), v]));

test("collector dev: every role assignment has the expected scope, role and principal type, and nothing wider", () => {
  const identity = ofType(plan.resources, "azure-native:managedidentity:UserAssignedIdentity").find((r) => r.parent === "collector-access");
  assert.ok(identity);
  const assignments = ofType(plan.resources, "azure-native:authorization:RoleAssignment").map((r) => ({
    name: r.name, scope: r.inputs.scope, roleDefinitionId: r.inputs.roleDefinitionId, principalType: r.inputs.principalType,
  }));
  assert.deepEqual(assignments, [
    { name: "collector-access-acr-pull", scope: REGISTRY, roleDefinitionId: role(ACR_PULL), principalType: "ServicePrincipal" },
    // The same pull for a registry in ABAC repository-permissions mode, where AcrPull is not honoured.
    { name: "collector-access-acr-repository-read", scope: REGISTRY, roleDefinitionId: role(ACR_REPOSITORY_READER), principalType: "ServicePrincipal" },
    { name: "collector-access-checkpoints", scope: `${ACCOUNT}/blobServices/default/containers/flowlogs-checkpoints`, roleDefinitionId: role(STORAGE_BLOB_DATA_CONTRIBUTOR), principalType: "ServicePrincipal" },
    { name: "collector-access-read-insights-logs-flowlogflowevent", scope: `${ACCOUNT}/blobServices/default/containers/insights-logs-flowlogflowevent`, roleDefinitionId: role(STORAGE_BLOB_DATA_READER), principalType: "ServicePrincipal" },
    { name: "collector-access-read-insights-logs-networksecuritygroupflowevent", scope: `${ACCOUNT}/blobServices/default/containers/insights-logs-networksecuritygroupflowevent`, roleDefinitionId: role(STORAGE_BLOB_DATA_READER), principalType: "ServicePrincipal" },
    // Network Watcher's own writer identity (FlowLogWriterIdentity), unchanged.
    { name: "flowlog-writer-blob-writer", scope: ACCOUNT, roleDefinitionId: role(STORAGE_BLOB_DATA_CONTRIBUTOR), principalType: "ServicePrincipal" },
  ]);
  const collectorPrincipal = plan.resources.filter((r) => r.parent === "collector-access" && r.type.endsWith("RoleAssignment")).map((r) => r.inputs.principalId);
  assert.equal(new Set(collectorPrincipal).size, 1, "one identity holds all of the collector's roles");
  assert.match(String(collectorPrincipal[0]), /^[0-9a-f-]{36}$/);
});

test("collector dev: changes Azure Container Instances cannot make in place replace the group, the old one deleted first", () => {
  assert.deepEqual(group().options?.replaceOnChanges, ["containers[*].resources", "restartPolicy", "osType"]);
  assert.equal(group().options?.deleteBeforeReplace, true, "the group's name is fixed: two cannot exist at once");
});

test("collector dev: the flow-log and checkpoint containers are declared private blob containers on the flow-log account", () => {
  const containers = ofType(plan.resources, "azure-native:storage:BlobContainer").map((r) => [r.parent, r.inputs.containerName, r.inputs.accountName, r.inputs.publicAccess]);
  assert.deepEqual(containers, [
    ["collector-checkpoints", "flowlogs-checkpoints", "flowlogsdev4711", "None"],
    ["flowlog-containers", "insights-logs-flowlogflowevent", "flowlogsdev4711", "None"],
    ["flowlog-containers", "insights-logs-networksecuritygroupflowevent", "flowlogsdev4711", "None"],
  ]);
  const flowLog = one(plan.resources, "azure-native:network:FlowLog");
  for (const name of ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"]) {
    assert.ok(flowLog.options?.dependencies?.includes(name), `the flow log waits for ${name}`);
  }
});

/** Where a value appears in the raw inputs: paths outside secret wrappers, and the resources whose secrets hold it. */
function scan(needle: string): { outside: string[]; inside: string[] } {
  const outside: string[] = [];
  const inside: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (typeof value === "string") { if (value.includes(needle)) outside.push(path); return; }
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}[${i}]`));
    if (value && typeof value === "object") {
      const record = value as Record<string, unknown>;
      if (record[SECRET_SIG] !== undefined) { if (JSON.stringify(record.value).includes(needle)) inside.push(path); return; }
      for (const [k, v] of Object.entries(record)) walk(v, `${path}.${k}`);
    }
  };
  for (const [key, inputs] of raw) walk(inputs, key);
  return { outside, inside: inside.sort() };
}

test("collector dev: the minted writer key reaches the mock only inside secret wrappers, and the container only as secureValue", () => {
  const { outside, inside } = scan(ES_KEY);
  assert.deepEqual(outside, [], "the key in plain inputs");
  assert.deepEqual(inside, ["azure-native:containerinstance:ContainerGroup::collector-runtime-group.containers"], "exactly one (secret) input carries the key");
  const wrapped = raw.get("azure-native:containerinstance:ContainerGroup::collector-runtime-group")!.containers as Record<string, any>;
  assert.equal(typeof wrapped[SECRET_SIG], "string", "the containers input is a secret in state");
  const variable = (wrapped.value[0].environmentVariables as Array<Record<string, unknown>>).find((v) => v.name === "FLOWLOGS_ES_API_KEY");
  assert.deepEqual(variable, { name: "FLOWLOGS_ES_API_KEY", secureValue: ES_KEY });
  // The plan shows its shape but not the value.
  assert.deepEqual(env().get("FLOWLOGS_ES_API_KEY"), { name: "FLOWLOGS_ES_API_KEY", secureValue: "[secret]" });
  assert.ok(!JSON.stringify(plan).includes(ES_KEY), "the plan result never holds the key");
});

test("collector dev: the deployer's Elasticsearch password and Kibana key travel only inside secret connections of the Elastic resources", () => {
  const password = scan(ES_PASSWORD);
  assert.deepEqual(password.outside, [], "the password in plain inputs (including the serialized provider code)");
  assert.deepEqual(password.inside, [
    "pulumi-nodejs:dynamic/flowlogs:elasticsearch:IndexAssets::elastic-index-assets.connection",
    "pulumi-nodejs:dynamic/flowlogs:elasticsearch:WriterApiKey::elastic-writer-key.connection",
  ]);
  const kibana = scan(KIBANA_KEY);
  assert.deepEqual(kibana.outside, []);
  assert.deepEqual(kibana.inside, [
    "pulumi-nodejs:dynamic/flowlogs:kibana:Connector::elastic-kibana-alert-index.connection",
    "pulumi-nodejs:dynamic/flowlogs:kibana:DetectionRule::elastic-kibana-host-sweep.connection",
    "pulumi-nodejs:dynamic/flowlogs:kibana:DetectionRule::elastic-kibana-new-destination-asn.connection",
    "pulumi-nodejs:dynamic/flowlogs:kibana:DetectionRule::elastic-kibana-new-destination-country.connection",
    "pulumi-nodejs:dynamic/flowlogs:kibana:DetectionRule::elastic-kibana-port-scan.connection",
    "pulumi-nodejs:dynamic/flowlogs:kibana:Rule::elastic-kibana-brute-force.connection",
    "pulumi-nodejs:dynamic/flowlogs:kibana:Rule::elastic-kibana-denied-flows.connection",
    "pulumi-nodejs:dynamic/flowlogs:kibana:SavedObjects::elastic-kibana-saved-objects.connection",
  ]);
  const planText = JSON.stringify(plan);
  for (const secret of [ES_PASSWORD, KIBANA_KEY, ES_KEY]) assert.ok(!planText.includes(secret), "the plan result never holds a credential");
  assert.equal(plan.outputs.elasticWriterApiKey, "[secret]", "the writer key is a secret stack output");
});

test("collector dev: the container group waits for the index assets (the sink refuses to write without templates) and the writer key", () => {
  const dependencies = group().options?.dependencies ?? [];
  assert.ok(dependencies.includes("elastic-index-assets"), dependencies.join(", "));
  assert.ok(dependencies.includes("elastic-writer-key"), dependencies.join(", "));
  const key = one(plan.resources, "pulumi-nodejs:dynamic/flowlogs:elasticsearch:WriterApiKey");
  assert.deepEqual(key.options?.dependencies, ["elastic-index-assets"], "a key is minted only once the templates exist");
});

test("collector dev: no account key, connection string, SAS or registry token in any plain input", () => {
  const plainText = JSON.stringify(plan.resources.map((r) => r.inputs));
  for (const forbidden of [/AccountKey=/i, /DefaultEndpointsProtocol/i, /SharedAccessSignature|[?&]sig=/i, /CONNECTION_STRING/i, new RegExp(MOCK_ACR_REFRESH_TOKEN), /mock-arm-access-token/]) {
    assert.doesNotMatch(plainText, forbidden);
  }
  assert.ok(!env().has("FLOWLOGS_STORAGE_CONNECTION_STRING"));
  assert.deepEqual(plan.invokes.filter((i) => /listKeys|listRegistryCredentials|listStorageAccountSAS/i.test(i.token)), []);
});

test("collector dev: the image is built from collector/Dockerfile with the repository root as context and pushed with the deployer's token", () => {
  const image = one(plan.resources, "docker:index/image:Image");
  assert.equal(image.parent, "collector-image");
  assert.deepEqual(image.inputs.build, { context: ROOT, dockerfile: join(ROOT, "collector", "Dockerfile"), platform: "linux/amd64" });
  assert.equal(image.inputs.imageName, "flowlogsdev4711acr.azurecr.io/flowlogs-collector:latest");
  assert.equal(image.inputs.skipPush, false);
  assert.equal(image.inputs.buildOnPreview, false);
  assert.deepEqual(image.inputs.registry, { server: "flowlogsdev4711acr.azurecr.io", username: "00000000-0000-0000-0000-000000000000", password: "[secret]" });
  const registryInput = raw.get("docker:index/image:Image::collector-image-image")!.registry as Record<string, any>;
  assert.equal(typeof registryInput[SECRET_SIG], "string", "push credentials are a secret");
  assert.equal(registryInput.value.password, MOCK_ACR_REFRESH_TOKEN, "the password is the ACR refresh token from the exchange");
  const exchanges = plan.events.filter((e) => e.startsWith("fetch "));
  assert.deepEqual(exchanges, ["fetch POST https://flowlogsdev4711acr.azurecr.io/oauth2/exchange access_token,grant_type,service,tenant"]);
  // The registry's own audience: still accepted where ARM-audience tokens are disabled on the registry.
  const tokenRequests = plan.invokes.filter((i) => i.token === "azure-native:authorization:getClientToken");
  assert.deepEqual(tokenRequests.map((i) => i.args), [{ endpoint: "https://containerregistry.azure.net" }]);
});

test("collector dev: the registry keeps its admin user off and refuses anonymous pulls; the group pulls with the identity", () => {
  const registry = one(plan.resources, "azure-native:containerregistry:Registry");
  assert.equal(registry.inputs.registryName, "flowlogsdev4711acr");
  assert.equal(registry.inputs.adminUserEnabled, false);
  assert.equal(registry.inputs.anonymousPullEnabled, false);
  // Microsoft documents a Premium registry with trusted services as the prerequisite for ACI's managed-identity
  // pulls (azure-docs articles/container-instances/using-azure-container-registry-mi.md).
  assert.deepEqual(registry.inputs.sku, { name: "Premium" });
  assert.equal(registry.inputs.networkRuleBypassOptions, "AzureServices");
  const identityId = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/flowlogs-to-elastic-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/flowlogs-collector`;
  assert.deepEqual(group().inputs.identity, { type: "UserAssigned", userAssignedIdentities: [identityId] });
  assert.deepEqual(group().inputs.imageRegistryCredentials, [{ server: "flowlogsdev4711acr.azurecr.io", identity: identityId }]);
  assert.match(String(container().image), /^flowlogsdev4711acr\.azurecr\.io\/flowlogs-collector@sha256:[0-9a-f]{64}$/, "pinned by digest: a new build redeploys");
});

test("collector dev: ACI group restarts always, modest resources, liveness probe on /healthz:9464 reachable from outside loopback", () => {
  const g = group();
  assert.equal(g.inputs.restartPolicy, "Always");
  assert.equal(g.inputs.osType, "Linux");
  assert.equal(g.inputs.containerGroupName, "flowlogs-to-elastic-dev-collector");
  assert.equal(g.inputs.location, "westeurope");
  assert.equal(g.inputs.ipAddress, undefined, "no public address: only the probe needs the port");
  assert.deepEqual(container().resources, { requests: { cpu: 0.5, memoryInGB: 1 } });
  assert.deepEqual(container().livenessProbe, {
    httpGet: { path: "/healthz", port: 9464, scheme: "http" }, initialDelaySeconds: 30, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3,
  });
  assert.equal(env().get("FLOWLOGS_METRICS_HOST")!.value, "0.0.0.0");
  assert.equal(env().get("FLOWLOGS_METRICS_PORT")!.value, "9464");
  for (const assignment of plan.resources.filter((r) => r.parent === "collector-access")) {
    assert.ok(g.options?.dependencies?.includes(assignment.name), `the group waits for ${assignment.name}`);
  }
});

test("collector dev: its environment comes from the other components' outputs and the stack config", () => {
  const values = Object.fromEntries([...env()].filter(([, v]) => v.value !== undefined).map(([k, v]) => [k, v.value]));
  assert.deepEqual(values, {
    FLOWLOGS_STORAGE_ACCOUNT_URL: "https://flowlogsdev4711.blob.core.windows.net/",
    AZURE_CLIENT_ID: plan.outputs.collectorIdentityClientId,
    FLOWLOGS_CONTAINERS: "insights-logs-flowlogflowevent,insights-logs-networksecuritygroupflowevent",
    FLOWLOGS_CHECKPOINT_CONTAINER: "flowlogs-checkpoints",
    FLOWLOGS_SINK: "elasticsearch",
    FLOWLOGS_ES_URL: "https://flowlogs-dev.es.westeurope.azure.elastic-cloud.com",
    FLOWLOGS_ES_NAMESPACE: "dev",
    NODE_OPTIONS: "--max-old-space-size=128 --max-semi-space-size=8", // the image's own at the dev stack's 1 GB
    FLOWLOGS_METRICS_HOST: "0.0.0.0",
    FLOWLOGS_METRICS_PORT: "9464",
  });
  assert.match(String(plan.outputs.collectorIdentityClientId), /^[0-9a-f]{8}-[0-9a-f]{4}-/);
  assert.equal(plan.outputs.collectorContainerGroupName, "flowlogs-to-elastic-dev-collector");
  assert.equal(plan.outputs.collectorImage, container().image);
});

test("collector dev (contract): the collector's own settings parser accepts the environment the group declares", () => {
  const wrapped = raw.get("azure-native:containerinstance:ContainerGroup::collector-runtime-group")!.containers as Record<string, any>;
  const declared = wrapped.value[0].environmentVariables as Array<{ name: string; value?: string; secureValue?: string }>;
  const environment = Object.fromEntries(declared.map((v) => [v.name, v.value ?? v.secureValue]));
  const parsed = loadConfig(environment);
  assert.deepEqual(parsed.storage, { accountUrl: "https://flowlogsdev4711.blob.core.windows.net/", managedIdentityClientId: plan.outputs.collectorIdentityClientId });
  assert.deepEqual(parsed.containers, ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"]);
  assert.equal(parsed.checkpointContainer, "flowlogs-checkpoints");
  assert.deepEqual(parsed.sink, { kind: "elasticsearch", url: "https://flowlogs-dev.es.westeurope.azure.elastic-cloud.com", apiKey: ES_KEY, basic: undefined, namespace: "dev", caFingerprint: undefined, caFile: undefined, dedupeAcrossBackingIndices: false,
    bulkLingerMs: 20, // shared bulk requests at the collector's default linger
  });
  assert.equal(parsed.metricsHost, "0.0.0.0");
  assert.equal(parsed.metricsPort, 9464);
});
