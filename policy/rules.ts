// The guard rails as plain functions over (resource type, inputs), so they can run both inside
// `pulumi preview --policy-pack policy` (index.ts) and over the offline plan in the tests.
import { UnknownValueError } from "@pulumi/policy";

export interface PlannedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

export interface ResourceRule {
  name: string;
  description: string;
  /** Resource types this rule looks at. */
  types: string[];
  /** One message per violation; empty when the resource complies. */
  check(resource: PlannedResource): string[];
}

export interface StackRule {
  name: string;
  description: string;
  check(resources: PlannedResource[]): string[];
}

export const FLOW_LOG = "azure-native:network:FlowLog";
export const STORAGE_ACCOUNT = "azure-native:storage:StorageAccount";
export const MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy";
export const CONTAINER_GROUP = "azure-native:containerinstance:ContainerGroup";
export const CONTAINER_APP = "azure-native:app:ContainerApp";
export const REGISTRY = "azure-native:containerregistry:Registry";

/** Logical-name prefix the program gives an existing NSG flow log it adopts (Pulumi `import`); nothing else may target an NSG. */
export const ADOPTED_NSG_FLOW_LOG_PREFIX = "adopted-nsg-";

/**
 * The program's storage account tag for `retentionDays: 0` (infra/retention.ts): the stack keeps its flow logs
 * forever on purpose, so no lifecycle delete rule is expected.
 */
export const RETENTION_TAG = "flowlogs-retention";
export const KEEP_FOREVER = "keep-forever";

const SECRET_NAME = /(KEY|SECRET|PASSWORD|PASSWD|TOKEN|CONNECTION_?STRING|CREDENTIAL)/i;
const FLOW_LOG_CONTAINERS = ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"];

export const resourceRules: ResourceRule[] = [
  {
    name: "storage-account-hardened",
    description: "Storage accounts require TLS 1.2 or newer, HTTPS only and no public blob access.",
    types: [STORAGE_ACCOUNT],
    check: ({ inputs }) => [
      ...(["TLS1_2", "TLS1_3"].includes(inputs.minimumTlsVersion) ? [] : [`minimumTlsVersion must be TLS1_2 or TLS1_3 (is ${inputs.minimumTlsVersion ?? "unset"})`]),
      ...(inputs.enableHttpsTrafficOnly === true ? [] : ["enableHttpsTrafficOnly must be true"]),
      ...(inputs.allowBlobPublicAccess === false ? [] : ["allowBlobPublicAccess must be false"]),
    ],
  },
  {
    name: "flow-log-enabled-json-v2",
    description: "Flow logs are enabled and written as JSON format version 2.",
    types: [FLOW_LOG],
    check: ({ inputs }) => [
      ...(inputs.enabled === true ? [] : ["enabled must be true"]),
      ...(inputs.format?.type === "JSON" && inputs.format?.version === 2 ? [] : ["format must be { type: \"JSON\", version: 2 } (the SDK fills version 0 when it is left out)"]),
    ],
  },
  {
    name: "no-new-nsg-flow-log",
    description: "Azure blocks new NSG flow logs since 2025-06-30 (NsgFlowLogCreationBlocked); only adopted existing ones may target an NSG.",
    types: [FLOW_LOG],
    check: ({ name, inputs }) =>
      /\/networkSecurityGroups\//i.test(String(inputs.targetResourceId ?? "")) && !name.startsWith(ADOPTED_NSG_FLOW_LOG_PREFIX)
        ? [`targets a network security group: new NSG flow logs are blocked by Azure since 2025-06-30; target the virtual network instead, or adopt the existing flow log through the networkWatcher/flowLogs config`]
        : [],
  },
  {
    name: "container-runs-with-managed-identity",
    description: "The collector's container group or app runs with a managed identity.",
    types: [CONTAINER_GROUP, CONTAINER_APP],
    check: ({ inputs }) => (/Assigned/.test(String(inputs.identity?.type ?? "")) ? [] : ["identity.type must be UserAssigned or SystemAssigned"]),
  },
  {
    name: "no-plaintext-secret-env",
    description: "Secret-looking environment variables are passed as secure values or secret references, never as plain values.",
    types: [CONTAINER_GROUP, CONTAINER_APP],
    check: ({ inputs }) => {
      const plain: string[] = [];
      // Init containers take environment variables as the main ones do (ACI initContainers, Container Apps template.initContainers).
      for (const c of [...(inputs.containers ?? []), ...(inputs.initContainers ?? [])]) {
        for (const v of c.environmentVariables ?? []) if (SECRET_NAME.test(v.name) && v.value !== undefined) plain.push(v.name);
      }
      for (const c of [...(inputs.template?.containers ?? []), ...(inputs.template?.initContainers ?? [])]) {
        for (const v of c.env ?? []) if (SECRET_NAME.test(v.name) && v.value !== undefined) plain.push(v.name);
      }
      return plain.map((n) => `environment variable ${n} is plain text: use secureValue (container group) or secretRef (container app)`);
    },
  },
  {
    name: "registry-no-anonymous-pull",
    description: "Container registries do not allow anonymous pull.",
    types: [REGISTRY],
    check: ({ inputs }) => (inputs.anonymousPullEnabled === true ? ["anonymousPullEnabled must not be true"] : []),
  },
];

