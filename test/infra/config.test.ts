// Pure config validation: no Pulumi runtime, no mocks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, deriveFlowLogName, parseConfig, type InfraConfig } from "../../infra/config";
import { CONTEXT, only } from "./configProblems";
import { NETWORK_RESOURCE_NAME, parseFlowLogTarget } from "../../infra/armId";

const ctx = CONTEXT;
const SUB = "11111111-2222-3333-4444-555555555555";
const vnet = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet1`;
const nsg = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg1`;
const base = { location: "westeurope", storage: { accountName: "flowlogs001" }, flowLogs: [{ targetResourceId: vnet }] };


test("a minimal config gets every documented default", () => {
  const config: InfraConfig = parseConfig(base, ctx);
  assert.equal(config.location, "westeurope");
  assert.equal(config.resourceGroupName, "flowlogs-to-elastic-dev");
  assert.deepEqual(config.tags, {});
  assert.deepEqual(config.networkWatcher, { create: false, name: "NetworkWatcher_westeurope", resourceGroupName: "NetworkWatcherRG" });
  assert.equal(config.demoNetwork, false);
  assert.equal(config.retentionDays, 30);
  assert.equal(config.trafficAnalytics, undefined);
  assert.deepEqual(config.storage, {
    accountName: "flowlogs001", sku: "Standard_LRS", allowSharedKeyAccess: false, networkDefaultAction: "Deny", allowedIpRanges: [],
    keepDataOnDestroy: true,
  });
  assert.equal(config.flowLogs.length, 1);
  assert.equal(config.flowLogs[0]!.kind, "virtualNetwork");
  assert.equal(config.flowLogs[0]!.nameIsExplicit, false);
});

test("location is normalised to the lowercase, no-space region name", () => {
  assert.equal(parseConfig({ ...base, location: "West Europe" }, ctx).location, "westeurope");
  assert.equal(parseConfig({ ...base, location: "EastUS2" }, ctx).networkWatcher.name, "NetworkWatcher_eastus2");
});

test("location is required and must look like a region", () => {
  assert.match(only({ ...base, location: undefined }, "location"), /required.*pulumi config set location westeurope/);
  assert.match(only({ ...base, location: "west-europe!" }, "location"), /not an Azure region name.*westeurope/);
  assert.match(only({ ...base, location: 7 }, "location"), /must be a string/);
});

test("several problems are reported together in ONE error, each naming its key and the fix", () => {
  let error: unknown;
  try {
    parseConfig({ locaton: "westeurope", storage: { accountName: "Flow-Logs", sku: "Premium_LRS" }, retentionDays: 400, flowLogs: [{ targetResourceId: nsg }] }, ctx);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError);
  const keys = error.problems.map((p) => p.split(":")[0]);
  assert.deepEqual(keys.sort(), ["flowLogs[0].targetResourceId", "location", "locaton", "retentionDays", "storage.accountName", "storage.sku"].sort());
  assert.match(error.message, /has 6 problems/);
  for (const p of error.problems) assert.ok(error.message.includes(p));
  assert.match(error.message, /pulumi config set/);
});

test("an unknown key is an error with a did-you-mean hint, top-level and nested", () => {
  assert.match(only({ ...base, retentionDay: 3 }, "retentionDay"), /did you mean "retentionDays"/);
  assert.match(only({ ...base, storage: { accountName: "flowlogs001", skuu: "Standard_LRS" } }, "storage.skuu"), /did you mean "storage.sku"/);
  assert.match(only({ ...base, networkWatcher: { crate: true } }, "networkWatcher.crate"), /did you mean "networkWatcher.create"/);
  assert.match(only({ ...base, somethingElse: 1 }, "somethingElse"), /not a setting of this project; known: location/);
});

test("storage.accountName must be 3-24 lowercase letters and digits", () => {
  for (const bad of ["ab", "Flowlogs", "flow-logs", "a".repeat(25)]) {
    assert.match(only({ ...base, storage: { accountName: bad } }, "storage.accountName"), /3-24 lowercase letters and digits/);
  }
  assert.match(only({ ...base, storage: undefined }, "storage"), /required.*storage.accountName/);
});

