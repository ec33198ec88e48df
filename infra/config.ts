// Typed, validated stack configuration. Pure (no Pulumi runtime use): `parseConfig` takes the raw values of this
// project's config namespace and either returns a complete, defaulted `InfraConfig` or throws ONE `ConfigError`
// listing every problem, each naming the key, what is wrong and how to fix it. Nothing is declared before this runs.
//
// Extending: a later component (collector, Elastic side) adds its key to `TOP_LEVEL_KEYS`, a field to
// `InfraConfig` and a `read...` function below; existing keys keep their meaning.
import { createHash } from "node:crypto";
import { NETWORK_RESOURCE_NAME, RESOURCE_GROUP_NAME, armRegionName, isGuid, parseArmId, parseFlowLogTarget, type FlowLogTargetKind } from "./armId";
import { reportUnknownKeys, type Report } from "./configKeys";
import { readElasticConfig, type ElasticSettings } from "./elastic/config";
import { readThreatListFile, type ThreatListDeployment } from "./collectorThreatList";
import { redactUrlText } from "../collector/src/safeText";
import { RETENTION_TAG } from "./retention";
import { MIN_COLLECTOR_MEMORY_GB } from "./components/collectorHeap";

export const NSG_CREATION_BLOCKED_SINCE = "2025-06-30";
export const NSG_RETIREMENT = "2027-09-30";

export const STANDARD_SKUS = [
  "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS",
] as const;
export type StorageSku = (typeof STANDARD_SKUS)[number];

/** Defaults, one place: Pulumi.yaml, the README table and the tests are checked against these. */
export const DEFAULTS = {
  demoNetwork: false,
  retentionDays: 30,
  resourceGroupName: "", // empty: "<project>-<stack>"
  networkWatcherResourceGroupName: "NetworkWatcherRG",
  trafficAnalyticsIntervalMinutes: 60,
  storageSku: "Standard_LRS" as StorageSku,
  storageAllowSharedKeyAccess: false,
  storageNetworkDefaultAction: "Deny" as "Allow" | "Deny",
  storageKeepDataOnDestroy: true,
  // Microsoft's documented bound for a role assignment to take effect (components/roleAssignmentPropagation.ts).
  roleAssignmentWaitSeconds: 600,
  collectorEnabled: false,
  collectorCpu: 0.5,
  collectorMemoryGb: 1,
  // The collector's own default (FLOWLOGS_POLL_INTERVAL_SECONDS): Azure appends a block about once a minute.
  collectorPollIntervalSeconds: 60,
  collectorCheckpointContainer: "flowlogs-checkpoints",
  collectorEsNamespace: "default",
  // Microsoft documents a Premium registry as the prerequisite for Container Instances pulling with a managed
  // identity (MicrosoftDocs azure-docs articles/container-instances/using-azure-container-registry-mi.md,
  // "Prerequisites"), which is how the collector's group pulls (admin user off, no stored credentials).
  collectorRegistrySku: "Premium" as RegistrySku,
};

export const REGISTRY_SKUS = ["Basic", "Standard", "Premium"] as const;
export type RegistrySku = (typeof REGISTRY_SKUS)[number];

