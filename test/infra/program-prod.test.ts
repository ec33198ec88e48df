// The program under Pulumi mocks with the committed prod stack: existing VNets (one of them behind a legacy NSG),
// traffic analytics into an existing workspace, a firewall IP range.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { runProgramUnderMocks, type PlanResult, type PlannedResource } from "../../infra/plan/mockRun";
import { ROOT, SUB, ofType } from "./planHelpers";
import { loadExampleStack } from "../support/exampleStacks";
import { readFileSync } from "node:fs";
import { join } from "node:path";

let plan: PlanResult;
let flowLogs: Map<string, PlannedResource>;
before(async () => {
  plan = await runProgramUnderMocks(loadExampleStack("prod"));
  flowLogs = new Map(ofType(plan.resources, "azure-native:network:FlowLog").map((f) => [String(f.inputs.flowLogName), f]));
});

test("prod: one flow log per configured target, all in the watcher's group and the stack's region", () => {
  assert.equal(flowLogs.size, 3);
  for (const flowLog of flowLogs.values()) {
    assert.equal(flowLog.inputs.resourceGroupName, "NetworkWatcherRG");
    assert.equal(flowLog.inputs.networkWatcherName, "NetworkWatcher_northeurope");
    assert.equal(flowLog.inputs.location, "northeurope");
    assert.deepEqual(flowLog.inputs.format, { type: "JSON", version: 2 });
    assert.equal(flowLog.name.replace(/^adopted-nsg-/, ""), flowLog.inputs.flowLogName, "the logical name is the ARM name");
  }
  assert.deepEqual(ofType(plan.resources, "azure-native:network:VirtualNetwork"), [], "no demo network");
  assert.deepEqual(ofType(plan.resources, "azure-native:network:NetworkWatcher"), []);
});

test("prod: shared keys are off, so nothing is adopted and every flow log (VNet, subnet, the legacy NSG's VNet) writes with the writer identity", () => {
  assert.ok(flowLogs.has("vnet-app-prod-snet-web-flowlog"), [...flowLogs.keys()].join(", "));
  const legacy = [...flowLogs.values()].find((f) => /virtualNetworks\/vnet-legacy-prod$/.test(String(f.inputs.targetResourceId)));
  assert.ok(legacy, "the VNet behind the legacy NSG is logged by a VNet flow log");
  const writer = ofType(plan.resources, "azure-native:managedidentity:UserAssignedIdentity").find((r) => r.parent === "flowlog-writer");
  assert.ok(writer, "the flow logs' writer identity");
  for (const flowLog of flowLogs.values()) {
    assert.doesNotMatch(String(flowLog.inputs.targetResourceId), /networkSecurityGroups/);
    assert.equal((flowLog.inputs.identity as any).type, "UserAssigned", flowLog.name);
    assert.equal(flowLog.options?.import, undefined);
    assert.equal(flowLog.options?.retainOnDelete, undefined);
  }
});

test("prod: a target change replaces the flow log; with an explicit name the old one is deleted first", () => {
  const explicit = flowLogs.get("vnet-app-prod-snet-web-flowlog");
  assert.ok(explicit);
  assert.deepEqual(explicit.options?.replaceOnChanges, ["targetResourceId"]);
  assert.equal(explicit.options?.deleteBeforeReplace, true, "the same ARM name cannot exist twice under one watcher");
  const derived = [...flowLogs.values()].find((f) => /^vnet-hub-prod-rg-network-prod-[0-9a-f]{8}-flowlog$/.test(f.name));
  assert.ok(derived, [...flowLogs.keys()].join(", "));
  assert.deepEqual(derived.options?.replaceOnChanges, ["targetResourceId"]);
});