test("storage.sku: Premium is refused because flow logs do not support it; only Standard_* pass", () => {
  assert.match(only({ ...base, storage: { accountName: "flowlogs001", sku: "Premium_LRS" } }, "storage.sku"), /Premium.*flow logs do not support.*Standard_LRS/);
  assert.match(only({ ...base, storage: { accountName: "flowlogs001", sku: "Cheap" } }, "storage.sku"), /one of Standard_LRS/);
  assert.equal(parseConfig({ ...base, storage: { accountName: "flowlogs001", sku: "Standard_GZRS" } }, ctx).storage.sku, "Standard_GZRS");
});

test("storage network settings: default action and public IPv4 ranges only", () => {
  assert.match(only({ ...base, storage: { accountName: "flowlogs001", networkDefaultAction: "deny" } }, "storage.networkDefaultAction"), /"Deny"/);
  assert.match(only({ ...base, storage: { accountName: "flowlogs001", keepDataOnDestroy: "yes" } }, "storage.keepDataOnDestroy"), /true .*false/);
});

test("with the collector the storage firewall defaults to Allow, and an explicit Deny is refused with the reason", () => {
  const collector = { enabled: true, elasticsearch: { url: "https://es.example.com" } };
  const withCollector = { ...base, collector, collectorEsApiKey: "stand-in" };
  assert.equal(parseConfig({ ...withCollector, storage: { accountName: "flowlogs001" } }, { ...ctx, secretKeys: ["collectorEsApiKey"] }).storage.networkDefaultAction, "Allow");
  assert.match(only({ ...withCollector, storage: { accountName: "flowlogs001", networkDefaultAction: "Deny" } }, "storage.networkDefaultAction"), /no fixed outbound address.*collector.enabled: false/);
  assert.match(only({ ...base, storage: { accountName: "flowlogs001", allowedIpRanges: ["10.0.0.0/8"] } }, "storage.allowedIpRanges[0]"), /private address/);
  assert.match(only({ ...base, storage: { accountName: "flowlogs001", allowedIpRanges: ["203.0.113.7/32"] } }, "storage.allowedIpRanges[0]"), /up to \/30/);
  assert.match(only({ ...base, storage: { accountName: "flowlogs001", allowedIpRanges: ["300.1.1.1"] } }, "storage.allowedIpRanges[0]"), /not an IPv4/);
  assert.deepEqual(parseConfig({ ...base, storage: { accountName: "flowlogs001", allowedIpRanges: ["203.0.113.0/24"] } }, ctx).storage.allowedIpRanges, ["203.0.113.0/24"]);
});

test("retentionDays is an integer from 0 to 365", () => {
  for (const bad of [-1, 366, 1.5, "30"]) assert.match(only({ ...base, retentionDays: bad }, "retentionDays"), /0 to 365 \(0 keeps flow logs forever\)/);
  assert.equal(parseConfig({ ...base, retentionDays: 0 }, ctx).retentionDays, 0);
  assert.equal(parseConfig({ ...base, retentionDays: 365 }, ctx).retentionDays, 365);
});

test("the keep-forever tag is the program's to set (from retentionDays 0), not a user tag", () => {
  for (const key of ["flowlogs-retention", "FlowLogs-Retention"]) {
    assert.match(only({ ...base, tags: { [key]: "keep-forever" } }, `tags.${key}`), /reserved.*retentionDays/);
  }
});

test("a flow-log target's ARM id is checked part by part, and the message says which part is wrong", () => {
  const cases: Array<[string, RegExp]> = [
    ["subscriptions/x", /must start with "\/subscriptions\/"/],
    [`/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v`, /subscription id "not-a-guid" is not a GUID/],
    [`/subscriptions/${SUB}/resourcegroupz/rg/providers/Microsoft.Network/virtualNetworks/v`, /segment 3 is "resourcegroupz", expected "resourceGroups"/],
    [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm`, /namespace is "Microsoft.Compute", expected "Microsoft.Network"/],
    [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/ip`, /"publicIPAddresses" cannot carry a flow log/],
    [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks`, /<type>\/<name> pairs/],
    [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v//`, /empty segment/],
  ];
  for (const [id, expected] of cases) {
    const message = only({ ...base, flowLogs: [{ targetResourceId: id }] }, "flowLogs[0].targetResourceId");
    assert.match(message, expected, id);
  }
});

