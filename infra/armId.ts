// Parses Azure Resource Manager ids of the shapes this project accepts, naming the exact part that is wrong.
// Pure: no Pulumi imports, so config validation can run (and be tested) before any resource is declared.

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** ARM's short name of a region, as its answers give it: lower case, no spaces ("North Europe" is northeurope). */
export function armRegionName(region: string): string {
  return region.toLowerCase().replace(/\s+/g, "");
}

/** Whether `text` is a GUID, as subscription ids are. */
export function isGuid(text: string | undefined): text is string {
  return text !== undefined && GUID.test(text);
}
/** Resource group names: 1-90 of letters, digits, `_ - . ( )`, not ending with a period (ARM naming rules). */
export const RESOURCE_GROUP_NAME = /^[-\w.()]{0,89}[-\w()]$/;
/** Names of Microsoft.Network resources: start alphanumeric, end alphanumeric or `_`, 1-80 chars. */
export const NETWORK_RESOURCE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/;

export interface ArmResourceId {
  subscriptionId: string;
  resourceGroupName: string;
  /** Provider namespace as written, e.g. `Microsoft.Network`. */
  namespace: string;
  /** Type path and names, e.g. [["virtualNetworks", "vnet1"], ["subnets", "web"]]. */
  segments: Array<[type: string, name: string]>;
}

export type ArmIdResult = { ok: true; id: ArmResourceId } | { ok: false; problem: string };

/** Splits `/subscriptions/{guid}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}...]`. */
export function parseArmId(value: string): ArmIdResult {
  const example = "/subscriptions/<guid>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>";
  if (!value.startsWith("/")) return fail(`it must start with "/subscriptions/" (expected ${example})`);
  const parts = value.slice(1).split("/");
  if (parts.some((part) => part === "")) return fail(`it has an empty segment (a doubled or trailing "/")`);
  if (parts[0]?.toLowerCase() !== "subscriptions") return fail(`the first segment is "${parts[0]}", expected "subscriptions"`);
  if (!parts[1] || !GUID.test(parts[1])) return fail(`the subscription id "${parts[1] ?? ""}" is not a GUID`);
  if (parts[2]?.toLowerCase() !== "resourcegroups") return fail(`segment 3 is "${parts[2] ?? ""}", expected "resourceGroups"`);
  if (!parts[3] || !RESOURCE_GROUP_NAME.test(parts[3])) return fail(`the resource group name "${parts[3] ?? ""}" is not a valid resource group name`);
  if (parts[4]?.toLowerCase() !== "providers") return fail(`segment 5 is "${parts[4] ?? ""}", expected "providers"`);
  if (!parts[5]) return fail(`the provider namespace is missing after "providers" (expected ${example})`);
  const rest = parts.slice(6);
  if (rest.length === 0 || rest.length % 2 !== 0) {
    return fail(`after "providers/${parts[5]}" it must continue with <type>/<name> pairs, found "${rest.join("/")}"`);
  }
  const segments: Array<[string, string]> = [];
  for (let i = 0; i < rest.length; i += 2) segments.push([rest[i]!, rest[i + 1]!]);
  return { ok: true, id: { subscriptionId: parts[1], resourceGroupName: parts[3], namespace: parts[5], segments } };

  function fail(problem: string): ArmIdResult {
    return { ok: false, problem };
  }
}

export type FlowLogTargetKind = "virtualNetwork" | "subnet" | "networkInterface" | "networkSecurityGroup";

const TARGET_SHAPES: Array<{ kind: FlowLogTargetKind; types: string[] }> = [
  { kind: "virtualNetwork", types: ["virtualNetworks"] },
  { kind: "subnet", types: ["virtualNetworks", "subnets"] },
  { kind: "networkInterface", types: ["networkInterfaces"] },
  { kind: "networkSecurityGroup", types: ["networkSecurityGroups"] },
];

export type TargetResult =
  | { ok: true; kind: FlowLogTargetKind; id: ArmResourceId }
  | { ok: false; problem: string };

/** Classifies a flow-log target id as a VNet, subnet, NIC or NSG, or says which part is wrong. */
export function parseFlowLogTarget(value: string): TargetResult {
  const parsed = parseArmId(value);
  if (!parsed.ok) return parsed;
  const { id } = parsed;
  if (id.namespace.toLowerCase() !== "microsoft.network") {
    return { ok: false, problem: `the provider namespace is "${id.namespace}", expected "Microsoft.Network"` };
  }
  const types = id.segments.map(([type]) => type.toLowerCase());
  const shape = TARGET_SHAPES.find((s) => s.types.length === types.length && s.types.every((t, i) => t.toLowerCase() === types[i]));
  if (!shape) {
    return {
      ok: false,
      problem: `the resource type "${id.segments.map(([t]) => t).join("/")}" cannot carry a flow log; ` +
        `use a virtualNetworks, virtualNetworks/subnets or networkInterfaces id`,
    };
  }
  const badName = id.segments.find(([, name]) => !NETWORK_RESOURCE_NAME.test(name));
  if (badName) return { ok: false, problem: `the ${badName[0]} name "${badName[1]}" is not a valid Azure network resource name` };
  return { ok: true, kind: shape.kind, id };
}
