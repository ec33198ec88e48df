// Runs the Pulumi program under `pulumi.runtime.setMocks` (no cloud, no Pulumi CLI) and collects every resource it
// would declare: type, logical name, parent, inputs and the resource options that change what the engine does
// (import, replaceOnChanges, deleteBeforeReplace). Used by `npm run plan` and by the tests.
// ONE run per process: the Pulumi runtime keeps module-level state (mock monitor, config, the program module).
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { neededSecretKeys } from "../config";
import { rawProjectConfig } from "../stackConfig";
import { isAzuresWatcher } from "../components/networkWatcher";
import { armRegionName, isGuid } from "../armId";

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
  /** Answered "not found": a lookup that checks a resource does NOT exist (e.g. Azure's watcher before creating one). */
  absent?: true;
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
  /**
   * Stand in "[secret]" for each secret-only key the configuration needs (`neededSecretKeys`) that the stack file
   * does not hold, as committed stack files never do (ciphertext belongs to one stack's secrets provider). Default
   * true; false to see the program refuse.
   */
  standInMissingSecrets?: boolean;
  /** Sees every registration's inputs as the engine would get them (secrets still wrapped), for tests. */
  observeInputs?: (type: string, name: string, inputs: Record<string, unknown>) => void;
}

/** The config with "[secret]" (marked secret) for every secret-only key the configuration needs that is missing. */
export function withSecretStandIns(options: Pick<MockRunOptions, "project" | "config" | "secretKeys">): { config: Record<string, string>; secretKeys: string[] } {
  const config = { ...options.config };
  const secretKeys = [...(options.secretKeys ?? [])];
  for (const key of neededSecretKeys(rawProjectConfig(options.project, options.config))) {
    const fullKey = `${options.project}:${key}`;
    if (config[fullKey] !== undefined) continue;
    config[fullKey] = "[secret]";
    secretKeys.push(fullKey);
  }
  return { config, secretKeys };
}

/** Runs the program once and returns what it declared. Rejects with the program's error (e.g. a config error). */
export async function runProgramUnderMocks(options: MockRunOptions): Promise<PlanResult> {
  const recorded = new Map<string, PlannedResource>();
  const invokes: PlannedInvoke[] = [];
  const events: string[] = [];
  const location = configLocation(options);
  const asyncErrors: unknown[] = [];
  // An error inside an output (a lookup that throws) never reaches the output's apply: waiting on the output alone
  // would wait for ever, and the plan would end printing nothing. The first such error ends the wait instead.
  let programFailed!: (error: unknown) => void;
  const failure = new Promise<never>((_, reject) => { programFailed = reject; });
  failure.catch(() => {});
  const onRejection = (error: unknown): void => {
    asyncErrors.push(error);
    programFailed(error);
  };
  process.on("unhandledRejection", onRejection);

  const { config, secretKeys } = options.standInMissingSecrets === false
    ? { config: options.config, secretKeys: options.secretKeys ?? [] }
    : withSecretStandIns(options);
  pulumi.runtime.setAllConfig(config, secretKeys);
  const deploying = isGuid(config["azure-native:subscriptionId"]) ? config["azure-native:subscriptionId"] : undefined;
  const isAbsent = absentLookups(rawProjectConfig(options.project, config), location);
  // The offline plan sends nothing anywhere: the one HTTP call the program makes (ACR token exchange) is answered here.
  const realFetch = globalThis.fetch;
  globalThis.fetch = offlineFetch(events);
  await pulumi.runtime.setMocks({
    newResource(args) {
      const key = `${args.type}::${args.name}`;
      const entry: PlannedResource = recorded.get(key) ?? { type: args.type, name: args.name, parent: null, inputs: {} };
      entry.inputs = scrub(readableInputs(args.type, args.inputs)) as Record<string, unknown>;
      options.observeInputs?.(args.type, args.name, args.inputs);
      recorded.set(key, entry);
      events.push(`resource ${key}`);
      return mockResource(args.type, args.name, args.inputs, args.id, location);
    },
    call(args) {
      const absent = isAbsent(args.token, args.inputs);
      invokes.push({ token: args.token, args: scrub(args.inputs) as Record<string, unknown>, ...(absent ? { absent } : {}) });
      events.push(`invoke ${args.token}`);
      // As a failed gRPC invoke: Pulumi's client reports its `details`.
      if (absent) throw Object.assign(new Error("ResourceNotFound"), { details: `ResourceNotFound: the offline plan answers ${args.token} as not found` });
      return mockInvoke(args.token, args.inputs, location, deploying);
    },
  }, options.project, options.stack, false);
  recordResourceOptions(recorded);

  try {
    const program = await import(resolve(options.program ?? resolve(__dirname, "..", "index.ts")));
    const outputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(program as Record<string, unknown>)) {
      // Node 24's ESM loader adds "module.exports" (the whole CommonJS exports object) beside the named exports.
      if (name === "default" || name === "__esModule" || name === "module.exports" || value === undefined) continue;
      outputs[name] = await Promise.race([resolveOutput(value), failure]);
    }
    await pulumi.runtime.disconnect(); // waits for every outstanding registration
    if (asyncErrors.length > 0) throw asyncErrors[0];
    const resources = [...recorded.values()].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
    return { resources, invokes, outputs, events };
  } finally {
    globalThis.fetch = realFetch;
    process.off("unhandledRejection", onRejection);
  }
}