test("VNet, subnet and NIC targets are accepted (also as plain id strings); resource type case does not matter", () => {
  const subnet = `${vnet}/subnets/web`;
  const nic = `/subscriptions/${SUB}/resourceGroups/rg-vm/providers/microsoft.network/NetworkInterfaces/nic1`;
  const config = parseConfig({ ...base, flowLogs: [vnet, { targetResourceId: subnet }, { targetResourceId: nic }] }, ctx);
  assert.deepEqual(config.flowLogs.map((f) => f.kind), ["virtualNetwork", "subnet", "networkInterface"]);
  const parsed = parseFlowLogTarget(subnet);
  assert.ok(parsed.ok && parsed.id.resourceGroupName === "rg-net");
});

test("a NEW NSG flow log is refused, explaining the Azure block, the retirement and the VNet alternative (contract)", () => {
  const message = only({ ...base, flowLogs: [{ targetResourceId: nsg }] }, "flowLogs[0].targetResourceId");
  assert.match(message, /NsgFlowLogCreationBlocked/);
  assert.match(message, /2025-06-30/);
  assert.match(message, /2027-09-30/);
  assert.match(message, /virtualNetworks/);
  assert.match(message, /adoptExisting/);
});

test("adopting an NSG flow log onto an account without shared keys is refused, naming both fixes (it would write nothing)", () => {
  const adopt = { targetResourceId: nsg, adoptExisting: { flowLogName: "legacy-nsg-flowlog" } };
  for (const storage of [{ accountName: "flowlogs001" }, { accountName: "flowlogs001", allowSharedKeyAccess: false }]) {
    const message = only({ ...base, storage, flowLogs: [{ targetResourceId: vnet.replace("vnet1", "vnet0") }, adopt] }, "flowLogs[1].adoptExisting");
    assert.match(message, /legacy-nsg-flowlog/);
    assert.match(message, /storage\.allowSharedKeyAccess is false/);
    assert.match(message, /only write with the account key/);
    assert.match(message, /virtualNetworks\/<vnet>/);
    assert.match(message, /set `storage\.allowSharedKeyAccess: true`/);
  }
  // Adopted VNet flow logs write with the identity, so they need no keys.
  const adoptedVnet = parseConfig({ ...base, flowLogs: [{ targetResourceId: vnet, adoptExisting: { flowLogName: "vnet1-flowlog" } }] }, ctx);
  assert.equal(adoptedVnet.flowLogs[0]!.kind, "virtualNetwork");
});

test("an existing NSG flow log can be adopted (with shared keys on): its import id is under the watcher, its name kept", () => {
  const keys = { accountName: "flowlogs001", allowSharedKeyAccess: true };
  const config = parseConfig({ ...base, storage: keys, flowLogs: [{ targetResourceId: nsg, adoptExisting: { flowLogName: "legacy-nsg-flowlog" } }] }, ctx);
  const [adopted] = config.flowLogs;
  assert.equal(adopted!.kind, "networkSecurityGroup");
  assert.equal(adopted!.flowLogName, "legacy-nsg-flowlog");
  assert.equal(adopted!.nameIsExplicit, true);
  assert.equal(adopted!.adoptExistingId,
    `/subscriptions/${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope/flowLogs/legacy-nsg-flowlog`);
  assert.match(only({ ...base, storage: keys, flowLogs: [{ targetResourceId: nsg, adoptExisting: {} }] }, "flowLogs[0].adoptExisting"), /flowLogName/);
  assert.match(only({ ...base, storage: keys, flowLogs: [{ targetResourceId: nsg, adoptExisting: { flowLogName: "a" }, name: "b" }] }, "flowLogs[0].name"), /keeps its name/);
});