/** Keys that must be Pulumi secrets (`pulumi config set --secret`); a committed stack file never holds them. */
export const SECRET_KEYS = [
  "collectorEsApiKey", "elasticsearchPassword", "elasticsearchApiKey", "kibanaApiKey", "kibanaPassword", "kibanaWebhookPassword", "kibanaEmailPassword",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** Credentials that are names, not secrets: plain config. */
export const PLAIN_CREDENTIAL_KEYS = ["elasticsearchUsername", "kibanaUsername"] as const;

/** Every top-level key of this project's config namespace. Unknown keys are errors (with a "did you mean"). */
export const TOP_LEVEL_KEYS = [
  "location", "resourceGroupName", "tags", "networkWatcher", "flowLogs", "demoNetwork", "retentionDays", "roleAssignmentWaitSeconds",
  "trafficAnalytics", "storage", "collector", "collectorEsApiKey", "elasticsearch", "kibana",
  ...PLAIN_CREDENTIAL_KEYS, ...SECRET_KEYS.filter((key) => key !== "collectorEsApiKey"),
] as const;

const NESTED_KEYS: Record<string, readonly string[]> = {
  networkWatcher: ["name", "resourceGroupName", "create"],
  "flowLogs[]": ["targetResourceId", "name", "adoptExisting"],
  "flowLogs[].adoptExisting": ["flowLogName"],
  trafficAnalytics: ["workspaceResourceId", "workspaceGuid", "workspaceRegion", "create", "intervalMinutes"],
  storage: ["accountName", "sku", "skuConvertedTo", "allowSharedKeyAccess", "networkDefaultAction", "allowedIpRanges", "keepDataOnDestroy"],
  collector: ["enabled", "image", "imageRegistryResourceId", "registry", "cpu", "memoryGb", "pollIntervalSeconds", "checkpointContainer", "elasticsearch", "threatListFile", "geoip"],
  "collector.geoip": ["enabled", "database", "asnDatabase"],
  "collector.registry": ["name", "sku"],
  "collector.elasticsearch": ["url", "namespace"],
};

export interface FlowLogTargetConfig {
  targetResourceId: string;
  kind: FlowLogTargetKind;
  /** The flow log's ARM name; it shapes the blob path the collector lists. */
  flowLogName: string;
  /** True when the user chose the name (then a target change must delete the old flow log before creating). */
  nameIsExplicit: boolean;
  /** Full ARM id of an existing flow log to adopt with Pulumi's `import` option. */
  adoptExistingId?: string;
  /** The entry in the user's list, e.g. `flowLogs[2]`, for messages about it after the config check. */
  configKey: string;
}

export interface InfraConfig {
  project: string;
  stack: string;
  location: string;
  resourceGroupName: string;
  tags: Record<string, string>;
  networkWatcher: { create: boolean; name: string; resourceGroupName: string };
  flowLogs: FlowLogTargetConfig[];
  demoNetwork: false | { virtualNetworkName: string; flowLogName: string };
  retentionDays: number;
  /** Seconds new role assignments get to take effect before what uses them is created (0: no wait). */
  roleAssignmentWaitSeconds: number;
  trafficAnalytics?: {
    intervalMinutes: 10 | 60;
    workspace: { create: true; name: string } | {
      create: false; resourceId: string; resourceGroupName: string; name: string;
      /** Given in config (a workspace the deploying subscription cannot look up): no look-up. */
      known?: { guid: string; region: string };
    };
  };
  storage: {
    accountName: string;
    sku: StorageSku;
    /** A zone-redundancy conversion to `sku` finished in Azure: the SKU guard records it (infra/storageSku.ts). */
    skuConvertedTo?: StorageSku;
    allowSharedKeyAccess: boolean;
    networkDefaultAction: "Allow" | "Deny";
    allowedIpRanges: string[];
    /** `pulumi destroy` leaves the resource group, the account and the flow-log containers (with their data). */
    keepDataOnDestroy: boolean;
  };
  /** Off unless `collector.enabled: true`. */
  collector: false | CollectorConfig;
  /** The Elastic side this stack manages (index assets, writer key, Kibana); undefined when `elasticsearch` is not set. */
  elastic?: ElasticSettings;
}

export interface CollectorConfig {
  /**
   * Where the image comes from: built from collector/Dockerfile and pushed to a registry this stack creates, or
   * a prebuilt reference (no build), optionally in an existing ACR the collector's identity may pull from.
   */
  image:
    | { build: true; registryName: string; registrySku: RegistrySku }
    | { build: false; reference: string; registry?: { resourceId: string; loginServer: string } };
  cpu: number;
  memoryGb: number;
  /** Seconds between the collector's polls (FLOWLOGS_POLL_INTERVAL_SECONDS): longer reads more minutes per job, for less CPU and fewer Azure requests per flow. */
  pollIntervalSeconds: number;
  checkpointContainer: string;
  /**
   * With a managed Elastic side: taken from the `elasticsearch` block (one source of truth), including its private
   * CA and whether the writer key may read (cross-backing-index dedupe).
   */
  elasticsearch: { url: string; namespace: string; caCert?: string; dedupeAcrossBackingIndices?: boolean };
  /** "managed": the writer key minted by this stack's Elastic side; "configured": the `collectorEsApiKey` secret. */
  writerKey: "managed" | "configured";
  /**
   * Geo/AS enrichment (FLOWLOGS_GEOIP*): on with the shipped country database and ASN tables unless turned off; the
   * paths are files inside the container (an image built FROM the collector's, named by `collector.image`);
   * asnDatabase "none" turns the AS fields off alone.
   */
  geoip: { enabled: boolean; database?: string; asnDatabase?: string };
  containerGroupName: string;
  /** `collector.threatListFile`, read and checked: mounted into the container (infra/collectorThreatList.ts). */
  threatList?: ThreatListDeployment;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[], context: { project: string; stack: string }) {
    super(
      `the configuration of stack "${context.stack}" has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        `\n(set values with \`pulumi config set [--path] <key> <value>\` or edit Pulumi.${context.stack}.yaml; ` +
        `keys are in the "${context.project}" namespace)`,
    );
    this.name = "ConfigError";
  }
}

type Raw = Record<string, unknown>;

export interface ParseContext {
  project: string;
  stack: string;
  /** Unqualified keys Pulumi holds as secrets; when given, a secret key set in plain text is an error. */
  secretKeys?: readonly string[];
  /**
   * The subscription the stack deploys into, when the config or environment says (azure-native:subscriptionId,
   * ARM_SUBSCRIPTION_ID); an `az login` default is not known before the provider runs.
   */
  deploySubscriptionId?: string;
}

/** Validates and defaults the raw values (already JSON-decoded) of this project's config namespace. */
export function parseConfig(raw: Raw, given: ParseContext): InfraConfig {
  // Only a GUID names the deploying subscription: the offline plan reads an encrypted azure-native:subscriptionId
  // as "[secret]", which says nothing about it.
  const context: ParseContext = { ...given, deploySubscriptionId: isGuid(given.deploySubscriptionId) ? given.deploySubscriptionId : undefined };
  const problems: string[] = [];
  const problem = (key: string, text: string): void => void problems.push(`${key}: ${text}`);

  reportUnknownKeys(raw, TOP_LEVEL_KEYS, "", problem);

  const location = readLocation(raw.location, problem);
  const resourceGroupName = readResourceGroupName(raw.resourceGroupName, context, problem);
  const tags = readTags(raw.tags, problem);
  const networkWatcher = readNetworkWatcher(raw.networkWatcher, location, resourceGroupName, problem);
  const flowLogs = readFlowLogs(raw.flowLogs, networkWatcher, context.deploySubscriptionId, problem);
  const demoNetwork = readDemoNetwork(raw.demoNetwork, context, problem);
  const retentionDays = readRetentionDays(raw.retentionDays, problem);
  const roleAssignmentWaitSeconds = readRoleAssignmentWait(raw.roleAssignmentWaitSeconds, problem);
  const trafficAnalytics = readTrafficAnalytics(raw.trafficAnalytics, resourceGroupName, context, problem);
  const storage = readStorage(raw.storage, problem);
  const pollIntervalSeconds = readCollectorPollInterval(raw.collector, problem);
  // The alert rules wait for flows as long as a poll may hold them back, when this stack runs the collector.
  const collectorOn = isObject(raw.collector) && raw.collector.enabled === true;
  const elastic = readElasticConfig(raw.elasticsearch, raw.kibana, problem, collectorOn ? { collectorPollIntervalSeconds: pollIntervalSeconds } : {});
  readCredentials(raw, elastic, context, problem);
  const collector = readCollector(raw, storage?.accountName, elastic, context, pollIntervalSeconds, problem);
  if (storage && collector) {
    // A container group outside a virtual network has no fixed egress address a storage firewall could allow, so
    // with the collector the firewall defaults to Allow (access still needs Entra ID; shared keys stay off).
    const explicit = isObject(raw.storage) && raw.storage.networkDefaultAction !== undefined;
    if (!explicit) storage.networkDefaultAction = "Allow";
    else if (storage.networkDefaultAction === "Deny") {
      problem("storage.networkDefaultAction", "is Deny, but the collector runs in Azure Container Instances without a virtual network and " +
        "has no fixed outbound address to allow, so its reads would be refused (403): remove the key (with the collector it defaults to " +
        "Allow; reads still need the collector's Entra ID role) or turn the collector off (`collector.enabled: false`)");
    }
  }

  if (storage && !storage.allowSharedKeyAccess) reportAdoptedNsgWithoutKeys(raw.flowLogs, flowLogs, problem);

  if (raw.flowLogs !== undefined && Array.isArray(raw.flowLogs) && raw.flowLogs.length === 0 && raw.demoNetwork !== true) {
    problem("flowLogs", "is empty and demoNetwork is not true, so there is nothing to log; add a target or set `demoNetwork: true`");
  } else if (raw.flowLogs === undefined && raw.demoNetwork !== true) {
    problem("flowLogs", "is not set and demoNetwork is not true, so there is nothing to log; add a VNet/subnet/NIC id " +
      "(`pulumi config set --path 'flowLogs[0].targetResourceId' <id>`) or set `demoNetwork: true`");
  }
  if (demoNetwork && flowLogs.some((f) => f.flowLogName.toLowerCase() === demoNetwork.flowLogName.toLowerCase())) {
    problem("flowLogs", `a target uses the name "${demoNetwork.flowLogName}", which the demo network's flow log uses; choose another name`);
  }

  if (problems.length > 0) throw new ConfigError(problems, context);
  return {
    project: context.project,
    stack: context.stack,
    location: location!,
    resourceGroupName,
    tags,
    networkWatcher,
    flowLogs,
    demoNetwork,
    retentionDays: retentionDays!,
    roleAssignmentWaitSeconds,
    trafficAnalytics,
    storage: storage!,
    collector,
    elastic,
  };
}

function readLocation(value: unknown, problem: Report): string | undefined {
  if (value === undefined) {
    problem("location", "is required: set the Azure region, e.g. `pulumi config set location westeurope`");
    return undefined;
  }
  if (typeof value !== "string") return void problem("location", `must be a string such as "westeurope", got ${describe(value)}`);
  const normalised = armRegionName(value);
  if (!/^[a-z][a-z0-9]{2,39}$/.test(normalised)) {
    return void problem("location", `"${value}" is not an Azure region name; use the short form such as "westeurope" or "eastus2"`);
  }
  return normalised;
}

function readResourceGroupName(value: unknown, context: { project: string; stack: string }, problem: Report): string {
  const fallback = `${context.project}-${context.stack}`;
  if (value === undefined || value === DEFAULTS.resourceGroupName) {
    // A stack name may be up to 100 characters: the default can outgrow Azure's 90.
    if (!RESOURCE_GROUP_NAME.test(fallback)) {
      problem("resourceGroupName", `the default "${fallback}" (project-stack) is not a valid resource group name (1-90 letters, digits, ` +
        "`_ - . ( )`, not ending with a period): set resourceGroupName");
    }
    return fallback;
  }
  if (typeof value !== "string" || !RESOURCE_GROUP_NAME.test(value)) {
    problem("resourceGroupName", `${describe(value)} is not a valid resource group name: use 1-90 letters, digits, ` +
      "`_ - . ( )`, not ending with a period (or leave it unset for " + `"${fallback}")`);
  }
  return String(value);
}

function readTags(value: unknown, problem: Report): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) { problem("tags", `must be a map of strings, got ${describe(value)}`); return {}; }
  const tags: Record<string, string> = {};
  for (const [key, tag] of Object.entries(value)) {
    if (typeof tag !== "string") problem(`tags.${key}`, `must be a string, got ${describe(tag)}; quote it in YAML`);
    // 512 for most resources, but 128 on a storage account (Azure's tag limitations), which gets every tag.
    else if (key.length > 128 || /[<>%&\\?/]/.test(key)) problem(`tags.${key}`, "tag names must be at most 128 characters (a storage account's limit) without < > % & \\ ? /");
    else if (tag.length > 256) problem(`tags.${key}`, "tag values must be at most 256 characters");
    else if (key.toLowerCase() === RETENTION_TAG) {
      problem(`tags.${key}`, "is reserved: the stack sets it on the storage account when `retentionDays` is 0 (keep forever), which is what the " +
        "guard-rail policy reads; remove this tag and set `retentionDays` instead");
    }
    else tags[key] = tag;
  }
  return tags;
}

