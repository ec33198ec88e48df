// The offline plan script, and program variants that each need their own mock run: every run below is a separate
// `scripts/plan.ts` process with a throw-away stack file (Pulumi mock state must not be shared between runs).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { PlannedResource } from "../../infra/plan/mockRun";
import { SUB, nsgId, ofType, one, planJson, planText, runPlan, vnetId, writeStackFile, type PlanRun } from "./planHelpers";
import { exampleStackArgs } from "../support/exampleStacks";

const storage = { accountName: "flowlogstest01" };
/** A landing zone's central workspace, in its management subscription; the stack deploys into SUB. */
const CENTRAL_WORKSPACE_ID = "/subscriptions/99999999-8888-7777-6666-555555555555/resourceGroups/rg-management/providers/Microsoft.OperationalInsights/workspaces/law-central";
const CENTRAL_GUID = "0a1b2c3d-0000-4000-8000-123456789abc";
const centralWorkspace = {
  "azure-native:subscriptionId": SUB, location: "westeurope", storage, flowLogs: [vnetId("vnet1")],
  trafficAnalytics: { workspaceResourceId: CENTRAL_WORKSPACE_ID },
};
const runs: Record<string, Promise<unknown>> = {};
const scenarios: Record<string, () => Promise<unknown>> = {
  devJson: () => runPlan([...exampleStackArgs("dev"), "--json"]),
  devText: () => runPlan(exampleStackArgs("dev")),
  createdWatcher: () => planJson({ location: "swedencentral", storage, flowLogs: [vnetId("vnet1")], networkWatcher: { create: true }, demoNetwork: true }),
  createdWatcherText: () => planText({ location: "swedencentral", storage, flowLogs: [vnetId("vnet1")], networkWatcher: { create: true } }),
  createdAzuresWatcherText: () => planText({ location: "swedencentral", storage, flowLogs: [vnetId("vnet1")], networkWatcher: { create: true, resourceGroupName: "NetworkWatcherRG" } }),
  sharedKeyNoRetentionNewWorkspace: () => planJson({
    location: "westeurope", retentionDays: 0, storage: { ...storage, allowSharedKeyAccess: true }, flowLogs: [vnetId("vnet1")],
    trafficAnalytics: { create: true },
  }),
  derivedBefore: () => planJson({ location: "westeurope", storage, flowLogs: [vnetId("vnet1")] }),
  derivedAfter: () => planJson({ location: "westeurope", storage, flowLogs: [vnetId("vnet2")] }),
  explicitBefore: () => planJson({ location: "westeurope", storage, flowLogs: [{ targetResourceId: vnetId("vnet1"), name: "main-flowlog" }] }),
  explicitAfter: () => planJson({ location: "westeurope", storage, flowLogs: [{ targetResourceId: vnetId("vnet2"), name: "main-flowlog" }] }),
  broken: async () => {
    const file = writeStackFile({ location: "westeurope", storage: { accountName: "Bad_Name" }, flowLogs: [nsgId("nsg1")], retentionDayz: 3 });
    try {
      return await runPlan(["--stack", "test", "--json", "--config-file", file.path]);
    } finally {
      file.remove();
    }
  },
  missingStack: () => runPlan(["--stack", "no-such-stack"]),
  otherSubscriptionWorkspace: () => planJson({ ...centralWorkspace, trafficAnalytics: { ...centralWorkspace.trafficAnalytics, workspaceGuid: CENTRAL_GUID, workspaceRegion: "northeurope" } }),
  otherSubscriptionWorkspaceText: () => planText({ ...centralWorkspace, trafficAnalytics: { ...centralWorkspace.trafficAnalytics, workspaceGuid: CENTRAL_GUID, workspaceRegion: "northeurope" } }),
  otherSubscriptionUndescribed: async () => {
    const file = writeStackFile(centralWorkspace);
    try {
      return await runPlan(["--stack", "test", "--config-file", file.path]);
    } finally {
      file.remove();
    }
  },
};