test("adopting a flow log of another subscription than the one the stack deploys into is refused, naming the fix", () => {
  const keys = { accountName: "flowlogs001", allowSharedKeyAccess: true };
  const raw = { ...base, storage: keys, flowLogs: [{ targetResourceId: nsg, adoptExisting: { flowLogName: "legacy-nsg-flowlog" } }] };
  const other = "99999999-8888-7777-6666-555555555555";
  const message = only(raw, "flowLogs[0].adoptExisting", { ...ctx, deploySubscriptionId: other });
  assert.match(message, new RegExp(`target is in subscription ${SUB} and the stack deploys into ${other}: .*azure-native:subscriptionId`));
  const same = parseConfig(raw, { ...ctx, deploySubscriptionId: SUB.toUpperCase() });
  assert.match(same.flowLogs[0]!.adoptExistingId!, new RegExp(`^/subscriptions/${SUB.toUpperCase()}/resourceGroups/NetworkWatcherRG/`), "under the deploying subscription");
});

test("a flow log target of another subscription than the one the stack deploys into is refused, naming the fix", () => {
  const other = "99999999-8888-7777-6666-555555555555";
  const subnet = `${vnet.replace(SUB, other)}/subnets/web`;
  const message = only({ ...base, flowLogs: [vnet, subnet] }, "flowLogs[1].targetResourceId", { ...ctx, deploySubscriptionId: SUB });
  assert.match(message, new RegExp(`target is in subscription ${other} and the stack deploys into ${SUB}: .*FlowLogTargetResourceIsInDifferentSubscription`));
  assert.match(message, new RegExp(`deploys into ${other} \\(azure-native:subscriptionId\\), or remove the entry`));
  // The same subscription in any case passes; so does any target while the deploying subscription is unknown.
  assert.equal(parseConfig({ ...base, flowLogs: [vnet.replace(SUB, SUB.toUpperCase())] }, { ...ctx, deploySubscriptionId: SUB }).flowLogs.length, 1);
  assert.equal(parseConfig({ ...base, flowLogs: [vnet, subnet] }, ctx).flowLogs.length, 2);
  // An encrypted azure-native:subscriptionId reaches the offline plan as "[secret]": not a subscription, so unknown.
  assert.equal(parseConfig({ ...base, flowLogs: [vnet, subnet] }, { ...ctx, deploySubscriptionId: "[secret]" }).flowLogs.length, 2);
});

test("derived flow-log names are valid, deterministic, and change when the target changes", () => {
  const one = parseConfig(base, ctx).flowLogs[0]!.flowLogName;
  assert.equal(parseConfig(base, ctx).flowLogs[0]!.flowLogName, one);
  assert.match(one, /^vnet1-rg-net-[0-9a-f]{8}-flowlog$/);
  const other = parseConfig({ ...base, flowLogs: [{ targetResourceId: vnet.replace("vnet1", "vnet2") }] }, ctx).flowLogs[0]!.flowLogName;
  assert.notEqual(other, one);
  // Same names, different subscription: still a different flow-log name.
  assert.notEqual(deriveFlowLogName(["vnet1"], "rg-net", vnet.replace(SUB, SUB.replace("1111", "9999"))), one);
  const long = deriveFlowLogName(["v".repeat(80), "s".repeat(80)], "r".repeat(90), vnet);
  assert.equal(long.length, 80);
  assert.match(long, /^[a-z0-9][a-z0-9_.-]*[a-z0-9_]$/);
});

test("explicit flow-log names are validated; duplicates of names or targets are refused", () => {
  assert.match(only({ ...base, flowLogs: [{ targetResourceId: vnet, name: "-bad" }] }, "flowLogs[0].name"), /not a valid flow log name/);
  assert.equal(parseConfig({ ...base, flowLogs: [{ targetResourceId: vnet, name: "hub_flowlog" }] }, ctx).flowLogs[0]!.nameIsExplicit, true);
  assert.match(only({ ...base, flowLogs: [vnet, vnet.toUpperCase().replace("/SUBSCRIPTIONS", "/subscriptions")] }, "flowLogs[1].targetResourceId"), /repeats flowLogs\[0\]/);
  assert.match(only({ ...base, flowLogs: [{ targetResourceId: vnet, name: "x1" }, { targetResourceId: `${vnet}/subnets/a`, name: "X1" }] }, "flowLogs[1].name"), /also used by flowLogs\[0\]/);
});

