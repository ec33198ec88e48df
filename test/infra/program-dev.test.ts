// The program under Pulumi mocks with the committed dev stack (demo network, defaults): one mock run for this
// file's process, then every resource and security property checked.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { runProgramUnderMocks, type PlanResult } from "../../infra/plan/mockRun";
import { STORAGE_BLOB_DATA_CONTRIBUTOR } from "../../infra/components/builtInRoles";
import { ofType, one } from "./planHelpers";
import { loadExampleStack } from "../support/exampleStacks";

let plan: PlanResult;
before(async () => {
  plan = await runProgramUnderMocks(loadExampleStack("dev"));
});

test("dev: the resource group is declared with the derived name, region and tags", () => {
  const rg = one(plan.resources, "azure-native:resources:ResourceGroup");
  assert.deepEqual(rg.inputs, {
    resourceGroupName: "flowlogs-to-elastic-dev", location: "westeurope", tags: { environment: "dev", project: "flowlogs-to-elastic" },
  });
  assert.equal(rg.parent, null);
});

test("dev: the storage account is StorageV2, TLS 1.2, HTTPS only, no public blobs, no cross-tenant replication, explicit name", () => {
  const account = one(plan.resources, "azure-native:storage:StorageAccount");
  assert.equal(account.parent, "flowlog-storage");
  const i = account.inputs;
  assert.equal(i.kind, "StorageV2");
  assert.equal(i.accountName, "flowlogsdev4711");
  assert.equal(i.minimumTlsVersion, "TLS1_2");
  assert.equal(i.enableHttpsTrafficOnly, true);
  assert.equal(i.allowBlobPublicAccess, false);
  assert.equal(i.allowCrossTenantReplication, false);
  assert.deepEqual(i.sku, { name: "Standard_LRS" });
  assert.equal(i.location, "westeurope");
  assert.equal(i.resourceGroupName, "flowlogs-to-elastic-dev");
});

test("dev: with the collector (no fixed egress address in ACI) the storage firewall allows, trusted Azure services still bypass", () => {
  const i = one(plan.resources, "azure-native:storage:StorageAccount").inputs;
  assert.deepEqual(i.networkRuleSet, { defaultAction: "Allow", bypass: "AzureServices", ipRules: [] });
  assert.equal(i.publicNetworkAccess, "Enabled", "fully disabled public access would also stop the trusted-service bypass");
});