/**
 * Default: the watcher Azure created itself (`NetworkWatcher_<location>` in `NetworkWatcherRG`). With
 * `create: true` and no resource group given, the new watcher goes into the stack's own resource group, because
 * NetworkWatcherRG may not exist where auto-creation is off.
 */
function readNetworkWatcher(value: unknown, location: string | undefined, stackResourceGroup: string, problem: Report): InfraConfig["networkWatcher"] {
  const defaults = { create: false, name: `NetworkWatcher_${location ?? "<location>"}`, resourceGroupName: DEFAULTS.networkWatcherResourceGroupName };
  if (value === undefined) return defaults;
  if (!isObject(value)) { problem("networkWatcher", `must be an object like { create: true } or { name, resourceGroupName }, got ${describe(value)}`); return defaults; }
  reportUnknownKeys(value, NESTED_KEYS.networkWatcher!, "networkWatcher.", problem);
  const create = value.create === undefined ? false : value.create;
  if (typeof create !== "boolean") problem("networkWatcher.create", `must be true or false, got ${describe(create)}`);
  const name = value.name === undefined ? defaults.name : value.name;
  if (typeof name !== "string" || !NETWORK_RESOURCE_NAME.test(name)) {
    problem("networkWatcher.name", `${describe(name)} is not a valid Network Watcher name; leave it unset for "${defaults.name}"`);
  }
  const resourceGroupName = value.resourceGroupName ?? (create === true ? stackResourceGroup : defaults.resourceGroupName);
  if (typeof resourceGroupName !== "string" || !RESOURCE_GROUP_NAME.test(resourceGroupName)) {
    problem("networkWatcher.resourceGroupName", `${describe(resourceGroupName)} is not a valid resource group name; leave it unset for "NetworkWatcherRG"`);
  }
  return { create: create === true, name: String(name), resourceGroupName: String(resourceGroupName) };
}

function readFlowLogs(value: unknown, watcher: InfraConfig["networkWatcher"], deploying: string | undefined, problem: Report): FlowLogTargetConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) { problem("flowLogs", `must be a list of { targetResourceId, name?, adoptExisting? }, got ${describe(value)}`); return []; }
  const targets: FlowLogTargetConfig[] = [];
  const listIndex: number[] = []; // position in the user's list, for messages
  value.forEach((entry: unknown, index) => {
    const key = `flowLogs[${index}]`;
    const item: Raw = typeof entry === "string" ? { targetResourceId: entry } : isObject(entry) ? entry : {};
    if (typeof entry !== "string" && !isObject(entry)) {
      return problem(key, `must be a resource id string or { targetResourceId, name?, adoptExisting? }, got ${describe(entry)}`);
    }
    reportUnknownKeys(item, NESTED_KEYS["flowLogs[]"]!, `${key}.`, problem);
    if (typeof item.targetResourceId !== "string") {
      return problem(`${key}.targetResourceId`, "is required: the ARM id of a virtual network, subnet or network interface");
    }
    const target = parseFlowLogTarget(item.targetResourceId);
    if (!target.ok) return problem(`${key}.targetResourceId`, `"${item.targetResourceId}" is not a valid target: ${target.problem}`);

    // Azure keeps a flow log under the watcher of its target's own subscription, and the stack's watcher is in the
    // deploying one: a target elsewhere passes preview and fails `up` after the storage and identities exist.
    const elsewhere = deploying !== undefined && deploying.toLowerCase() !== target.id.subscriptionId.toLowerCase();
    if (elsewhere && item.adoptExisting === undefined) {
      return problem(`${key}.targetResourceId`, `the target is in subscription ${target.id.subscriptionId} and the stack deploys into ${deploying}: ` +
        "Azure creates a flow log only under the Network Watcher of its target's subscription (it answers " +
        `FlowLogTargetResourceIsInDifferentSubscription). Log it from a stack that deploys into ${target.id.subscriptionId} ` +
        "(azure-native:subscriptionId), or remove the entry; the storage account may stay in this subscription");
    }
    let adoptExistingId: string | undefined;
    if (item.adoptExisting !== undefined) {
      const adopt = item.adoptExisting;
      if (!isObject(adopt) || typeof adopt.flowLogName !== "string" || !NETWORK_RESOURCE_NAME.test(adopt.flowLogName)) {
        return problem(`${key}.adoptExisting`, "must be { flowLogName: <name of the existing flow log under the Network Watcher> }");
      }
      reportUnknownKeys(adopt, NESTED_KEYS["flowLogs[].adoptExisting"]!, `${key}.adoptExisting.`, problem);
      if (item.name !== undefined && item.name !== adopt.flowLogName) {
        return problem(`${key}.name`, `differs from adoptExisting.flowLogName "${adopt.flowLogName}"; an adopted flow log keeps its name, remove \`name\``);
      }
      // azure-native reads and updates a resource under the provider's subscription whatever id it was imported by:
      // a flow log under another subscription's watcher would be imported, then updated under this one's.
      if (elsewhere) {
        return problem(`${key}.adoptExisting`, `the target is in subscription ${target.id.subscriptionId} and the stack deploys into ${deploying}: ` +
          `an adopted flow log is updated under the deploying subscription's Network Watcher, not the one it lives under. Adopt it from a stack ` +
          `that deploys into ${target.id.subscriptionId} (azure-native:subscriptionId), or leave it out of this stack`);
      }
      adoptExistingId = `/subscriptions/${deploying ?? target.id.subscriptionId}/resourceGroups/${watcher.resourceGroupName}` +
        `/providers/Microsoft.Network/networkWatchers/${watcher.name}/flowLogs/${adopt.flowLogName}`;
    }
    if (target.kind === "networkSecurityGroup" && adoptExistingId === undefined) {
      return problem(`${key}.targetResourceId`,
        `is a network security group: Azure blocks creating new NSG flow logs since ${NSG_CREATION_BLOCKED_SINCE} ` +
        `(error NsgFlowLogCreationBlocked) and retires NSG flow logs on ${NSG_RETIREMENT}. Target the NSG's virtual network ` +
        `(…/Microsoft.Network/virtualNetworks/<vnet>) instead, or, to keep an EXISTING NSG flow log, add ` +
        "`adoptExisting: { flowLogName: <its name> }`");
    }

    let flowLogName: string;
    const explicit = item.name ?? (isObject(item.adoptExisting) ? item.adoptExisting.flowLogName : undefined);
    if (explicit !== undefined) {
      if (typeof explicit !== "string" || !NETWORK_RESOURCE_NAME.test(explicit)) {
        return problem(`${key}.name`, `${describe(explicit)} is not a valid flow log name: 1-80 letters, digits, "_", ".", "-", ` +
          "starting with a letter or digit and ending with a letter, digit or \"_\" (or leave it unset for a derived name)");
      }
      flowLogName = explicit;
    } else {
      flowLogName = deriveFlowLogName(target.id.segments.map(([, n]) => n), target.id.resourceGroupName, item.targetResourceId);
    }
    targets.push({ targetResourceId: item.targetResourceId, kind: target.kind, flowLogName, nameIsExplicit: explicit !== undefined, adoptExistingId, configKey: key });
    listIndex.push(index);
  });

  const seenTargets = new Map<string, number>();
  const seenNames = new Map<string, number>();
  targets.forEach((t, position) => {
    const i = listIndex[position]!;
    const targetKey = t.targetResourceId.toLowerCase();
    if (seenTargets.has(targetKey)) {
      return problem(`flowLogs[${i}].targetResourceId`, `repeats flowLogs[${seenTargets.get(targetKey)}]; Azure allows one flow log per target, remove one`);
    }
    seenTargets.set(targetKey, i);
    const nameKey = t.flowLogName.toLowerCase();
    if (seenNames.has(nameKey)) problem(`flowLogs[${i}].name`, `"${t.flowLogName}" is also used by flowLogs[${seenNames.get(nameKey)}]; names must be unique under one Network Watcher`);
    else seenNames.set(nameKey, i);
  });
  return targets;
}