test("there must be something to log: flowLogs or demoNetwork", () => {
  assert.match(only({ location: "westeurope", storage: { accountName: "flowlogs001" } }, "flowLogs"), /nothing to log.*demoNetwork: true/);
  const demo = parseConfig({ location: "westeurope", storage: { accountName: "flowlogs001" }, demoNetwork: true }, ctx);
  assert.deepEqual(demo.demoNetwork, { virtualNetworkName: "flowlogs-to-elastic-dev-demo-vnet", flowLogName: "flowlogs-to-elastic-dev-demo-vnet-flowlog" });
  assert.deepEqual(demo.flowLogs, []);
  assert.match(only({ ...base, demoNetwork: "yes" }, "demoNetwork"), /true or false/);
});

test("networkWatcher: existing by default, overridable, or create: true (then in the stack's group)", () => {
  assert.deepEqual(parseConfig({ ...base, networkWatcher: { name: "nw-weu", resourceGroupName: "rg-nw" } }, ctx).networkWatcher,
    { create: false, name: "nw-weu", resourceGroupName: "rg-nw" });
  assert.deepEqual(parseConfig({ ...base, networkWatcher: { create: true } }, ctx).networkWatcher,
    { create: true, name: "NetworkWatcher_westeurope", resourceGroupName: "flowlogs-to-elastic-dev" });
  assert.match(only({ ...base, networkWatcher: { create: "yes" } }, "networkWatcher.create"), /true or false/);
  assert.match(only({ ...base, networkWatcher: { resourceGroupName: "bad/rg" } }, "networkWatcher.resourceGroupName"), /not a valid resource group name/);
});

test("trafficAnalytics: an existing workspace id or create: true, interval 10 or 60", () => {
  const workspace = `/subscriptions/${SUB}/resourceGroups/rg-mon/providers/Microsoft.OperationalInsights/workspaces/law1`;
  assert.deepEqual(parseConfig({ ...base, trafficAnalytics: { workspaceResourceId: workspace } }, ctx).trafficAnalytics,
    { intervalMinutes: 60, workspace: { create: false, resourceId: workspace, resourceGroupName: "rg-mon", name: "law1" } });
  assert.deepEqual(parseConfig({ ...base, trafficAnalytics: { create: true, intervalMinutes: 10 } }, ctx).trafficAnalytics,
    { intervalMinutes: 10, workspace: { create: true, name: "flowlogs-to-elastic-dev-traffic-analytics" } });
  assert.equal((parseConfig({ ...base, resourceGroupName: "(rg_x.1)", trafficAnalytics: { create: true } }, ctx).trafficAnalytics!.workspace as { name: string }).name,
    "rg-x-1-traffic-analytics");
  assert.match(only({ ...base, trafficAnalytics: { create: true, intervalMinutes: 30 } }, "trafficAnalytics.intervalMinutes"), /10 or 60/);
  assert.match(only({ ...base, trafficAnalytics: { create: true, workspaceResourceId: workspace } }, "trafficAnalytics"), /not both/);
  assert.match(only({ ...base, trafficAnalytics: {} }, "trafficAnalytics"), /workspaceResourceId.*create: true/);
  assert.match(only({ ...base, trafficAnalytics: { workspaceResourceId: vnet } }, "trafficAnalytics.workspaceResourceId"), /Microsoft.OperationalInsights\/workspaces/);
});