export const MOCK_ACR_REFRESH_TOKEN = "mock-acr-refresh-token";
/** What the mocked Elasticsearch "mints" as the collector's writer key (encoded form). */
export const MOCK_WRITER_API_KEY = "bW9jay13cml0ZXIta2V5LWlkOm1vY2std3JpdGVyLWtleS1zZWNyZXQ=";

/** The Elastic side's dynamic resources (pulumi.dynamic.Resource with a module and type name). */
export const DYNAMIC_TYPES = {
  indexAssets: "pulumi-nodejs:dynamic/flowlogs:elasticsearch:IndexAssets",
  writerApiKey: "pulumi-nodejs:dynamic/flowlogs:elasticsearch:WriterApiKey",
  savedObjects: "pulumi-nodejs:dynamic/flowlogs:kibana:SavedObjects",
  connector: "pulumi-nodejs:dynamic/flowlogs:kibana:Connector",
  rule: "pulumi-nodejs:dynamic/flowlogs:kibana:Rule",
} as const;

/**
 * A dynamic resource's inputs carry its provider as serialized JavaScript (`__provider`, tens of kilobytes) and
 * the NDJSON of the saved objects is long: the plan names them instead, so that it stays readable.
 */
function readableInputs(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (!type.startsWith("pulumi-nodejs:dynamic")) return inputs;
  const { __provider: provider, ...rest } = inputs;
  const readable: Record<string, unknown> = { ...rest };
  if (provider !== undefined) readable.__provider = "[dynamic provider: serialized code]";
  if (typeof rest.ndjson === "string") readable.ndjson = ndjsonSummary(rest.ndjson);
  return readable;
}

/**
 * `[<n> saved objects, sha256 <prefix>; dashboard <id>; data views <pattern>, ...]`: which dashboard the stack
 * imports and what its data views read, the two things another stack in the same Kibana space must not share.
 */
function ndjsonSummary(ndjson: string): string {
  const objects = ndjson.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
  const dashboards = objects.filter((o) => o.type === "dashboard").map((o) => o.id);
  const dataViews = objects.filter((o) => o.type === "index-pattern").map((o) => o.attributes?.title);
  return `[${objects.length} saved objects, sha256 ${createHash("sha256").update(ndjson).digest("hex").slice(0, 16)}` +
    `; dashboard ${dashboards.join(", ") || "none"}; data views ${dataViews.join(", ") || "none"}]`;
}

/** Answers `POST https://<registry>.azurecr.io/oauth2/exchange` like ACR does; refuses everything else. */
function offlineFetch(events: string[]): typeof fetch {
  return async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    const method = init?.method ?? "GET";
    const form = new URLSearchParams(String(init?.body ?? ""));
    events.push(`fetch ${method} ${url} ${[...form.keys()].sort().join(",")}`);
    if (method === "POST" && /^https:\/\/[a-z0-9]+\.azurecr\.io\/oauth2\/exchange$/.test(url) && form.get("grant_type") === "access_token" && form.get("access_token")) {
      return new Response(JSON.stringify({ refresh_token: MOCK_ACR_REFRESH_TOKEN }), { status: 200, headers: { "content-type": "application/json" } });
    }
    throw new Error(`the offline plan makes no network calls (${method} ${url})`);
  };
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
    case "azure-native:storage:BlobContainer":
      state.name = inputs.containerName ?? name;
      id = `${base}/Microsoft.Storage/storageAccounts/${inputs.accountName}/blobServices/default/containers/${state.name}`;
      break;
    case "azure-native:containerregistry:Registry":
      state.name = inputs.registryName ?? name;
      state.loginServer = `${String(state.name).toLowerCase()}.azurecr.io`;
      id = `${base}/Microsoft.ContainerRegistry/registries/${state.name}`;
      break;
    case "azure-native:containerinstance:ContainerGroup":
      state.name = inputs.containerGroupName ?? name;
      id = `${base}/Microsoft.ContainerInstance/containerGroups/${state.name}`;
      break;
    case DYNAMIC_TYPES.indexAssets: {
      const namespace = String(inputs.options?.namespace ?? "default");
      state.dataStream = `logs-azure.flowlogs-${namespace}`;
      state.deadLetterDataStream = `logs-azure.flowlogs.deadletter-${namespace}`;
      state.assets = [];
      state.skipped = [];
      id = `index-assets:${state.dataStream}`;
      break;
    }
    case DYNAMIC_TYPES.writerApiKey:
      state.keyId = `mock-key-id-${name}`;
      state.encoded = MOCK_WRITER_API_KEY;
      state.expiresAt = 0;
      id = String(state.keyId);
      break;
    case DYNAMIC_TYPES.savedObjects:
      state.objects = [];
      state.contentHash = createHash("sha256").update(String(inputs.ndjson ?? "")).digest("hex");
      id = `saved-objects-${name}`;
      break;
    case DYNAMIC_TYPES.connector:
      state.connectorId = `mock-connector-${name}`;
      id = String(state.connectorId);
      break;
    case DYNAMIC_TYPES.rule:
      state.ruleId = `mock-rule-${name}`;
      id = String(state.ruleId);
      break;
    case "docker:index/image:Image":
      state.repoDigest = `${String(inputs.imageName).replace(/:[^:/]+$/, "")}@sha256:${createHash("sha256").update(name).digest("hex")}`;
      id = `${name}-id`;
      break;
    default:
      id = `${name}-id`;
  }
  if (state.location === undefined && type.startsWith("azure-native:")) state.location = location;
  return { id: importId || id, state };
}