test("dev: shared keys are off by default, so flow logs get a managed identity with Storage Blob Data Contributor", () => {
  const i = one(plan.resources, "azure-native:storage:StorageAccount").inputs;
  assert.equal(i.allowSharedKeyAccess, false);
  assert.equal(i.defaultToOAuthAuthentication, true);
  // The writer's own identity and assignment (the collector's are checked in collector-dev.test.ts).
  const writerResources = plan.resources.filter((r) => r.parent === "flowlog-writer");
  const identity = one(writerResources, "azure-native:managedidentity:UserAssignedIdentity");
  const role = one(writerResources, "azure-native:authorization:RoleAssignment");
  assert.equal(role.inputs.principalType, "ServicePrincipal");
  assert.match(String(role.inputs.roleDefinitionId), new RegExp(`^/subscriptions/[0-9a-f-]{36}/providers/Microsoft.Authorization/roleDefinitions/${STORAGE_BLOB_DATA_CONTRIBUTOR}$`));
  assert.equal(role.inputs.scope, plan.outputs.storageAccountId);
  assert.match(String(role.inputs.principalId), /^[0-9a-f-]{36}$/);
  const flowLog = one(plan.resources, "azure-native:network:FlowLog");
  const identityId = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/flowlogs-to-elastic-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identity.inputs.resourceName}`;
  assert.deepEqual(flowLog.inputs.identity, { type: "UserAssigned", userAssignedIdentities: [identityId] });
  assert.ok(flowLog.options?.dependencies?.includes(role.name), "the flow log waits for the role assignment");
});

test("dev: retention is ONE lifecycle policy named default; the flow log's own retention is off", () => {
  const policy = one(plan.resources, "azure-native:storage:ManagementPolicy");
  assert.equal(policy.inputs.managementPolicyName, "default");
  assert.equal(policy.inputs.accountName, "flowlogsdev4711");
  const rules = (policy.inputs.policy as { rules: Array<Record<string, any>> }).rules;
  assert.equal(rules.length, 2, "flow logs, and (the collector is on) its stale checkpoints");
  assert.deepEqual(rules[0]!.definition.actions.baseBlob.delete, { daysAfterModificationGreaterThan: 7 });
  assert.deepEqual(rules[0]!.definition.filters.prefixMatch, ["insights-logs-flowlogflowevent/", "insights-logs-networksecuritygroupflowevent/"]);
  assert.deepEqual(rules[1]!.definition.actions.baseBlob.delete, { daysAfterModificationGreaterThan: 9 });
  assert.deepEqual(rules[1]!.definition.filters.prefixMatch, ["flowlogs-checkpoints/"]);
  assert.deepEqual(one(plan.resources, "azure-native:network:FlowLog").inputs.retentionPolicy, { enabled: false, days: 0 });
});

test("dev: the existing Network Watcher is looked up, never declared (NetworkWatcherCountLimitReached)", () => {
  assert.deepEqual(ofType(plan.resources, "azure-native:network:NetworkWatcher"), []);
  const lookups = plan.invokes.filter((i) => i.token === "azure-native:network:getNetworkWatcher");
  assert.deepEqual(lookups.map((l) => l.args), [{ networkWatcherName: "NetworkWatcher_westeurope", resourceGroupName: "NetworkWatcherRG" }]);
  assert.equal(plan.outputs.networkWatcherName, "NetworkWatcher_westeurope");
  assert.equal(plan.outputs.networkWatcherResourceGroupName, "NetworkWatcherRG");
});

test("dev: the flow log sits in the watcher's group with explicit region, JSON v2, name, enabled, and targets the demo VNet", () => {
  const flowLog = one(plan.resources, "azure-native:network:FlowLog");
  const vnet = one(plan.resources, "azure-native:network:VirtualNetwork");
  assert.equal(flowLog.parent, "flow-logs");
  assert.equal(flowLog.name, "flowlogs-to-elastic-dev-demo-vnet-flowlog");
  assert.deepEqual({ ...flowLog.inputs, identity: undefined, tags: undefined }, {
    networkWatcherName: "NetworkWatcher_westeurope",
    resourceGroupName: "NetworkWatcherRG",
    flowLogName: "flowlogs-to-elastic-dev-demo-vnet-flowlog",
    location: "westeurope",
    enabled: true,
    format: { type: "JSON", version: 2 },
    retentionPolicy: { enabled: false, days: 0 },
    storageId: plan.outputs.storageAccountId,
    targetResourceId: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/flowlogs-to-elastic-dev/providers/Microsoft.Network/virtualNetworks/${vnet.inputs.virtualNetworkName}`,
    identity: undefined,
    tags: undefined,
  });
  assert.equal(flowLog.inputs.flowAnalyticsConfiguration, undefined, "traffic analytics is off unless asked for");
  assert.deepEqual(flowLog.options?.replaceOnChanges, ["targetResourceId"]);
  assert.equal(flowLog.options?.deleteBeforeReplace, undefined, "a derived name changes with the target: create-then-delete is safe");
  assert.equal(flowLog.options?.import, undefined);
});

test("dev: the demo network is a VNet with one subnet behind an NSG with an allow and a deny rule", () => {
  const nsg = one(plan.resources, "azure-native:network:NetworkSecurityGroup");
  const vnet = one(plan.resources, "azure-native:network:VirtualNetwork");
  assert.equal(nsg.parent, "demo-network");
  assert.equal(vnet.parent, "demo-network");
  const rules = nsg.inputs.securityRules as Array<Record<string, unknown>>;
  assert.deepEqual(rules.map((r) => [r.access, r.direction, r.priority]), [["Allow", "Inbound", 200], ["Deny", "Inbound", 300]]);
  const subnets = vnet.inputs.subnets as Array<Record<string, any>>;
  assert.equal(subnets.length, 1);
  assert.match(subnets[0]!.networkSecurityGroup.id, /networkSecurityGroups\/flowlogs-to-elastic-dev-demo-vnet-nsg$/);
  // The watcher lookup happens after the VNet exists (Azure creates the watcher with the region's first VNet).
  const vnetAt = plan.events.indexOf("resource azure-native:network:VirtualNetwork::demo-network-vnet");
  const lookupAt = plan.events.indexOf("invoke azure-native:network:getNetworkWatcher");
  assert.ok(vnetAt >= 0 && lookupAt > vnetAt, plan.events.join("\n"));
});