before(async () => {
  // Two at a time: the machine has two cores.
  const names = Object.keys(scenarios);
  const next = async (): Promise<void> => {
    const name = names.shift();
    if (!name) return;
    runs[name] = scenarios[name]!().catch((error: unknown) => error);
    await runs[name];
    await next();
  };
  await Promise.all([next(), next()]);
});

const result = async <T>(name: string): Promise<T> => {
  const value = await runs[name];
  if (value instanceof Error) throw value;
  return value as T;
};

test("plan --json prints ONE JSON array of {type, name, parent, inputs} on stdout and nothing else", async () => {
  const run = await result<PlanRun>("devJson");
  assert.equal(run.code, 0, run.stderr);
  const resources = JSON.parse(run.stdout) as PlannedResource[];
  assert.ok(Array.isArray(resources));
  // 14 for the Azure side, 3 for the declared flow-log containers, 16 for the collector (built image) of the dev
  // stack (each side's identity with its role-assignment wait), 12 for its Elastic side (program-dev.test.ts).
  assert.equal(resources.length, 47);
  for (const r of resources) {
    assert.deepEqual(Object.keys(r).filter((k) => k !== "options"), ["type", "name", "parent", "inputs"]);
    assert.equal(typeof r.type, "string");
    assert.ok(r.parent === null || typeof r.parent === "string");
  }
  const sorted = [...resources].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  assert.deepEqual(resources, sorted, "stable order for diffs");
  assert.ok(resources.some((r) => r.type === "azure-native:network:FlowLog" && r.parent === "flow-logs"));
});

test("plan without --json prints a readable tree with inputs, lookups and outputs", async () => {
  const run = await result<PlanRun>("devText");
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^Offline plan for stack "dev": 47 resources/);
  assert.match(run.stdout, /\n\+ flowlogs:azure:FlowLogs {2}flow-logs\n {2}\+ azure-native:network:FlowLog {2}flowlogs-to-elastic-dev-demo-vnet-flowlog\n/);
  assert.match(run.stdout, /\(replaceOnChanges: \["targetResourceId"\]\)/);
  assert.match(run.stdout, / {6}minimumTlsVersion: "TLS1_2"\n/);
  // Existing resources are looked up; the deployer's token and tenant (for the image push) are a separate list.
  assert.match(run.stdout, /\nLooked up \(must already exist in Azure\):\n {2}\? azure-native:network:getNetworkWatcher \{"networkWatcherName":"NetworkWatcher_westeurope","resourceGroupName":"NetworkWatcherRG"\}\n\n/);
  assert.match(run.stdout, /\nAsked of the deploying identity[^\n]*:\n {2}\? azure-native:authorization:getClientConfig \{\}\n {2}\? azure-native:authorization:getClientToken \{"endpoint":"https:\/\/containerregistry\.azure\.net"\}\n/);
  const lookedUp = run.stdout.slice(run.stdout.indexOf("Looked up"), run.stdout.indexOf("Asked of the deploying identity"));
  assert.doesNotMatch(lookedUp, /getClient(Token|Config)/, "the deployer's token is not a resource that must exist");
  // Dynamic resources of the Elastic side: provider code and NDJSON named, credentials hidden.
  assert.match(run.stdout, /\n {2}\+ pulumi-nodejs:dynamic\/flowlogs:elasticsearch:IndexAssets {2}elastic-index-assets\n/);
  assert.match(run.stdout, / {6}__provider: "\[dynamic provider: serialized code\]"\n/);
  // ...and which dashboard the stack imports and what its data views read: namespace dev's own.
  assert.match(run.stdout, / {8}ndjson: "\[\d+ saved objects, sha256 [0-9a-f]{16}; dashboard flowlogs-overview-dev; data views flowlogs-alerts-dev, logs-azure\.flowlogs-dev\]"\n/);
  assert.match(run.stdout, / {8}password: "\[secret\]"\n {8}url: "https:\/\/flowlogs-dev\.es\.westeurope\.azure\.elastic-cloud\.com"\n {8}username: "flowlogs_deployer"\n/);
  assert.match(run.stdout, /\n {2}elasticWriterApiKey: "\[secret\]"\n/);
  assert.ok(run.stdout.split("\n").every((line) => line.length < 4000), "no line carries serialized code or a whole NDJSON");
  assert.match(run.stdout, /storageBlobEndpoint: "https:\/\/flowlogsdev4711\.blob\.core\.windows\.net\/"/);
});

