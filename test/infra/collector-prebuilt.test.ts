// The collector of the committed prod stack: a prebuilt, pinned image in an existing registry. No build, no
// registry of its own, no token exchange; the identity may pull from that one registry. One mock run per process.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { MOCK_SUBSCRIPTION_ID, runProgramUnderMocks, type PlanResult } from "../../infra/plan/mockRun";
import { ACR_PULL, ACR_REPOSITORY_READER } from "../../infra/components/builtInRoles";
import { SUB, ofType, one } from "./planHelpers";
import { loadExampleStack } from "../support/exampleStacks";

const PLATFORM_REGISTRY = `/subscriptions/${SUB}/resourceGroups/rg-platform-prod/providers/Microsoft.ContainerRegistry/registries/crplatformprod`;

let plan: PlanResult;
before(async () => {
  plan = await runProgramUnderMocks(loadExampleStack("prod"));
});

test("collector prebuilt: no image build, no registry, no token exchange", () => {
  assert.deepEqual(ofType(plan.resources, "docker:index/image:Image"), [], "a prebuilt image declares no docker:index/image:Image");
  assert.deepEqual(ofType(plan.resources, "azure-native:containerregistry:Registry"), []);
  assert.deepEqual(plan.events.filter((e) => e.startsWith("fetch ")), []);
  assert.deepEqual(plan.invokes.filter((i) => i.token === "azure-native:authorization:getClientToken"), []);
});

test("collector prebuilt: the group runs the configured reference, pulled with the identity, which may pull from that registry only, in either role assignment mode", () => {
  const group = one(plan.resources, "azure-native:containerinstance:ContainerGroup");
  const container = (group.inputs.containers as Array<Record<string, any>>)[0]!;
  assert.equal(container.image, "crplatformprod.azurecr.io/flowlogs-collector:1.0.0");
  const identityId = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/rg-flowlogs-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/flowlogs-collector`;
  assert.deepEqual(group.inputs.imageRegistryCredentials, [{ server: "crplatformprod.azurecr.io", identity: identityId }]);
  const pull = one(plan.resources.filter((r) => r.name === "collector-access-acr-pull"), "azure-native:authorization:RoleAssignment");
  assert.equal(pull.inputs.scope, PLATFORM_REGISTRY);
  assert.equal(pull.inputs.roleDefinitionId, `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`, "the role definition of the registry's subscription");
  assert.equal(pull.inputs.principalType, "ServicePrincipal");
  // An ABAC-mode registry honours only the repository roles; a default-mode one only AcrPull. Both, same scope.
  const repositoryRead = one(plan.resources.filter((r) => r.name === "collector-access-acr-repository-read"), "azure-native:authorization:RoleAssignment");
  assert.deepEqual([repositoryRead.inputs.scope, repositoryRead.inputs.roleDefinitionId, repositoryRead.inputs.principalType, repositoryRead.inputs.principalId],
    [PLATFORM_REGISTRY, `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ACR_REPOSITORY_READER}`, "ServicePrincipal", pull.inputs.principalId]);
  assert.deepEqual(container.resources, { requests: { cpu: 1, memoryInGB: 2 } });
  assert.equal(plan.outputs.collectorImage, "crplatformprod.azurecr.io/flowlogs-collector:1.0.0");
});

test("collector prebuilt: the policy-relevant settings hold here too (identity, secure key, restart, probe)", () => {
  const group = one(plan.resources, "azure-native:containerinstance:ContainerGroup");
  assert.equal((group.inputs.identity as Record<string, unknown>).type, "UserAssigned");
  assert.equal(group.inputs.restartPolicy, "Always");
  const container = (group.inputs.containers as Array<Record<string, any>>)[0]!;
  const key = (container.environmentVariables as Array<Record<string, unknown>>).filter((v) => v.name === "FLOWLOGS_ES_API_KEY");
  assert.deepEqual(key, [{ name: "FLOWLOGS_ES_API_KEY", secureValue: "[secret]" }], "the offline plan's stand-in, as a secure value");
  assert.equal(container.livenessProbe.httpGet.path, "/healthz");
  const env = Object.fromEntries((container.environmentVariables as Array<Record<string, string>>).map((v) => [v.name, v.value]));
  assert.equal(env.FLOWLOGS_ES_NAMESPACE, "prod");
  assert.equal(env.FLOWLOGS_STORAGE_ACCOUNT_URL, "https://flowlogsprod0001.blob.core.windows.net/");
});

test("collector prebuilt: the prod stack's 2 GB reach the collector's heap (1,152 MB, not the image's 128), also in an image built elsewhere", () => {
  const container = (one(plan.resources, "azure-native:containerinstance:ContainerGroup").inputs.containers as Array<Record<string, any>>)[0]!;
  assert.deepEqual(container.resources, { requests: { cpu: 1, memoryInGB: 2 } });
  const env = Object.fromEntries((container.environmentVariables as Array<Record<string, string>>).map((v) => [v.name, v.value]));
  assert.equal(env.NODE_OPTIONS, "--max-old-space-size=1152 --max-semi-space-size=8");
});
