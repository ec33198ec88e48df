// A STAND-IN for the azure-native and docker provider plugins, for tests only: it talks to no cloud and no Docker
// daemon. The real plugins cannot be had here (their module paths are not on the Go module proxy, and they would
// need Azure credentials), yet the real engine needs a plugin of each name to preview the program. Built on
// `pulumi.provider.main`; the engine finds it on PATH as bin/pulumi-resource-<package> and warns that it uses a
// plugin from $PATH.
// What it does: echoes inputs as outputs, makes ARM-shaped ids, answers the invokes the program makes (a network
// watcher, existing flow log targets, a workspace, the deploying identity), and implements `read` so that an `import` can be previewed.
// Anything else (an invoke it does not know) is an error, so a new call the program starts making is noticed.
// With STAND_IN_ARM_STATE (a JSON file path) it also keeps what "Azure" holds in that file, across the engine's
// operations, and answers as ARM does by the documented rules of ./armRules.ts: refused storage SKU updates, the
// watcher Azure creates in the background after a VNet (after STAND_IN_WATCHER_DELAY_MS), the one-watcher limit.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { armRefusesSkuUpdate, autoCreatedWatcher } from "./armRules";

const STAND_IN_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa";

const packageName = process.argv[2];
if (packageName !== "azure-native" && packageName !== "docker") {
  console.error(`stand-in provider: unknown package ${JSON.stringify(packageName)} (expected azure-native or docker)`);
  process.exit(2);
}
const root = resolve(__dirname, "..", "..", "..");
// The engine asks for the version the SDK registered; answering it keeps the engine's plugin bookkeeping plain.
const version: string = JSON.parse(readFileSync(join(root, "node_modules", "@pulumi", packageName, "package.json"), "utf8")).version;