test("networkWatcher.create: one NetworkWatcher is declared in the stack's group and parents the flow logs", async () => {
  const resources = await result<PlannedResource[]>("createdWatcher");
  const watcher = one(resources, "azure-native:network:NetworkWatcher");
  assert.deepEqual({ ...watcher.inputs, tags: undefined }, {
    networkWatcherName: "NetworkWatcher_swedencentral", resourceGroupName: "flowlogs-to-elastic-test", location: "swedencentral", tags: undefined,
  });
  assert.equal(watcher.parent, "network-watcher");
  assert.equal(watcher.options?.retainOnDelete, true, "kept on destroy: the region's only watcher parents other stacks' flow logs");
  const flowLogs = ofType(resources, "azure-native:network:FlowLog");
  assert.equal(flowLogs.length, 2, "the demo VNet and vnet1");
  for (const flowLog of flowLogs) {
    assert.equal(flowLog.inputs.resourceGroupName, "flowlogs-to-elastic-test");
    assert.equal(flowLog.inputs.networkWatcherName, "NetworkWatcher_swedencentral");
    assert.ok(flowLog.options?.dependencies?.includes("network-watcher-watcher"));
  }
  // Our watcher must exist before the demo VNet, or Azure auto-creates a second one for the new VNet.
  const vnet = one(resources, "azure-native:network:VirtualNetwork");
  assert.ok(vnet.options?.dependencies?.includes("network-watcher-watcher"), JSON.stringify(vnet.options));
});

test("networkWatcher.create: the plan takes the config at its word: Azure's own watcher is checked to be absent, not looked up", async () => {
  const text = await result<string>("createdWatcherText");
  assert.match(text, /\nChecked to be absent \(must NOT exist in Azure\):\n {2}! azure-native:network:getNetworkWatcher \{"networkWatcherName":"NetworkWatcher_swedencentral","resourceGroupName":"NetworkWatcherRG"\}\n\n/);
  // The one lookup left is the flow log target's (components/flowLogTargetCheck.ts), not a watcher.
  assert.match(text, /\nLooked up \(must already exist in Azure\):\n {2}\? azure-native:network:getVirtualNetwork \{"resourceGroupName":"rg-net","virtualNetworkName":"vnet1"\}\n\n/);
  assert.match(text, /\n {2}\+ azure-native:network:NetworkWatcher {2}network-watcher-watcher\n/);
});

test("networkWatcher.create as Azure's own watcher (NetworkWatcher_<region> in NetworkWatcherRG): no check, it would find the stack's own", async () => {
  const text = await result<string>("createdAzuresWatcherText");
  assert.doesNotMatch(text, /getNetworkWatcher/);
  assert.match(text, /\n {2}\+ azure-native:network:NetworkWatcher {2}network-watcher-watcher\n(?: {6}[^\n]*\n)*? {6}resourceGroupName: "NetworkWatcherRG"\n/);
});