/**
 * Adopting an NSG flow log moves it to this stack's storage account (Pulumi 3.276 imports, then updates the
 * differing inputs: pulumi/pulumi#16397, pulumi/docs#18198). NSG flow logs write with the account key / SAS
 * (MicrosoftDocs azure-docs articles/network-watcher/required-rbac-permissions.md lists listKeys/listServiceSas);
 * only VNet flow logs can write with a user-assigned identity (articles/network-watcher/vnet-flow-logs-managed-identity.md).
 * On an account with shared keys off, the adopted flow log would then write nothing, silently.
 */
function reportAdoptedNsgWithoutKeys(rawFlowLogs: unknown, targets: FlowLogTargetConfig[], problem: Report): void {
  if (!Array.isArray(rawFlowLogs)) return;
  for (const target of targets) {
    if (target.kind !== "networkSecurityGroup" || target.adoptExistingId === undefined) continue;
    const index = rawFlowLogs.findIndex((entry: unknown) => isObject(entry) && entry.targetResourceId === target.targetResourceId);
    problem(`flowLogs[${index}].adoptExisting`, `adopts the NSG flow log "${target.flowLogName}", but storage.allowSharedKeyAccess is false. ` +
      "Adoption points it at this stack's storage account, and NSG flow logs can only write with the account key (managed identities " +
      "are for VNet flow logs only), so it would stop writing. Either log the NSG's virtual network instead (replace this entry with " +
      "`targetResourceId: …/Microsoft.Network/virtualNetworks/<vnet>`, then disable the NSG flow log in Azure once the VNet flow log " +
      "writes, to avoid logging the same traffic twice), or set `storage.allowSharedKeyAccess: true`");
  }
}

/**
 * A valid, deterministic flow-log name that changes whenever the target changes: readable parts of the target
 * plus a short hash of the whole (lower-cased) id, e.g. `vnet1-rg-app-1a2b3c4d-flowlog`.
 */
export function deriveFlowLogName(resourceNames: string[], resourceGroupName: string, targetResourceId: string): string {
  const hash = createHash("sha256").update(targetResourceId.toLowerCase()).digest("hex").slice(0, 8);
  const suffix = `-${hash}-flowlog`;
  const readable = [...resourceNames, resourceGroupName].join("-").toLowerCase().replace(/[^a-z0-9_.-]+/g, "-");
  const trimmed = readable.slice(0, 80 - suffix.length).replace(/^[^a-z0-9]+/, "");
  return `${trimmed || "target"}${suffix}`;
}

function readDemoNetwork(value: unknown, context: { project: string; stack: string }, problem: Report): InfraConfig["demoNetwork"] {
  if (value === undefined || value === false) return false;
  if (value !== true) { problem("demoNetwork", `must be true or false, got ${describe(value)}`); return false; }
  // Cut to 64, then to end with a letter, digit or `_` as Azure's network names must (NETWORK_RESOURCE_NAME).
  const virtualNetworkName = `${context.project}-${context.stack}-demo-vnet`.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 64).replace(/[.-]+$/, "");
  return { virtualNetworkName, flowLogName: `${virtualNetworkName}-flowlog` };
}

function readRetentionDays(value: unknown, problem: Report): number | undefined {
  if (value === undefined) return DEFAULTS.retentionDays;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 365) {
    return void problem("retentionDays", `must be a whole number of days from 0 to 365 (0 keeps flow logs forever), got ${describe(value)}`);
  }
  return value;
}

function readRoleAssignmentWait(value: unknown, problem: Report): number {
  if (value === undefined) return DEFAULTS.roleAssignmentWaitSeconds;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 3600) {
    problem("roleAssignmentWaitSeconds", `must be a whole number of seconds from 0 to 3600 (Azure documents up to ${DEFAULTS.roleAssignmentWaitSeconds} ` +
      `for a role assignment to take effect; 0 turns the wait off), got ${describe(value)}`);
    return DEFAULTS.roleAssignmentWaitSeconds;
  }
  return value;
}

function readTrafficAnalytics(value: unknown, resourceGroupName: string, context: ParseContext, problem: Report): InfraConfig["trafficAnalytics"] {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) return void problem("trafficAnalytics", `must be { workspaceResourceId } or { create: true }, got ${describe(value)}`);
  reportUnknownKeys(value, NESTED_KEYS.trafficAnalytics!, "trafficAnalytics.", problem);
  const interval = value.intervalMinutes ?? DEFAULTS.trafficAnalyticsIntervalMinutes;
  if (interval !== 10 && interval !== 60) problem("trafficAnalytics.intervalMinutes", `must be 10 or 60 (minutes), got ${describe(interval)}`);
  const intervalMinutes = interval === 10 ? 10 : 60;
  if (value.create !== undefined && typeof value.create !== "boolean") {
    return void problem("trafficAnalytics.create", `must be true or false, got ${describe(value.create)}`);
  }
  if (value.create === true && value.workspaceResourceId !== undefined) {
    return void problem("trafficAnalytics", "set either `workspaceResourceId` (use an existing Log Analytics workspace) or `create: true`, not both");
  }
  if (value.create === true && (value.workspaceGuid !== undefined || value.workspaceRegion !== undefined)) {
    return void problem("trafficAnalytics", "`workspaceGuid` and `workspaceRegion` describe an existing workspace (`workspaceResourceId`): remove them with `create: true`");
  }
  if (value.create === true) {
    // Workspace names: 4-63 letters, digits and hyphens, starting and ending with a letter or digit.
    const name = `${resourceGroupName}-traffic-analytics`.replace(/[^A-Za-z0-9]+/g, "-").slice(-63).replace(/^[^A-Za-z0-9]+/, "");
    return { intervalMinutes, workspace: { create: true, name } };
  }
  if (typeof value.workspaceResourceId !== "string") {
    return void problem("trafficAnalytics", "needs `workspaceResourceId` (an existing Log Analytics workspace id) or `create: true`; " +
      "remove the key to turn traffic analytics off");
  }
  const parsed = parseArmId(value.workspaceResourceId);
  const shapeOk = parsed.ok && parsed.id.namespace.toLowerCase() === "microsoft.operationalinsights" &&
    parsed.id.segments.length === 1 && parsed.id.segments[0]![0].toLowerCase() === "workspaces";
  if (!parsed.ok || !shapeOk) {
    return void problem("trafficAnalytics.workspaceResourceId", `"${value.workspaceResourceId}" is not a Log Analytics workspace id: ` +
      (parsed.ok ? "expected …/providers/Microsoft.OperationalInsights/workspaces/<name>" : parsed.problem));
  }
  const known = readKnownWorkspace(value, parsed.id.subscriptionId, context, problem);
  return {
    intervalMinutes,
    workspace: {
      create: false, resourceId: value.workspaceResourceId, resourceGroupName: parsed.id.resourceGroupName, name: parsed.id.segments[0]![1],
      ...(known ? { known } : {}),
    },
  };
}