test("dev: the resource group, so everything in it, waits for the storage SKU guard (a refused SKU change stops up before Azure changes)", () => {
  assert.deepEqual(one(plan.resources, "azure-native:resources:ResourceGroup").options?.dependencies, ["flowlog-storage-sku"]);
  assert.ok(one(plan.resources, "azure-native:storage:StorageAccount").options?.dependencies?.includes("resource-group"));
  const guard = plan.resources.find((r) => r.name === "flowlog-storage-sku")!;
  assert.deepEqual([guard.inputs.accountName, guard.inputs.sku], ["flowlogsdev4711", "Standard_LRS"]);
});

test("dev: every resource is inside a component except the resource group, and the components are the expected ones", () => {
  const roots = plan.resources.filter((r) => r.parent === null).map((r) => `${r.type} ${r.name}`).sort();
  assert.deepEqual(roots, [
    "azure-native:resources:ResourceGroup resource-group",
    "flowlogs:azure:BlobContainers flowlog-containers",
    "flowlogs:azure:Collector collector",
    "flowlogs:azure:DemoNetwork demo-network",
    "flowlogs:azure:FlowLogStorage flowlog-storage",
    "flowlogs:azure:FlowLogWriterIdentity flowlog-writer",
    "flowlogs:azure:FlowLogs flow-logs",
    "flowlogs:azure:NetworkWatcherReference network-watcher",
    "flowlogs:elastic:Elastic elastic",
    "pulumi-nodejs:dynamic/flowlogs:azure:StorageSkuGuard flowlog-storage-sku",
  ]);
  // 15 for the Azure side (with the storage SKU guard and the writer's role-assignment wait), 3 for the declared flow-log containers, 17 for
  // the collector with a built image (with its role-assignment wait), 12 for the Elastic side (component, index
  // assets, writer key, Kibana component, saved objects, alert connector, denied-flows and brute-force rules,
  // port-scan, host-sweep and new-destination country / ASN detection rules).
  assert.equal(plan.resources.length, 47);
});

test("dev: stack outputs give the rest of the system what it needs", () => {
  assert.deepEqual(plan.outputs, {
    resourceGroupName: "flowlogs-to-elastic-dev",
    storageAccountId: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/flowlogs-to-elastic-dev/providers/Microsoft.Storage/storageAccounts/flowlogsdev4711",
    storageAccountName: "flowlogsdev4711",
    storageBlobEndpoint: "https://flowlogsdev4711.blob.core.windows.net/",
    flowLogContainers: ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"],
    flowLogIds: ["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope/flowLogs/flowlogs-to-elastic-dev-demo-vnet-flowlog"],
    flowLogNames: ["flowlogs-to-elastic-dev-demo-vnet-flowlog"],
    networkWatcherName: "NetworkWatcher_westeurope",
    networkWatcherResourceGroupName: "NetworkWatcherRG",
    flowLogWriterIdentityId: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/flowlogs-to-elastic-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/flowlog-writer",
    demoVirtualNetworkId: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/flowlogs-to-elastic-dev/providers/Microsoft.Network/virtualNetworks/flowlogs-to-elastic-dev-demo-vnet",
    collectorIdentityClientId: plan.outputs.collectorIdentityClientId,
    collectorContainerGroupName: "flowlogs-to-elastic-dev-collector",
    collectorImage: plan.outputs.collectorImage,
    elasticWriterApiKey: "[secret]",
    elasticWriterKeyId: "mock-key-id-elastic-writer-key",
    dataStream: "logs-azure.flowlogs-dev",
    deadLetterDataStream: "logs-azure.flowlogs.deadletter-dev",
    dashboardUrl: "https://flowlogs-dev.kb.westeurope.azure.elastic-cloud.com/app/dashboards#/view/flowlogs-overview-dev",
  });
  assert.match(String(plan.outputs.collectorIdentityClientId), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.match(String(plan.outputs.collectorImage), /^flowlogsdev4711acr\.azurecr\.io\/flowlogs-collector@sha256:[0-9a-f]{64}$/);
});