/**
 * The plan takes the config at its word: with `networkWatcher.create`, the region has no watcher of Azure's, so the
 * component's check for one (components/networkWatcher.ts) finds none. Every other lookup finds its resource.
 */
function absentLookups(raw: Record<string, unknown>, location: string): (token: string, args: any) => true | undefined {
  const watcherConfig = raw.networkWatcher as { create?: unknown } | undefined;
  const creates = typeof watcherConfig === "object" && watcherConfig !== null && watcherConfig.create === true;
  return (token, args) => creates && token === "azure-native:network:getNetworkWatcher" &&
    isAzuresWatcher(location, String(args.networkWatcherName), String(args.resourceGroupName)) || undefined;
}

function mockInvoke(token: string, args: any, location: string, deploying: string | undefined): Record<string, unknown> {
  switch (token) {
    case "azure-native:network:getNetworkWatcher":
      return {
        id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.Network/networkWatchers/${args.networkWatcherName}`,
        name: args.networkWatcherName,
        location,
        provisioningState: "Succeeded",
      };
    // The flow log targets the config names (components/flowLogTargetCheck.ts): found, in the stack's region, and in
    // the deploying subscription when the config names one (ARM's id says where; without one the mock cannot know).
    case "azure-native:network:getVirtualNetwork":
    case "azure-native:network:getNetworkInterface":
    case "azure-native:network:getNetworkSecurityGroup": {
      const [kind, name] = args.virtualNetworkName !== undefined ? ["virtualNetworks", args.virtualNetworkName]
        : args.networkInterfaceName !== undefined ? ["networkInterfaces", args.networkInterfaceName] : ["networkSecurityGroups", args.networkSecurityGroupName];
      const id = deploying && `/subscriptions/${deploying}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.Network/${kind}/${name}`;
      return { ...(id ? { id } : {}), name, location };
    }
    case "azure-native:network:getSubnet":
      return { name: args.subnetName };
    case "azure-native:operationalinsights:getWorkspace":
      return {
        id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces/${args.workspaceName}`,
        name: args.workspaceName,
        customerId: fakeGuid(`workspace:${args.workspaceName}`),
        location,
      };
    case "azure-native:authorization:getClientToken":
      return { token: "mock-arm-access-token" };
    case "azure-native:authorization:getClientConfig":
      return { clientId: fakeGuid("deployer-client"), objectId: fakeGuid("deployer-object"), subscriptionId: MOCK_SUBSCRIPTION_ID, tenantId: fakeGuid("tenant") };
    default:
      return {};
  }
}

function configLocation(options: MockRunOptions): string {
  const raw = options.config[`${options.project}:location`];
  return typeof raw === "string" ? armRegionName(raw) : "westeurope";
}

function fakeGuid(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Fields that hold a secret inside a structure that arrives secret as a whole. */
const SECRET_FIELDS = new Set(["secureValue", "password", "sharedKey", "accessToken", "refreshToken", "token", "apiKey", "encoded"]);

/**
 * Secrets become "[secret]" and unknowns "[unknown]", so a plan never prints a secret value. A secret STRUCTURE
 * (azure-native lifts a nested secret, e.g. a container's `secureValue`, to its whole top-level property when it
 * applies SDK defaults) stays reviewable: its shape is shown with every secret-holding field as "[secret]". The
 * offline plan decrypts nothing, so such a structure can only hold stand-ins anyway.
 */
export function scrub(value: unknown, insideSecret = false): unknown {
  if (value === UNKNOWN) return "[unknown]";
  if (Array.isArray(value)) return value.map((item) => scrub(item, insideSecret));
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG] !== undefined) {
      return record.value !== null && typeof record.value === "object" ? scrub(record.value, true) : "[secret]";
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, insideSecret && SECRET_FIELDS.has(k) && v !== undefined ? "[secret]" : scrub(v, insideSecret)]));
  }
  return value;
}

async function resolveOutput(value: unknown): Promise<unknown> {
  if (!pulumi.Output.isInstance(value)) return scrub(value);
  const output = value as pulumi.Output<unknown> & { isSecret: Promise<boolean> };
  const resolved = await new Promise((done) => output.apply((v) => { done(v); return v; }));
  return (await output.isSecret) ? "[secret]" : scrub(resolved);
}