/** Region names as ARM spells them: `westeurope`, `eastus2`. */
const AZURE_REGION = /^[a-z][a-z0-9]+$/;
const WORKSPACE_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The existing workspace's GUID and region when the config gives them. The look-up that finds them otherwise runs in
 * the deploying subscription and takes no other (getWorkspace), so a workspace of another one, as a landing zone's
 * central workspace in its management subscription, must be described here.
 */
function readKnownWorkspace(value: Raw, workspaceSubscription: string, context: ParseContext, problem: Report): { guid: string; region: string } | undefined {
  const show = `az monitor log-analytics workspace show --ids ${value.workspaceResourceId} --query '{guid: customerId, region: location}'`;
  const { workspaceGuid: guid, workspaceRegion: region } = value;
  if (guid === undefined && region === undefined) {
    const deploying = context.deploySubscriptionId;
    if (deploying && deploying.toLowerCase() !== workspaceSubscription.toLowerCase()) {
      problem("trafficAnalytics.workspaceGuid", `the workspace is in subscription ${workspaceSubscription}, and the stack deploys into ${deploying}, ` +
        `where it cannot be looked up: set trafficAnalytics.workspaceGuid and trafficAnalytics.workspaceRegion to what \`${show}\` prints`);
    }
    return undefined;
  }
  let ok = true;
  if (typeof guid !== "string" || !WORKSPACE_GUID.test(guid)) {
    ok = false;
    problem("trafficAnalytics.workspaceGuid", `must be the workspace's GUID (its customerId, not its resource id), got ${describe(guid)}: \`${show}\` prints it`);
  }
  if (typeof region !== "string" || !AZURE_REGION.test(region)) {
    ok = false;
    problem("trafficAnalytics.workspaceRegion", `must be the workspace's region as ARM names it (e.g. westeurope), got ${describe(region)}: \`${show}\` prints it`);
  }
  return ok ? { guid: (guid as string).toLowerCase(), region: region as string } : undefined;
}

/** Image references with a registry host, a repository and a pinned tag or digest (an unpinned image never redeploys). */
const IMAGE_REFERENCE = /^([a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::([\w][\w.-]{0,127}))?(@sha256:[0-9a-f]{64})?$/;
/** Blob container names: 3-63 lowercase letters, digits and single hyphens, starting and ending alphanumeric. */
const CONTAINER_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const FLOW_LOG_CONTAINER_NAMES = ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"];

/**
 * The collector deployment (infra/components/collector*.ts). Values are checked even when it is off, so a typo
 * surfaces before someone turns it on; the Elasticsearch URL and the API key are required only when it is on.
 * With a managed Elastic side (`elasticsearch`), URL, namespace and key come from there.
 */
function readCollector(
  raw: Raw, storageAccountName: string | undefined, elastic: ElasticSettings | undefined, context: ParseContext, pollIntervalSeconds: number, problem: Report,
): InfraConfig["collector"] {
  const value = raw.collector ?? {};
  if (!isObject(value)) { problem("collector", `must be an object like { enabled: true, elasticsearch: { url } }, got ${describe(value)}`); return false; }
  reportUnknownKeys(value, NESTED_KEYS.collector!, "collector.", problem);
  const enabled = value.enabled ?? DEFAULTS.collectorEnabled;
  if (typeof enabled !== "boolean") problem("collector.enabled", `must be true or false, got ${describe(enabled)}`);

  // Exactly one source for the writer key: minted by the managed Elastic side, or the collectorEsApiKey secret.
  const apiKeyIsSet = raw.collectorEsApiKey !== undefined && raw.collectorEsApiKey !== "";
  if (enabled === true && !elastic && !apiKeyIsSet) {
    problem("collectorEsApiKey", "is required when collector.enabled is true and `elasticsearch` is not set: create an API key that may write " +
      "logs-azure.flowlogs-* and run `pulumi config set --secret collectorEsApiKey <encoded key>`, or set `elasticsearch` so that this stack " +
      "manages the Elastic side and mints the key itself");
  }
  if (enabled === true && elastic?.writerKey.external && !apiKeyIsSet) {
    problem("collectorEsApiKey", "is required with elasticsearch.writerKey.external while the collector is on: create the writer key as yourself " +
      "(Kibana > API keys, or Dev Tools) with the request `npm run writer-key -- --stack <stack>` prints (infra/README.md, \"A writer key " +
      "you make\"), then `pulumi config set --secret collectorEsApiKey <its encoded value>`");
  }
  const cpu = readNumber(value.cpu, DEFAULTS.collectorCpu, 0.1, 4, "collector.cpu", "CPU cores", problem);
  const memoryGb = readNumber(value.memoryGb, DEFAULTS.collectorMemoryGb, 0.1, 16, "collector.memoryGb", "GB of memory", problem);
  if (memoryGb < MIN_COLLECTOR_MEMORY_GB) {
    problem("collector.memoryGb", `must be at least ${MIN_COLLECTOR_MEMORY_GB} GB, got ${memoryGb}: the collector peaks at about 190 MB of memory ` +
      "(a 200 MB PT1H.json, npm run bench), and a container below that is stopped by Azure mid-blob, again after every restart; " +
      `leave it unset for ${DEFAULTS.collectorMemoryGb} GB`);
  }

  const checkpointContainer = value.checkpointContainer ?? DEFAULTS.collectorCheckpointContainer;
  if (typeof checkpointContainer !== "string" || !CONTAINER_NAME.test(checkpointContainer)) {
    problem("collector.checkpointContainer", `${describe(checkpointContainer)} is not a blob container name: 3-63 lowercase letters, digits and ` +
      `single hyphens (or leave it unset for "${DEFAULTS.collectorCheckpointContainer}")`);
  } else if (FLOW_LOG_CONTAINER_NAMES.includes(checkpointContainer)) {
    problem("collector.checkpointContainer", `"${checkpointContainer}" is a flow-log container; checkpoints need their own container`);
  }

  const target = elastic
    ? collectorTargetFromElastic(value.elasticsearch, elastic, enabled === true, problem)
    : readCollectorElasticsearch(value.elasticsearch, enabled === true, problem);

  const image = readCollectorImage(value, storageAccountName, problem);
  const threatList = readThreatListFile(value.threatListFile, problem);
  const geoip = readCollectorGeoIp(value.geoip, problem);
  if (enabled !== true) return false;
  return {
    image: image ?? { build: true, registryName: "", registrySku: DEFAULTS.collectorRegistrySku },
    cpu,
    memoryGb,
    pollIntervalSeconds,
    checkpointContainer: String(checkpointContainer),
    elasticsearch: target,
    writerKey: elastic && !elastic.writerKey.external ? "managed" : "configured",
    geoip,
    // Container group names: 1-63 lowercase letters, digits and single hyphens.
    containerGroupName: `${context.project}-${context.stack}-collector`.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-{2,}/g, "-").slice(0, 63).replace(/-+$/, ""),
    ...(threatList ? { threatList } : {}),
  };
}

/**
 * The collector takes up to 3600, but past 10 minutes a job saves no more CPU per flow (collector/PERFORMANCE.md,
 * Tailing) while /healthz waits three intervals before calling a stalled collector stalled.
 */
const MAX_POLL_INTERVAL_SECONDS = 900;

/**
 * `collector.pollIntervalSeconds`, read before the Kibana settings (their late-arrival default follows it): whole
 * seconds, 1 to MAX_POLL_INTERVAL_SECONDS.
 */
