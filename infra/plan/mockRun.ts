// Runs the Pulumi program under `pulumi.runtime.setMocks` (no cloud, no Pulumi CLI) and collects every resource it
// would declare: type, logical name, parent, inputs and the resource options that change what the engine does
// (import, replaceOnChanges, deleteBeforeReplace). Used by `npm run plan` and by the tests.
// ONE run per process: the Pulumi runtime keeps module-level state (mock monitor, config, the program module).
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";

export const MOCK_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface PlannedResource {
  type: string;
  name: string;
  /** Logical name of the parent resource; null at the top of the stack. */
  parent: string | null;
  inputs: Record<string, unknown>;
  /** Only the options that are set. */
  options?: { import?: string; replaceOnChanges?: string[]; deleteBeforeReplace?: true; retainOnDelete?: true; dependencies?: string[] };
}

export interface PlannedInvoke {
  token: string;
  args: Record<string, unknown>;
}

export interface PlanResult {
  resources: PlannedResource[];
  invokes: PlannedInvoke[];
  outputs: Record<string, unknown>;
  /** The order in which the mocked provider saw registrations and lookups: `resource <type>::<name>` / `invoke <token>`. */
  events: string[];
}

export interface MockRunOptions {
  project: string;
  stack: string;
  /** Fully qualified keys (`<namespace>:<key>`), values as the Pulumi CLI passes them (JSON text for structures). */
  config: Record<string, string>;
  secretKeys?: string[];
  /** Path of the program module; defaults to infra/index.ts. */
  program?: string;
}

/** Runs the program once and returns what it declared. Rejects with the program's error (e.g. a config error). */
export async function runProgramUnderMocks(options: MockRunOptions): Promise<PlanResult> {
  const recorded = new Map<string, PlannedResource>();
  const invokes: PlannedInvoke[] = [];
  const events: string[] = [];
  const location = configLocation(options);
  const asyncErrors: unknown[] = [];
  const onRejection = (error: unknown): void => void asyncErrors.push(error);
  process.on("unhandledRejection", onRejection);

  pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);
  await pulumi.runtime.setMocks({
    newResource(args) {
      const key = `${args.type}::${args.name}`;
      const entry: PlannedResource = recorded.get(key) ?? { type: args.type, name: args.name, parent: null, inputs: {} };
      entry.inputs = scrub(args.inputs) as Record<string, unknown>;
      recorded.set(key, entry);
      events.push(`resource ${key}`);
      return mockResource(args.type, args.name, args.inputs, args.id, location);
    },
    call(args) {
      invokes.push({ token: args.token, args: scrub(args.inputs) as Record<string, unknown> });
      events.push(`invoke ${args.token}`);
      return mockInvoke(args.token, args.inputs, location);
    },
  }, options.project, options.stack, false);
  recordResourceOptions(recorded);

  try {
    const program = await import(resolve(options.program ?? resolve(__dirname, "..", "index.ts")));
    const outputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(program as Record<string, unknown>)) {
      if (name === "default" || name === "__esModule" || value === undefined) continue;
      outputs[name] = await resolveOutput(value);
    }
    await pulumi.runtime.disconnect(); // waits for every outstanding registration
    if (asyncErrors.length > 0) throw asyncErrors[0];
    const resources = [...recorded.values()].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
    return { resources, invokes, outputs, events };
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}

/** Wraps the mock monitor to see what the engine would get besides inputs: parent, import id, replace options. */
function recordResourceOptions(recorded: Map<string, PlannedResource>): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, cb: any) => unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const key = `${req.getType()}::${req.getName()}`;
    const entry: PlannedResource = recorded.get(key) ?? { type: req.getType(), name: req.getName(), parent: null, inputs: {} };
    const parentUrn: string = req.getParent();
    entry.parent = parentUrn ? parentUrn.slice(parentUrn.lastIndexOf("::") + 2) : null;
    const options: NonNullable<PlannedResource["options"]> = {};
    if (req.getImportid()) options.import = req.getImportid();
    if (req.getReplaceonchangesList().length > 0) options.replaceOnChanges = req.getReplaceonchangesList();
    if (req.getDeletebeforereplace()) options.deleteBeforeReplace = true;
    if (req.getRetainondelete()) options.retainOnDelete = true;
    const dependsOn: string[] = req.getDependenciesList().map((urn: string) => urn.slice(urn.lastIndexOf("::") + 2)).sort();
    if (dependsOn.length > 0) options.dependencies = dependsOn; // explicit and implied by inputs
    if (Object.keys(options).length > 0) entry.options = options;
    recorded.set(key, entry);
    return register(req, callback);
  };
}