test("trafficAnalytics: a workspace of another subscription is described by its GUID and region; without them, a known other deploying subscription is a config error", () => {
  const other = "99999999-8888-7777-6666-555555555555";
  const workspace = `/subscriptions/${other}/resourceGroups/rg-mon/providers/Microsoft.OperationalInsights/workspaces/law1`;
  const guid = "0A1B2C3D-0000-4000-8000-123456789ABC";
  assert.deepEqual(parseConfig({ ...base, trafficAnalytics: { workspaceResourceId: workspace, workspaceGuid: guid, workspaceRegion: "westeurope" } },
    { ...ctx, deploySubscriptionId: SUB }).trafficAnalytics!.workspace,
  { create: false, resourceId: workspace, resourceGroupName: "rg-mon", name: "law1", known: { guid: guid.toLowerCase(), region: "westeurope" } });
  const otherSub = (trafficAnalytics: Record<string, unknown>, key: string) => only({ ...base, trafficAnalytics }, key, { ...ctx, deploySubscriptionId: SUB });
  const missing = otherSub({ workspaceResourceId: workspace }, "trafficAnalytics.workspaceGuid");
  assert.match(missing, new RegExp(`subscription ${other}.*deploys into ${SUB}.*set trafficAnalytics.workspaceGuid and trafficAnalytics.workspaceRegion`));
  assert.match(missing, /az monitor log-analytics workspace show --ids \/subscriptions\/9999/);
  // Same subscription (any case), or the deploying one unknown (an `az login` default): looked up as before.
  const upper = workspace.replace(other, other.toUpperCase());
  const otherVnet = vnet.replace(SUB, other);
  assert.equal((parseConfig({ ...base, flowLogs: [otherVnet], trafficAnalytics: { workspaceResourceId: upper } }, { ...ctx, deploySubscriptionId: other }).trafficAnalytics!.workspace as { known?: unknown }).known, undefined);
  assert.equal((parseConfig({ ...base, trafficAnalytics: { workspaceResourceId: workspace } }, ctx).trafficAnalytics!.workspace as { known?: unknown }).known, undefined);
  assert.match(otherSub({ workspaceResourceId: workspace, workspaceGuid: workspace, workspaceRegion: "westeurope" }, "trafficAnalytics.workspaceGuid"), /customerId, not its resource id/);
  assert.match(otherSub({ workspaceResourceId: workspace, workspaceGuid: guid }, "trafficAnalytics.workspaceRegion"), /as ARM names it \(e\.g\. westeurope\), got nothing/);
  assert.match(otherSub({ workspaceResourceId: workspace, workspaceGuid: guid, workspaceRegion: "West Europe" }, "trafficAnalytics.workspaceRegion"), /"West Europe"/);
  assert.match(only({ ...base, trafficAnalytics: { create: true, workspaceGuid: guid, workspaceRegion: "westeurope" } }, "trafficAnalytics"), /remove them with `create: true`/);
});

test("resourceGroupName and tags are validated", () => {
  assert.equal(parseConfig({ ...base, resourceGroupName: "rg-flowlogs" }, ctx).resourceGroupName, "rg-flowlogs");
  assert.equal(parseConfig({ ...base, resourceGroupName: "" }, ctx).resourceGroupName, "flowlogs-to-elastic-dev");
  assert.match(only({ ...base, resourceGroupName: "ends-with." }, "resourceGroupName"), /not a valid resource group name/);
  assert.match(only({ ...base, tags: { cost: 5 } }, "tags.cost"), /must be a string/);
  assert.match(only({ ...base, tags: ["a"] }, "tags"), /map of strings/);
  // Every tag goes on the storage account too, whose tag names are limited to 128 characters.
  assert.deepEqual(parseConfig({ ...base, tags: { ["k".repeat(128)]: "v" } }, ctx).tags, { ["k".repeat(128)]: "v" });
  assert.match(only({ ...base, tags: { ["k".repeat(129)]: "v" } }, `tags.${"k".repeat(129)}`), /at most 128 characters/);
});

test("names derived from a long stack name stay valid Azure names, or the key to set is named", () => {
  // Stack names may be up to 100 characters.
  const stack = "team-networking-westeurope-production1";
  const demo = parseConfig({ location: "westeurope", storage: { accountName: "flowlogs001" }, demoNetwork: true }, { ...ctx, stack });
  const name = (demo.demoNetwork as { virtualNetworkName: string }).virtualNetworkName;
  assert.equal(name, "flowlogs-to-elastic-team-networking-westeurope-production1-demo");
  assert.match(name, NETWORK_RESOURCE_NAME);
  const long = { ...ctx, stack: "s".repeat(75) };
  assert.match(only(base, "resourceGroupName", long), /the default "flowlogs-to-elastic-s+" \(project-stack\) is not a valid resource group name.*set resourceGroupName/);
  assert.equal(parseConfig({ ...base, resourceGroupName: "rg-flowlogs" }, long).resourceGroupName, "rg-flowlogs");
});