function readCollectorPollInterval(value: unknown, problem: Report): number {
  const raw = isObject(value) ? value.pollIntervalSeconds : undefined;
  if (raw === undefined) return DEFAULTS.collectorPollIntervalSeconds;
  const seconds = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_POLL_INTERVAL_SECONDS) {
    problem("collector.pollIntervalSeconds", `must be a whole number of seconds, 1-${MAX_POLL_INTERVAL_SECONDS}, got ${describe(raw)}; leave it unset for ` +
      `${DEFAULTS.collectorPollIntervalSeconds} (Azure appends a block about once a minute), or 300 to read five minutes per poll for less CPU per flow ` +
      "(past 600 it saves nothing more, and a stalled collector is restarted only after three intervals)");
    return DEFAULTS.collectorPollIntervalSeconds;
  }
  return seconds;
}

/** `collector.geoip`: the collector's FLOWLOGS_GEOIP* settings, the database paths as seen inside the container. */
function readCollectorGeoIp(value: unknown, problem: Report): CollectorConfig["geoip"] {
  const geoip = value ?? {};
  if (!isObject(geoip)) {
    problem("collector.geoip", `must be an object like { enabled: true, database: "/geoip/GeoLite2-City.mmdb" }, got ${describe(geoip)}`);
    return { enabled: true };
  }
  reportUnknownKeys(geoip, NESTED_KEYS["collector.geoip"]!, "collector.geoip.", problem);
  const enabled = geoip.enabled ?? true;
  if (typeof enabled !== "boolean") problem("collector.geoip.enabled", `must be true or false, got ${describe(enabled)}`);
  const result: CollectorConfig["geoip"] = { enabled: enabled !== false };
  for (const key of ["database", "asnDatabase"] as const) {
    const path = geoip[key];
    if (path === undefined) continue;
    // "none" turns off the ASN tables shipped in the image alone (FLOWLOGS_GEOIP_ASN_DATABASE=none).
    const none = key === "asnDatabase" && path === "none";
    if (!none && (typeof path !== "string" || !/^\/[^\0\n]*\.mmdb$/.test(path))) {
      problem(`collector.geoip.${key}`, `${describe(path)} is not an absolute path to a .mmdb file inside the container, e.g. "/geoip/${key === "database" ? "GeoLite2-City" : "GeoLite2-ASN"}.mmdb" ` +
        "(add the file to an image built FROM the collector's and name that image in collector.image)" + (key === "asnDatabase" ? `, or "none" for no AS fields` : ""));
    } else if (enabled === false) {
      problem(`collector.geoip.${key}`, "is set but collector.geoip.enabled is false: remove it, or turn enrichment on");
    } else {
      result[key] = path as string;
    }
  }
  return result;
}

/** `collector.elasticsearch` for a stack whose Elastic side is managed elsewhere. */
function readCollectorElasticsearch(value: unknown, enabled: boolean, problem: Report): { url: string; namespace: string } {
  const elasticsearch = value ?? {};
  let url = "";
  let namespace = DEFAULTS.collectorEsNamespace;
  if (!isObject(elasticsearch)) {
    problem("collector.elasticsearch", `must be { url, namespace? }, got ${describe(elasticsearch)}`);
    return { url, namespace };
  }
  reportUnknownKeys(elasticsearch, NESTED_KEYS["collector.elasticsearch"]!, "collector.elasticsearch.", problem);
  if (elasticsearch.url === undefined) {
    if (enabled) problem("collector.elasticsearch.url", "is required when collector.enabled is true: the cluster's HTTPS endpoint, e.g. https://my-deployment.es.westeurope.azure.elastic-cloud.com");
  } else if (typeof elasticsearch.url !== "string" || !isHttpsUrl(elasticsearch.url)) {
    // Shown without user info or query: a malformed URL may still carry a password or token.
    const shown = typeof elasticsearch.url === "string" ? `"${redactUrlText(elasticsearch.url)}"` : describe(elasticsearch.url);
    problem("collector.elasticsearch.url", `${shown} is not an https:// URL without credentials; the API key must not travel in clear text`);
  } else {
    url = elasticsearch.url;
  }
  const ns = elasticsearch.namespace ?? DEFAULTS.collectorEsNamespace;
  if (typeof ns !== "string" || !/^[a-z0-9_]{1,100}$/.test(ns)) {
    problem("collector.elasticsearch.namespace", `${describe(ns)} is not a data stream namespace: use 1-100 of a-z, 0-9 and _ (no "-", no upper case)`);
  } else {
    namespace = ns;
  }
  return { url, namespace };
}

/**
 * With a managed Elastic side, `elasticsearch.url` and `elasticsearch.namespace` are the one source of truth: the
 * collector writes where the templates and its key were made. A second copy under `collector` could only drift.
 */
function collectorTargetFromElastic(collectorBlock: unknown, elastic: ElasticSettings, enabled: boolean, problem: Report): CollectorConfig["elasticsearch"] {
  if (collectorBlock !== undefined) {
    problem("collector.elasticsearch", "is taken from `elasticsearch` (url, namespace) when this stack manages the Elastic side; remove it " +
      "(`pulumi config rm --path collector.elasticsearch`) and set `elasticsearch.url` / `elasticsearch.namespace` instead");
  }
  if (enabled && /^http:\/\//i.test(elastic.url)) {
    problem("elasticsearch.url", `${redactUrlText(elastic.url)} is plain http, but the collector sends its API key there: use https when collector.enabled is true`);
  }
  return {
    url: elastic.url,
    namespace: elastic.assets.namespace ?? DEFAULTS.collectorEsNamespace,
    ...(elastic.caCert ? { caCert: elastic.caCert } : {}),
    ...(elastic.writerKey.dedupeAcrossBackingIndices ? { dedupeAcrossBackingIndices: true } : {}),
  };
}

/** How each credential is set, for the messages. */
const CREDENTIAL_FIX: Record<string, string> = {
  collectorEsApiKey: "`pulumi config set --secret collectorEsApiKey <encoded key>` and invalidate the exposed key in Elasticsearch",
  elasticsearchPassword: "`pulumi config set --secret elasticsearchPassword <password>` and change the password in Elasticsearch",
  elasticsearchApiKey: "`pulumi config set --secret elasticsearchApiKey <encoded key>` and invalidate the exposed key in Elasticsearch",
  kibanaApiKey: "`pulumi config set --secret kibanaApiKey <encoded key>` and invalidate the exposed key in Elasticsearch",
  kibanaPassword: "`pulumi config set --secret kibanaPassword <password>` and change the password",
  kibanaWebhookPassword: "`pulumi config set --secret kibanaWebhookPassword <password>` and change the password at the webhook",
  kibanaEmailPassword: "`pulumi config set --secret kibanaEmailPassword <password>` and change the mail password",
};

/**
 * Credentials are top-level keys, never inside `elasticsearch`/`kibana`: user names in plain text, everything else
 * Pulumi secrets. Checks they are strings, that secrets are not stored in plain text, and that the chosen setup has
 * what it needs. Messages never repeat a value.
 */
