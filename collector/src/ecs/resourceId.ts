// Splits an Azure resource id: /subscriptions/<sub>/resourceGroups/<group>/providers/<ns>/<type>/<name>[/<type>/<name>]
// Keys are matched case-insensitively because NSG records write the id in upper case.

export interface ResourceIdParts {
  subscriptionId?: string;
  group?: string;
  /** The last name segment (the resource itself, e.g. the NSG or VNet name). */
  name?: string;
}

export function parseResourceId(resourceId: string): ResourceIdParts {
  const segments = resourceId.split("/").filter((segment) => segment !== "");
  const parts: ResourceIdParts = {};
  for (let i = 0; i + 1 < segments.length; i += 2) {
    const key = segments[i].toLowerCase();
    if (key === "subscriptions") parts.subscriptionId = segments[i + 1];
    else if (key === "resourcegroups") parts.group = segments[i + 1];
    else if (key === "providers") {
      // After the namespace come <type>/<name> pairs; the resource's own name is the last one.
      const rest = segments.slice(i + 2);
      if (rest.length >= 2 && rest.length % 2 === 0) parts.name = rest[rest.length - 1];
      break;
    }
  }
  return parts;
}