/**
 * A property the engine cannot know during preview (an output of a resource not created yet, e.g. the flow log's
 * storageId on a first preview): the policy SDK throws UnknownValueError when it is read; here it reads as undefined.
 */
function known<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnknownValueError) return undefined;
    throw error;
  }
}

/** Storage account names are case-insensitive in Azure, as are tag names. */
const lower = (value: unknown) => (typeof value === "string" ? value.toLowerCase() : undefined);
const accountOfId = (id: unknown) => lower(/\/storageAccounts\/([^/]+)/i.exec(typeof id === "string" ? id : "")?.[1]);

/**
 * The flow-log containers a lifecycle rule deletes every block blob of: an enabled rule with a base-blob delete,
 * block blobs among its blob types, no blob index filter (flow logs carry no index tags), and either no prefix (the
 * whole account) or the container itself as a prefix (a narrower prefix leaves the other resources' logs).
 */
function containersDeletedBy(rule: any): string[] {
  const filters = rule?.definition?.filters ?? {};
  if (rule?.enabled === false || !rule?.definition?.actions?.baseBlob?.delete) return [];
  if (!(filters.blobTypes ?? []).includes("blockBlob") || (filters.blobIndexMatch ?? []).length > 0) return [];
  const prefixes: string[] = filters.prefixMatch ?? [];
  if (prefixes.length === 0) return FLOW_LOG_CONTAINERS;
  return FLOW_LOG_CONTAINERS.filter((container) => prefixes.some((p) => p === container || p === `${container}/`));
}

export const stackRules: StackRule[] = [
  {
    name: "flow-log-retention",
    description: "Every flow log has a retention: its own retention policy, or a lifecycle rule on the storage account it writes to that deletes " +
      `the flow-log containers' block blobs, unless that account keeps them forever on purpose (tagged ${RETENTION_TAG}: ${KEEP_FOREVER}).`,
    check(resources) {
      const accounts = resources.filter((r) => r.type === STORAGE_ACCOUNT).map((r) => ({
        name: lower(known(() => r.inputs.accountName)),
        keptForever: Object.entries(known(() => r.inputs.tags) ?? {}).some(([key, value]) => key.toLowerCase() === RETENTION_TAG && value === KEEP_FOREVER),
      }));
      const policies = resources.filter((r) => r.type === MANAGEMENT_POLICY).map((r) => ({
        account: lower(known(() => r.inputs.accountName)),
        deleted: new Set((known(() => r.inputs.policy?.rules) ?? []).flatMap(containersDeletedBy)),
      }));
      // An unknown name during preview is an account of this stack not created yet: it may be any declared one.
      const sameAccount = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || a === b;
      const retained = (account: string | undefined) =>
        accounts.some((a) => a.keptForever && sameAccount(a.name, account)) ||
        FLOW_LOG_CONTAINERS.every((container) => policies.some((p) => sameAccount(p.account, account) && p.deleted.has(container)));
      return resources
        .filter((r) => r.type === FLOW_LOG)
        .filter((r) => {
          const own = known(() => r.inputs.retentionPolicy);
          return !(own?.enabled === true && own?.days > 0) && !retained(accountOfId(known(() => r.inputs.storageId)));
        })
        .map((r) => `${r.name}: no retention (neither retentionPolicy with days > 0 nor, on the storage account it writes to, a lifecycle rule ` +
          `deleting the block blobs of ${FLOW_LOG_CONTAINERS.join(", ")} or the tag ${RETENTION_TAG}: ${KEEP_FOREVER})`);
    },
  },
];