function readCredentials(raw: Raw, elastic: ElasticSettings | undefined, context: ParseContext, problem: Report): void {
  const isSet = (key: string): boolean => raw[key] !== undefined && raw[key] !== "";
  for (const key of PLAIN_CREDENTIAL_KEYS) {
    if (raw[key] !== undefined && (typeof raw[key] !== "string" || raw[key] === "")) problem(key, `must be a user name: \`pulumi config set ${key} <name>\``);
  }
  for (const key of SECRET_KEYS) {
    if (raw[key] === undefined) continue;
    if (typeof raw[key] !== "string") {
      problem(key, `must be one string${key === "collectorEsApiKey" ? " (the encoded Elasticsearch API key)" : ""}: ${CREDENTIAL_FIX[key]!.split(" and ")[0]}`);
    } else if (isSet(key) && context.secretKeys && !context.secretKeys.includes(key)) {
      problem(key, `is stored in plain text in Pulumi.${context.stack}.yaml: set it again with ${CREDENTIAL_FIX[key]}`);
    }
  }
  if (!elastic) {
    for (const key of ["elasticsearchUsername", "elasticsearchPassword", "elasticsearchApiKey"]) {
      if (isSet(key)) problem(key, "is set but `elasticsearch` is not, so nothing uses it: set `elasticsearch.url` (this stack then manages the Elastic side) or remove the key");
    }
    return;
  }
  if (elastic.writerKey.external) {
    readExternalKeyCredentials(isSet, problem);
  } else {
    readMintingCredentials(isSet, problem);
  }
  const kibana = elastic.kibana;
  if (!kibana) {
    for (const key of ["kibanaApiKey", "kibanaUsername", "kibanaPassword", "kibanaWebhookPassword", "kibanaEmailPassword"]) {
      if (isSet(key)) problem(key, "is set but `kibana` is not, so nothing uses it: set `kibana.url` or remove the key");
    }
    return;
  }
  if (!isSet("kibanaApiKey") && !(isSet("kibanaUsername") && isSet("kibanaPassword"))) {
    problem("kibanaApiKey", "is required with `kibana` (or kibanaUsername + the secret kibanaPassword): `pulumi config set --secret kibanaApiKey <encoded key>`");
  }
  if (kibana.alert?.webhook?.user && !isSet("kibanaWebhookPassword")) {
    problem("kibanaWebhookPassword", "is required with kibana.alert.webhook.user: `pulumi config set --secret kibanaWebhookPassword <password>`");
  }
  if (kibana.alert?.email?.user && !isSet("kibanaEmailPassword")) {
    problem("kibanaEmailPassword", "is required with kibana.alert.email.user: `pulumi config set --secret kibanaEmailPassword <password>`");
  }
}

/** The stack mints the writer key: that needs a user (Elasticsearch gives a key minted with an API key no privileges). */
function readMintingCredentials(isSet: (key: string) => boolean, problem: Report): void {
  const byHand = "; where no user can mint it (Elastic Cloud Serverless), make the key yourself and set elasticsearch.writerKey.external: true (infra/README.md)";
  if (isSet("collectorEsApiKey")) {
    problem("collectorEsApiKey", "is set, but this stack manages the Elastic side (`elasticsearch`) and mints the collector's writer key itself: " +
      "remove it (`pulumi config rm collectorEsApiKey`), or remove `elasticsearch` if the Elastic side is managed elsewhere, or, if you made " +
      "this key for this stack, say so with `pulumi config set --path elasticsearch.writerKey.external true`");
  }
  if (!isSet("elasticsearchUsername")) {
    problem("elasticsearchUsername", "is required with `elasticsearch`: the user (with manage_own_api_key) that mints the collector's writer key, " +
      `\`pulumi config set elasticsearchUsername <user>\`${byHand}`);
  }
  if (!isSet("elasticsearchPassword")) {
    problem("elasticsearchPassword", "is required with `elasticsearch`: `pulumi config set --secret elasticsearchPassword <password>` " +
      `(elasticsearchApiKey alone cannot mint the writer key)${byHand}`);
  }
}

/** writerKey.external: nothing is minted, so any identity that may put index templates will do, an API key included. */
function readExternalKeyCredentials(isSet: (key: string) => boolean, problem: Report): void {
  const user = isSet("elasticsearchUsername");
  const password = isSet("elasticsearchPassword");
  if (user && !password) problem("elasticsearchPassword", "is required with elasticsearchUsername: `pulumi config set --secret elasticsearchPassword <password>`");
  if (password && !user) problem("elasticsearchUsername", "is required with elasticsearchPassword: `pulumi config set elasticsearchUsername <user>`");
  if (!isSet("elasticsearchApiKey") && !user && !password) {
    problem("elasticsearchApiKey", "is required with `elasticsearch` (or elasticsearchUsername + the secret elasticsearchPassword): the identity that puts " +
      "the index templates, `pulumi config set --secret elasticsearchApiKey <encoded key>` (on Serverless: a project API key with " +
      "manage_index_templates, and manage_pipeline for the GeoIP pipeline)");
  }
}

/**
 * The secret keys this configuration needs, for the offline plan's stand-ins: committed stack files hold no
 * secrets, and standing in for a key the setup must NOT have (collectorEsApiKey next to a minting `elasticsearch`) would
 * turn a valid stack into an error.
 */
export function neededSecretKeys(raw: Raw): SecretKey[] {
  const needed: SecretKey[] = [];
  if (raw.elasticsearch === undefined) {
    const collector = raw.collector;
    if (isObject(collector) && collector.enabled === true) needed.push("collectorEsApiKey");
    return needed;
  }
  const writerKey = isObject(raw.elasticsearch) && isObject(raw.elasticsearch.writerKey) ? raw.elasticsearch.writerKey : {};
  if (writerKey.external === true) {
    // The key made by hand, and an admin identity that may be an API key alone.
    needed.push(raw.elasticsearchUsername === undefined ? "elasticsearchApiKey" : "elasticsearchPassword");
    if (isObject(raw.collector) && raw.collector.enabled === true) needed.push("collectorEsApiKey");
  } else {
    needed.push("elasticsearchPassword");
  }
  const kibana = raw.kibana;
  if (isObject(kibana)) {
    if (raw.kibanaUsername === undefined) needed.push("kibanaApiKey");
    else needed.push("kibanaPassword");
    const alert = isObject(kibana.alert) ? kibana.alert : {};
    if (isObject(alert.webhook) && alert.webhook.user !== undefined) needed.push("kibanaWebhookPassword");
    if (isObject(alert.email) && alert.email.user !== undefined) needed.push("kibanaEmailPassword");
  }
  return needed;
}