test("allowSharedKeyAccess: true drops the identity; retentionDays 0 disables the lifecycle rule; create: true makes a workspace", async () => {
  const resources = await result<PlannedResource[]>("sharedKeyNoRetentionNewWorkspace");
  assert.deepEqual(ofType(resources, "azure-native:managedidentity:UserAssignedIdentity"), []);
  assert.deepEqual(ofType(resources, "azure-native:authorization:RoleAssignment"), []);
  const policy = one(resources, "azure-native:storage:ManagementPolicy").inputs.policy as { rules: Array<{ enabled: boolean }> };
  assert.deepEqual(policy.rules.map((rule) => rule.enabled), [false], "0 keeps blobs forever");
  const account = one(resources, "azure-native:storage:StorageAccount");
  assert.equal(account.inputs.allowSharedKeyAccess, true);
  const flowLog = one(resources, "azure-native:network:FlowLog");
  assert.equal(flowLog.inputs.identity, undefined);
  assert.deepEqual(flowLog.inputs.retentionPolicy, { enabled: false, days: 0 }, "still never the flow log's own retention");
  const workspace = one(resources, "azure-native:operationalinsights:Workspace");
  assert.equal(workspace.inputs.resourceGroupName, "flowlogs-to-elastic-test");
  const ta = (flowLog.inputs.flowAnalyticsConfiguration as any).networkWatcherFlowAnalyticsConfiguration;
  assert.equal(ta.trafficAnalyticsInterval, 60);
  assert.match(ta.workspaceResourceId, /Microsoft.OperationalInsights\/workspaces\/flowlogs-to-elastic-test-traffic-analytics$/);
});

test("changing a target with a derived name declares a NEW flow log (new name) instead of repointing the old one", async () => {
  const before = one(await result<PlannedResource[]>("derivedBefore"), "azure-native:network:FlowLog");
  const after = one(await result<PlannedResource[]>("derivedAfter"), "azure-native:network:FlowLog");
  assert.notEqual(after.name, before.name, "different logical resource: Pulumi creates the new one and deletes the old");
  assert.notEqual(after.inputs.flowLogName, before.inputs.flowLogName);
});

test("changing a target with an explicit name replaces the flow log (delete first), never an in-place update", async () => {
  const before = one(await result<PlannedResource[]>("explicitBefore"), "azure-native:network:FlowLog");
  const after = one(await result<PlannedResource[]>("explicitAfter"), "azure-native:network:FlowLog");
  assert.equal(after.name, before.name);
  assert.notEqual(after.inputs.targetResourceId, before.inputs.targetResourceId);
  for (const flowLog of [before, after]) {
    assert.deepEqual(flowLog.options?.replaceOnChanges, ["targetResourceId"]);
    assert.equal(flowLog.options?.deleteBeforeReplace, true);
  }
});

test("traffic analytics into a workspace of another subscription: described by GUID and region, it is not looked up; undescribed, the plan stops naming the keys", async () => {
  const flowLog = one(await result<PlannedResource[]>("otherSubscriptionWorkspace"), "azure-native:network:FlowLog");
  assert.deepEqual((flowLog.inputs.flowAnalyticsConfiguration as any).networkWatcherFlowAnalyticsConfiguration, {
    enabled: true, workspaceId: CENTRAL_GUID, workspaceRegion: "northeurope", workspaceResourceId: CENTRAL_WORKSPACE_ID, trafficAnalyticsInterval: 60,
  });
  const text = await result<string>("otherSubscriptionWorkspaceText");
  assert.doesNotMatch(text, /getWorkspace/, "the deploying subscription could not look it up");
  const undescribed = await result<PlanRun>("otherSubscriptionUndescribed");
  assert.notEqual(undescribed.code, 0);
  assert.equal(undescribed.stdout, "");
  assert.match(undescribed.stderr, /trafficAnalytics\.workspaceGuid: the workspace is in subscription 99999999-8888-7777-6666-555555555555, and the stack deploys into 11111111-/);
});

test("a broken stack file exits non-zero with every problem listed on stderr and nothing on stdout", async () => {
  const run = await result<PlanRun>("broken");
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /has 3 problems/);
  assert.match(run.stderr, /retentionDayz: .*did you mean "retentionDays"/);
  assert.match(run.stderr, /storage\.accountName: "Bad_Name" is not a valid storage account name/);
  assert.match(run.stderr, /flowLogs\[0\]\.targetResourceId: .*NsgFlowLogCreationBlocked/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace for config errors");
});

test("a stack without a settings file is a clear error", async () => {
  const run = await result<PlanRun>("missingStack");
  assert.equal(run.code, 1);
  assert.match(run.stderr, /Pulumi\.no-such-stack\.yaml does not exist.*--config-file/);
});
