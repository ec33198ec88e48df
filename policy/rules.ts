// The guard rails as plain functions over (resource type, inputs), so they can run both inside
// `pulumi preview --policy-pack policy` (index.ts) and over the offline plan in the tests.

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
      for (const c of inputs.containers ?? []) {
        for (const v of c.environmentVariables ?? []) if (SECRET_NAME.test(v.name) && v.value !== undefined) plain.push(v.name);
      }
      for (const c of inputs.template?.containers ?? []) {
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

export const stackRules: StackRule[] = [
  {
    name: "flow-log-retention",
    description: "Every flow log has a retention: its own retention policy, or a storage lifecycle rule that deletes the flow-log containers' blobs, " +
      `unless the stack keeps them forever on purpose (its storage account tagged ${RETENTION_TAG}: ${KEEP_FOREVER}).`,
    check(resources) {
      // Azure tag names are case-insensitive.
      const keptForever = resources.some((r) => r.type === STORAGE_ACCOUNT &&
        Object.entries(r.inputs.tags ?? {}).some(([key, value]) => key.toLowerCase() === RETENTION_TAG && value === KEEP_FOREVER));
      if (keptForever) return [];
      const lifecycleDeletes = resources
        .filter((r) => r.type === MANAGEMENT_POLICY)
        .flatMap((r) => r.inputs.policy?.rules ?? [])
        .filter((rule: any) => rule.enabled !== false && rule.definition?.actions?.baseBlob?.delete)
        .flatMap((rule: any) => rule.definition?.filters?.prefixMatch ?? []) as string[];
      const covered = FLOW_LOG_CONTAINERS.every((c) => lifecycleDeletes.some((p) => p.startsWith(c)));
      return resources
        .filter((r) => r.type === FLOW_LOG)
        .filter((r) => !(r.inputs.retentionPolicy?.enabled === true && r.inputs.retentionPolicy?.days > 0) && !covered)
        .map((r) => `${r.name}: no retention (neither retentionPolicy with days > 0 nor a lifecycle delete rule on ${FLOW_LOG_CONTAINERS.join(", ")}, ` +
          `and no storage account tagged ${RETENTION_TAG}: ${KEEP_FOREVER})`);
    },
  },
];