function readCollectorImage(value: Raw, storageAccountName: string | undefined, problem: Report): CollectorConfig["image"] | undefined {
  const { image, imageRegistryResourceId, registry } = value;
  if (image === undefined) {
    if (imageRegistryResourceId !== undefined) {
      problem("collector.imageRegistryResourceId", "only goes with collector.image (a prebuilt image in that registry); without collector.image the stack builds the image and creates its own registry");
    }
    const reg = registry ?? {};
    if (!isObject(reg)) return void problem("collector.registry", `must be { name?, sku? }, got ${describe(reg)}`);
    reportUnknownKeys(reg, NESTED_KEYS["collector.registry"]!, "collector.registry.", problem);
    const fallback = `${storageAccountName ?? "flowlogs"}acr`;
    const registryName = reg.name ?? fallback;
    // A derived name is only as good as storage.accountName, which reports its own problem.
    if (reg.name !== undefined && (typeof registryName !== "string" || !/^[a-zA-Z0-9]{5,50}$/.test(registryName))) {
      problem("collector.registry.name", `${describe(registryName)} is not a container registry name: 5-50 letters and digits, globally unique (or leave it unset for "${fallback}")`);
    }
    const sku = reg.sku ?? DEFAULTS.collectorRegistrySku;
    if (!(REGISTRY_SKUS as readonly unknown[]).includes(sku)) problem("collector.registry.sku", `${describe(sku)} is not supported; use one of ${REGISTRY_SKUS.join(", ")}`);
    return { build: true, registryName: String(registryName).toLowerCase(), registrySku: sku as RegistrySku };
  }
  if (registry !== undefined) {
    problem("collector.registry", "applies only when the stack builds the image; with collector.image (prebuilt) remove collector.registry, or use collector.imageRegistryResourceId for an existing registry");
  }
  const match = typeof image === "string" ? IMAGE_REFERENCE.exec(image) : null;
  if (!match) return void problem("collector.image", `${describe(image)} is not an image reference like myregistry.azurecr.io/flowlogs-collector:1.0.0`);
  if (match[2] === undefined && match[3] === undefined) {
    return void problem("collector.image", `"${image}" has no tag or digest: pin one (e.g. :1.0.0 or @sha256:...), or the container group never picks up a new image`);
  }
  if (match[2] === "latest" && match[3] === undefined) {
    return void problem("collector.image", `"${image}" uses the moving tag "latest": pin a version tag or digest so that a change redeploys`);
  }
  if (imageRegistryResourceId === undefined) {
    // ACR allows only authenticated pulls by default: without the registry's id the container group has no pull
    // identity, and creating it fails on the image pull after everything before it exists.
    if (/^[^/]+\.azurecr\.(?:io|cn|us)\//i.test(String(image))) {
      return void problem("collector.imageRegistryResourceId", `"${image}" is in an Azure Container Registry, which the container group can pull ` +
        "from only with its identity: set collector.imageRegistryResourceId to that registry's resource id " +
        "(/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<name>)");
    }
    return { build: false, reference: String(image) };
  }
  const parsed = typeof imageRegistryResourceId === "string" ? parseArmId(imageRegistryResourceId) : undefined;
  const isRegistry = parsed?.ok && parsed.id.namespace.toLowerCase() === "microsoft.containerregistry" &&
    parsed.id.segments.length === 1 && parsed.id.segments[0]![0].toLowerCase() === "registries";
  if (!parsed || !parsed.ok || !isRegistry) {
    return void problem("collector.imageRegistryResourceId", `${describe(imageRegistryResourceId)} is not a container registry id: expected ` +
      "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<name>" + (parsed && !parsed.ok ? ` (${parsed.problem})` : ""));
  }
  const loginServer = `${parsed.id.segments[0]![1].toLowerCase()}.azurecr.io`;
  if (!String(image).startsWith(`${loginServer}/`)) {
    return void problem("collector.image", `"${image}" is not in the registry named by collector.imageRegistryResourceId; expected it to start with ${loginServer}/`);
  }
  return { build: false, reference: String(image), registry: { resourceId: String(imageRegistryResourceId), loginServer } };
}

function readNumber(raw: unknown, fallback: number, min: number, max: number, key: string, unit: string, problem: Report): number {
  if (raw === undefined) return fallback;
  // `pulumi config set --path collector.cpu 1.5` stores "1.5": the CLI turns only whole numbers and booleans into
  // YAML values of their own. A plain decimal in a string is that number.
  const value = typeof raw === "string" && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== "number" || value < min || value > max || Math.abs(Math.round(value * 10) - value * 10) > 1e-9) {
    problem(key, `must be ${min}-${max} ${unit} in steps of 0.1, got ${describe(raw)}`);
    return fallback;
  }
  return value;
}

function isHttpsUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "https:" && url.hostname !== "" && url.username === "" && url.password === "";
  } catch {
    return false;
  }
}

function readStorage(value: unknown, problem: Report): InfraConfig["storage"] | undefined {
  if (!isObject(value)) {
    return void problem("storage", value === undefined
      ? "is required with at least `accountName`: `pulumi config set --path storage.accountName <3-24 lowercase letters and digits, globally unique>`"
      : `must be an object { accountName, sku?, skuConvertedTo?, allowSharedKeyAccess?, networkDefaultAction?, allowedIpRanges?, keepDataOnDestroy? }, got ${describe(value)}`);
  }
  reportUnknownKeys(value, NESTED_KEYS.storage!, "storage.", problem);
  const { accountName } = value;
  if (typeof accountName !== "string" || !/^[a-z0-9]{3,24}$/.test(accountName)) {
    problem("storage.accountName", `${describe(accountName)} is not a valid storage account name: use 3-24 lowercase letters and digits ` +
      "only (no dashes or capitals; this project sets the name explicitly because generated names break this rule)");
  }
  const sku = value.sku ?? DEFAULTS.storageSku;
  if (typeof sku === "string" && /^premium/i.test(sku)) {
    problem("storage.sku", `"${sku}" is a Premium SKU, which flow logs do not support; use a Standard SKU such as Standard_LRS`);
  } else if (!(STANDARD_SKUS as readonly unknown[]).includes(sku)) {
    problem("storage.sku", `${describe(sku)} is not supported; use one of ${STANDARD_SKUS.join(", ")}`);
  }
  const { skuConvertedTo } = value;
  if (skuConvertedTo !== undefined && skuConvertedTo !== sku) {
    problem("storage.skuConvertedTo", `is ${describe(skuConvertedTo)} but storage.sku is ${describe(sku)}: it only records a finished ` +
      "zone-redundancy conversion TO storage.sku; set it to the SKU Azure now reports, or remove it once `pulumi up` recorded the conversion");
  }
  const allowSharedKeyAccess = value.allowSharedKeyAccess ?? DEFAULTS.storageAllowSharedKeyAccess;
  if (typeof allowSharedKeyAccess !== "boolean") problem("storage.allowSharedKeyAccess", `must be true or false, got ${describe(allowSharedKeyAccess)}`);
  const networkDefaultAction = value.networkDefaultAction ?? DEFAULTS.storageNetworkDefaultAction;
  if (networkDefaultAction !== "Allow" && networkDefaultAction !== "Deny") {
    problem("storage.networkDefaultAction", `must be "Deny" (only trusted Azure services and allowedIpRanges) or "Allow", got ${describe(networkDefaultAction)}`);
  }
  const allowedIpRanges = readIpRanges(value.allowedIpRanges, problem);
  const keepDataOnDestroy = value.keepDataOnDestroy ?? DEFAULTS.storageKeepDataOnDestroy;
  if (typeof keepDataOnDestroy !== "boolean") {
    problem("storage.keepDataOnDestroy", `must be true (destroy leaves the stored flow logs) or false (destroy deletes them), got ${describe(keepDataOnDestroy)}`);
  }
  return {
    accountName: String(accountName),
    sku: sku as StorageSku,
    ...(skuConvertedTo === undefined ? {} : { skuConvertedTo: skuConvertedTo as StorageSku }),
    allowSharedKeyAccess: allowSharedKeyAccess === true,
    networkDefaultAction: networkDefaultAction === "Allow" ? "Allow" : "Deny",
    allowedIpRanges,
    keepDataOnDestroy: keepDataOnDestroy !== false,
  };
}

/** Storage firewall IP rules take public IPv4 addresses or CIDR ranges up to /30 (Azure storage network rules). */
function readIpRanges(value: unknown, problem: Report): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) { problem("storage.allowedIpRanges", `must be a list of public IPv4 addresses or CIDR ranges, got ${describe(value)}`); return []; }
  const ranges: string[] = [];
  value.forEach((range: unknown, i) => {
    const key = `storage.allowedIpRanges[${i}]`;
    const match = typeof range === "string" ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(range) : null;
    if (!match || match.slice(1, 5).some((o) => Number(o) > 255)) return problem(key, `${describe(range)} is not an IPv4 address or CIDR range like 203.0.113.0/24`);
    const [a, b] = [Number(match[1]), Number(match[2])];
    if (a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) {
      return problem(key, `"${range}" is a private address; storage IP rules only apply to public addresses (reach the account from a VNet with a private endpoint instead)`);
    }
    if (match[5] !== undefined && Number(match[5]) > 30) return problem(key, `"${range}": storage IP rules accept prefixes up to /30; write a single address without the prefix`);
    ranges.push(range as string);
  });
  return ranges;
}

function isObject(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `"${value}"`;
  return `${Array.isArray(value) ? "a list" : typeof value} ${JSON.stringify(value)}`;
}