/** Plausible provider answers, so that ids, names and endpoints of dependent resources resolve. */
function mockResource(type: string, name: string, inputs: any, importId: string | undefined, location: string) {
  const rg = (inputs.resourceGroupName as string | undefined) ?? "mock-rg";
  const base = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${rg}/providers`;
  const state: Record<string, unknown> = { ...inputs };
  let id: string;
  switch (type) {
    case "azure-native:resources:ResourceGroup":
      state.name = inputs.resourceGroupName ?? name;
      id = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${state.name}`;
      break;
    case "azure-native:storage:StorageAccount":
      state.name = inputs.accountName ?? name;
      state.primaryEndpoints = { blob: `https://${state.name}.blob.core.windows.net/`, dfs: `https://${state.name}.dfs.core.windows.net/` };
      id = `${base}/Microsoft.Storage/storageAccounts/${state.name}`;
      break;
    case "azure-native:storage:ManagementPolicy":
      state.name = inputs.managementPolicyName ?? "default";
      id = `${base}/Microsoft.Storage/storageAccounts/${inputs.accountName}/managementPolicies/${state.name}`;
      break;
    case "azure-native:network:NetworkSecurityGroup":
      state.name = inputs.networkSecurityGroupName ?? name;
      id = `${base}/Microsoft.Network/networkSecurityGroups/${state.name}`;
      break;
    case "azure-native:network:VirtualNetwork":
      state.name = inputs.virtualNetworkName ?? name;
      id = `${base}/Microsoft.Network/virtualNetworks/${state.name}`;
      break;
    case "azure-native:network:NetworkWatcher":
      state.name = inputs.networkWatcherName ?? name;
      id = `${base}/Microsoft.Network/networkWatchers/${state.name}`;
      break;
    case "azure-native:network:FlowLog":
      state.name = inputs.flowLogName ?? name;
      state.provisioningState = "Succeeded";
      id = `${base}/Microsoft.Network/networkWatchers/${inputs.networkWatcherName}/flowLogs/${state.name}`;
      break;
    case "azure-native:managedidentity:UserAssignedIdentity":
      state.name = inputs.resourceName ?? name;
      state.principalId = fakeGuid(`principal:${name}`);
      state.clientId = fakeGuid(`client:${name}`);
      id = `${base}/Microsoft.ManagedIdentity/userAssignedIdentities/${state.name}`;
      break;
    case "azure-native:authorization:RoleAssignment":
      state.name = inputs.roleAssignmentName ?? fakeGuid(`role:${name}`);
      id = `${inputs.scope}/providers/Microsoft.Authorization/roleAssignments/${state.name}`;
      break;
    case "azure-native:operationalinsights:Workspace":
      state.name = inputs.workspaceName ?? name;
      state.customerId = fakeGuid(`workspace:${name}`);
      id = `${base}/Microsoft.OperationalInsights/workspaces/${state.name}`;
      break;
    default:
      id = `${name}-id`;
  }
  if (state.location === undefined && type.startsWith("azure-native:")) state.location = location;
  return { id: importId || id, state };
}

function mockInvoke(token: string, args: any, location: string): Record<string, unknown> {
  switch (token) {
    case "azure-native:network:getNetworkWatcher":
      return {
        id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.Network/networkWatchers/${args.networkWatcherName}`,
        name: args.networkWatcherName,
        location,
        provisioningState: "Succeeded",
      };
    case "azure-native:operationalinsights:getWorkspace":
      return {
        id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces/${args.workspaceName}`,
        name: args.workspaceName,
        customerId: fakeGuid(`workspace:${args.workspaceName}`),
        location,
      };
    default:
      return {};
  }
}

function configLocation(options: MockRunOptions): string {
  const raw = options.config[`${options.project}:location`];
  return typeof raw === "string" ? raw.toLowerCase().replace(/\s+/g, "") : "westeurope";
}

function fakeGuid(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Secrets become "[secret]" and unknowns "[unknown]", so a plan never prints a secret value. */
export function scrub(value: unknown): unknown {
  if (value === UNKNOWN) return "[unknown]";
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === "object") {
    if ((value as Record<string, unknown>)[SECRET_SIG] !== undefined) return "[secret]";
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
  }
  return value;
}

async function resolveOutput(value: unknown): Promise<unknown> {
  if (!pulumi.Output.isInstance(value)) return scrub(value);
  const output = value as pulumi.Output<unknown> & { isSecret: Promise<boolean> };
  const resolved = await new Promise((done) => output.apply((v) => { done(v); return v; }));
  return (await output.isSecret) ? "[secret]" : scrub(resolved);
}