test("prod: traffic analytics uses the existing workspace (looked up for its GUID and region) every 10 minutes", () => {
  const workspaceId = `/subscriptions/${SUB}/resourceGroups/rg-monitoring-prod/providers/Microsoft.OperationalInsights/workspaces/law-prod`;
  const lookup = plan.invokes.find((i) => i.token === "azure-native:operationalinsights:getWorkspace");
  assert.deepEqual(lookup?.args, { resourceGroupName: "rg-monitoring-prod", workspaceName: "law-prod" });
  assert.deepEqual(ofType(plan.resources, "azure-native:operationalinsights:Workspace"), [], "no new workspace");
  for (const flowLog of flowLogs.values()) {
    const ta = (flowLog.inputs.flowAnalyticsConfiguration as any).networkWatcherFlowAnalyticsConfiguration;
    assert.equal(ta.enabled, true);
    assert.equal(ta.trafficAnalyticsInterval, 10);
    assert.equal(ta.workspaceResourceId, workspaceId);
    assert.match(ta.workspaceId, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    assert.equal(ta.workspaceRegion, "northeurope");
  }
  assert.equal(plan.outputs.trafficAnalyticsWorkspaceId, workspaceId);
});

test("prod: storage is zone-redundant, open to the collector (Entra ID only), explicit group name", () => {
  const account = ofType(plan.resources, "azure-native:storage:StorageAccount")[0]!;
  assert.deepEqual(account.inputs.sku, { name: "Standard_ZRS" });
  assert.equal(account.inputs.resourceGroupName, "rg-flowlogs-prod");
  assert.deepEqual(account.inputs.networkRuleSet, {
    defaultAction: "Allow", bypass: "AzureServices", ipRules: [],
  });
  assert.equal(account.inputs.allowSharedKeyAccess, false, "reads need Entra ID");
  const policy = ofType(plan.resources, "azure-native:storage:ManagementPolicy")[0]!;
  assert.equal((policy.inputs.policy as any).rules[0].definition.actions.baseBlob.delete.daysAfterModificationGreaterThan, 90);
  assert.deepEqual(Object.keys(plan.outputs).sort(), [
    "collectorContainerGroupName", "collectorIdentityClientId", "collectorImage",
    "dashboardUrl", "dataStream", "deadLetterDataStream", "elasticWriterApiKey", "elasticWriterKeyId",
    "flowLogContainers", "flowLogIds", "flowLogNames", "flowLogWriterIdentityId", "networkWatcherName", "networkWatcherResourceGroupName",
    "resourceGroupName", "storageAccountId", "storageAccountName", "storageBlobEndpoint", "trafficAnalyticsWorkspaceId",
  ]);
});

test("prod: the whole system in one plan: Azure side, collector with identity and roles, and the Elastic side feeding it", () => {
  const roots = plan.resources.filter((r) => r.parent === null).map((r) => r.name).sort();
  assert.deepEqual(roots, ["collector", "elastic", "flow-logs", "flowlog-containers", "flowlog-storage", "flowlog-storage-sku", "flowlog-writer", "network-watcher", "resource-group", "traffic-analytics"]);
  const collectorRoles = plan.resources.filter((r) => r.parent === "collector-access" && r.type === "azure-native:authorization:RoleAssignment").map((r) => r.name).sort();
  assert.deepEqual(collectorRoles, ["collector-access-acr-pull", "collector-access-acr-repository-read", "collector-access-checkpoints", "collector-access-read-insights-logs-flowlogflowevent", "collector-access-read-insights-logs-networksecuritygroupflowevent"]);
  const elastic = plan.resources.filter((r) => r.parent === "elastic" || r.parent === "elastic-kibana").map((r) => r.type.replace("pulumi-nodejs:dynamic/flowlogs:", "")).sort();
  assert.deepEqual(elastic, ["elasticsearch:IndexAssets", "elasticsearch:WriterApiKey", "flowlogs:elastic:Kibana", "kibana:Connector", "kibana:DetectionRule", "kibana:DetectionRule", "kibana:DetectionRule", "kibana:DetectionRule", "kibana:Rule", "kibana:Rule", "kibana:SavedObjects"]);
  const assets = plan.resources.find((r) => r.name === "elastic-index-assets")!;
  assert.deepEqual(assets.inputs.options, { namespace: "prod", retention: "90d" });
  assert.deepEqual(assets.inputs.connection, { url: "https://flowlogs-prod.es.northeurope.azure.elastic-cloud.com", username: "flowlogs_deployer", password: "[secret]" });
  const key = plan.resources.find((r) => r.name === "elastic-writer-key")!;
  assert.deepEqual([key.inputs.namespace, key.inputs.expiration, key.inputs.rotation], ["prod", "180d", "2026-11"]);
  const rule = plan.resources.find((r) => r.name === "elastic-kibana-denied-flows")!;
  // Namespace prod's own rule, reading only prod's data stream (another stack may share the Kibana space).
  assert.equal(rule.inputs.name, "Denied flows above 500 in 10 minutes [prod]");
  assert.deepEqual((rule.inputs.params as Record<string, unknown>).index, ["logs-azure.flowlogs-prod"]);
  // The collector writes where the templates and its key were made.
  const group = ofType(plan.resources, "azure-native:containerinstance:ContainerGroup")[0]!;
  const env = new Map(((group.inputs.containers as Array<Record<string, any>>)[0]!.environmentVariables as Array<Record<string, unknown>>).map((v) => [v.name, v.value ?? v.secureValue]));
  assert.equal(env.get("FLOWLOGS_ES_URL"), "https://flowlogs-prod.es.northeurope.azure.elastic-cloud.com");
  assert.equal(env.get("FLOWLOGS_ES_NAMESPACE"), "prod");
  assert.equal(env.get("FLOWLOGS_ES_API_KEY"), "[secret]");
  assert.ok(group.options?.dependencies?.includes("elastic-index-assets"), "the collector starts after the templates exist");
  assert.deepEqual([plan.outputs.dataStream, plan.outputs.deadLetterDataStream, plan.outputs.elasticWriterApiKey, plan.outputs.dashboardUrl], [
    "logs-azure.flowlogs-prod", "logs-azure.flowlogs.deadletter-prod", "[secret]",
    "https://flowlogs-prod.kb.northeurope.azure.elastic-cloud.com/s/netops/app/dashboards#/view/flowlogs-overview-prod",
  ]);
});

test("prod: every role the stack assigns is named by id in infra/README.md, where a condition on the deployer's role-assignment right must list it", () => {
  const readme = readFileSync(join(ROOT, "infra", "README.md"), "utf8");
  const roles = new Set(ofType(plan.resources, "azure-native:authorization:RoleAssignment")
    .map((r) => String(r.inputs.roleDefinitionId).split("/").pop()!));
  assert.equal(roles.size, 4, [...roles].join(", "));
  for (const role of roles) assert.ok(readme.includes(`\`${role}\``), `infra/README.md names role ${role}`);
});