function guid(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** `azure-native:network:FlowLog` -> { namespace: "Microsoft.Network", kind: "flowLogs" } (a plausible ARM shape). */
function armKind(type: string): { namespace: string; kind: string } {
  const [, module = "resources", resource = "Resource"] = type.split(":");
  const namespace = `Microsoft.${module.charAt(0).toUpperCase()}${module.slice(1)}`;
  return { namespace, kind: `${resource.charAt(0).toLowerCase()}${resource.slice(1)}s` };
}

/** The resource's own name input: `<camelCaseType>Name` as azure-native names it, or the logical name. */
function resourceName(type: string, urn: string, inputs: Record<string, any>): string {
  const resource = type.split(":")[2] ?? "";
  const key = `${resource.charAt(0).toLowerCase()}${resource.slice(1)}Name`;
  const candidates = [key, "resourceName", "accountName", "containerName"];
  for (const candidate of candidates) if (typeof inputs[candidate] === "string") return inputs[candidate];
  return urn.slice(urn.lastIndexOf("::") + 2);
}

function azureCreate(type: string, urn: string, inputs: Record<string, any>): { id: string; outs: Record<string, unknown> } {
  const sub = `/subscriptions/${STAND_IN_SUBSCRIPTION}`;
  const group = `${sub}/resourceGroups/${inputs.resourceGroupName ?? "stand-in-rg"}`;
  const outs: Record<string, unknown> = { ...inputs };
  const name = resourceName(type, urn, inputs);
  outs.name = name;
  let id: string;
  switch (type) {
    case "azure-native:resources:ResourceGroup":
      id = `${sub}/resourceGroups/${name}`;
      break;
    case "azure-native:authorization:RoleAssignment":
      outs.name = inputs.roleAssignmentName ?? guid(urn);
      id = `${inputs.scope}/providers/Microsoft.Authorization/roleAssignments/${outs.name}`;
      break;
    case "azure-native:network:FlowLog":
      id = `${group}/providers/Microsoft.Network/networkWatchers/${inputs.networkWatcherName}/flowLogs/${name}`;
      break;
    case "azure-native:storage:BlobContainer":
      id = `${group}/providers/Microsoft.Storage/storageAccounts/${inputs.accountName}/blobServices/default/containers/${name}`;
      break;
    case "azure-native:storage:ManagementPolicy":
      id = `${group}/providers/Microsoft.Storage/storageAccounts/${inputs.accountName}/managementPolicies/${inputs.managementPolicyName ?? "default"}`;
      break;
    default: {
      const { namespace, kind } = armKind(type);
      id = `${group}/providers/${namespace}/${kind}/${name}`;
    }
  }
  if (type === "azure-native:storage:StorageAccount") outs.primaryEndpoints = { blob: `https://${name}.blob.core.windows.net/` };
  if (type === "azure-native:managedidentity:UserAssignedIdentity") Object.assign(outs, { principalId: guid(`principal:${urn}`), clientId: guid(`client:${urn}`) });
  if (type === "azure-native:containerregistry:Registry") outs.loginServer = `${name.toLowerCase()}.azurecr.io`;
  if (type === "azure-native:operationalinsights:Workspace") outs.customerId = guid(`workspace:${urn}`);
  return { id, outs: { ...outs, id } };
}

/** What the ARM double holds: resources by lower-cased id, and watchers Azure is still creating. */
interface ArmState {
  resources: Record<string, { type: string; inputs: Record<string, any> }>;
  pendingWatchers: Array<{ id: string; region: string; readyAt: number }>;
}

const armStateFile = process.env.STAND_IN_ARM_STATE;

function withArmState<T>(change: (state: ArmState) => T): T {
  const state: ArmState = armStateFile && existsSync(armStateFile)
    ? JSON.parse(readFileSync(armStateFile, "utf8"))
    : { resources: {}, pendingWatchers: [] };
  // Azure's background creation finishes on its own time.
  for (const pending of state.pendingWatchers.filter((w) => w.readyAt <= Date.now())) {
    state.resources[pending.id] = { type: "azure-native:network:NetworkWatcher", inputs: { location: pending.region } };
  }
  state.pendingWatchers = state.pendingWatchers.filter((w) => w.readyAt > Date.now());
  const result = change(state);
  writeFileSync(armStateFile!, JSON.stringify(state, null, 2));
  return result;
}

function armError(status: number, code: string, message: string): Error {
  return new Error(`Status=${status} Code="${code}" Message="${message}"`);
}

function watcherId(resourceGroupName: string, name: string): string {
  return `/subscriptions/${STAND_IN_SUBSCRIPTION}/resourceGroups/${resourceGroupName}/providers/Microsoft.Network/networkWatchers/${name}`.toLowerCase();
}

function watcherInRegion(state: ArmState, region: string): string | undefined {
  const pending = state.pendingWatchers.find((w) => w.region === region.toLowerCase());
  if (pending) return pending.id;
  return Object.entries(state.resources)
    .find(([, r]) => r.type === "azure-native:network:NetworkWatcher" && String(r.inputs.location).toLowerCase() === region.toLowerCase())?.[0];
}

/** ARM's side of a create or update, or its refusal. */
function armWrite(type: string, id: string, inputs: Record<string, any>, state: ArmState): void {
  const existing = state.resources[id.toLowerCase()];
  if (type === "azure-native:storage:StorageAccount" && existing) {
    const [from, to] = [existing.inputs.sku?.name, inputs.sku?.name];
    if (armRefusesSkuUpdate(from, to)) {
      throw armError(400, "StorageAccountTypeConversionNotAllowed", `Storage account type cannot be changed from ${from} to ${to}.`);
    }
  }
  if (type === "azure-native:network:NetworkWatcher" && !existing) {
    const other = watcherInRegion(state, inputs.location);
    if (other && other !== id.toLowerCase()) {
      throw armError(400, "NetworkWatcherCountLimitReached", "Cannot create more than 1 network watchers for this subscription in this region.");
    }
  }
  state.resources[id.toLowerCase()] = { type, inputs };
  if (type === "azure-native:network:VirtualNetwork" && !watcherInRegion(state, inputs.location)) {
    const auto = autoCreatedWatcher(inputs.location);
    const delay = Number(process.env.STAND_IN_WATCHER_DELAY_MS ?? "3000");
    state.pendingWatchers.push({ id: watcherId(auto.resourceGroupName, auto.name), region: String(inputs.location).toLowerCase(), readyAt: Date.now() + delay });
  }
}

function armGetWatcher(args: Record<string, any>): Record<string, unknown> {
  return withArmState((state) => {
    const id = watcherId(args.resourceGroupName, args.networkWatcherName);
    const found = state.resources[id];
    if (!found) {
      throw armError(404, "ResourceNotFound", `The Resource 'Microsoft.Network/networkWatchers/${args.networkWatcherName}' under resource group '${args.resourceGroupName}' was not found.`);
    }
    return { id: `/subscriptions/${STAND_IN_SUBSCRIPTION}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.Network/networkWatchers/${args.networkWatcherName}`, name: args.networkWatcherName, location: found.inputs.location, provisioningState: "Succeeded" };
  });
}

function azureInvoke(token: string, args: Record<string, any>): Record<string, unknown> {
  const group = `/subscriptions/${STAND_IN_SUBSCRIPTION}/resourceGroups/${args.resourceGroupName}`;
  switch (token) {
    case "azure-native:network:getNetworkWatcher":
      if (armStateFile) return armGetWatcher(args);
      return { id: `${group}/providers/Microsoft.Network/networkWatchers/${args.networkWatcherName}`, name: args.networkWatcherName, location: "stand-in", provisioningState: "Succeeded" };
    // Existing flow log targets (infra/components/flowLogTargetCheck.ts): found, in the region the test says they are in.
    case "azure-native:network:getVirtualNetwork":
    case "azure-native:network:getNetworkInterface":
    case "azure-native:network:getNetworkSecurityGroup":
      return { name: args.virtualNetworkName ?? args.networkInterfaceName ?? args.networkSecurityGroupName, location: existingResourcesRegion() };
    case "azure-native:network:getSubnet":
      return { name: args.subnetName };
    case "azure-native:operationalinsights:getWorkspace":
      return { id: `${group}/providers/Microsoft.OperationalInsights/workspaces/${args.workspaceName}`, name: args.workspaceName, customerId: guid(`workspace:${args.workspaceName}`), location: "stand-in" };
    case "azure-native:authorization:getClientConfig":
      return { clientId: guid("deployer-client"), objectId: guid("deployer-object"), subscriptionId: STAND_IN_SUBSCRIPTION, tenantId: guid("tenant") };
    case "azure-native:authorization:getClientToken":
      return { token: "stand-in-arm-token" };
    default:
      throw new Error(`the stand-in azure-native provider does not answer ${token}: teach test/engine/standInProviders/standInProvider.ts`);
  }
}

/** Where the stand-in's existing network resources are: STAND_IN_REGION (test/engine/support/previewProgram.ts sets it). */
function existingResourcesRegion(): string {
  const region = process.env.STAND_IN_REGION;
  if (!region) throw new Error("the stand-in azure-native provider answers lookups of existing network resources only with STAND_IN_REGION set");
  return region;
}

const provider: pulumi.provider.Provider = {
  version,
  async check(_urn, _olds, news) {
    return { inputs: news };
  },
  async diff(_id, _urn, olds, news) {
    return { changes: JSON.stringify(olds) !== JSON.stringify(news) };
  },
  async create(urn, inputs) {
    const type = urn.split("::")[2]!.split("$").pop()!;
    if (packageName === "docker") {
      const digest = createHash("sha256").update(urn).digest("hex");
      return { id: `stand-in-image-${digest.slice(0, 12)}`, outs: { ...inputs, repoDigest: `${String(inputs.imageName).replace(/:[^:/]+$/, "")}@sha256:${digest}` } };
    }
    const created = azureCreate(type, urn, inputs);
    if (armStateFile) withArmState((state) => armWrite(type, created.id, inputs, state));
    return created;
  },
  // An `import` reads the existing resource by id with no properties, and the engine needs inputs back (without
  // them it answers "provider does not support importing"): answer with what the ARM id says.
  async read(id, _urn, props) {
    const known = props && Object.keys(props).length > 0 ? props : undefined;
    const inputs: Record<string, unknown> = known ?? {};
    if (!known) {
      const group = /\/resourceGroups\/([^/]+)/i.exec(id)?.[1];
      if (group) inputs.resourceGroupName = group;
    }
    return { id, props: { ...inputs, id, name: id.slice(id.lastIndexOf("/") + 1) }, inputs };
  },
  async update(id, urn, olds, news) {
    const type = urn.split("::")[2]!.split("$").pop()!;
    if (armStateFile && packageName === "azure-native") withArmState((state) => armWrite(type, id, news, state));
    return { outs: { ...olds, ...news } };
  },
  // What Azure no longer holds once deleted (the engine does not ask for resources it retains on delete).
  async delete(id) {
    if (armStateFile && packageName === "azure-native") withArmState((state) => { delete state.resources[id.toLowerCase()]; });
  },
  async invoke(token, args) {
    if (packageName !== "azure-native") throw new Error(`the stand-in docker provider answers no invokes (asked ${token})`);
    return { outputs: azureInvoke(token, args) };
  },
};

void pulumi.provider.main(provider, process.argv.slice(3));
