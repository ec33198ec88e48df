// Refuses, at preview, a change of the flow-log account's SKU that Azure would refuse as an update (see
// ../storageSku.ts). Without it `pulumi up` sends the update, Azure answers 400 half way through the deployment,
// and the stack is left part changed. The guard keeps the SKU the stack last applied; its `check` (run by preview
// and by up before any step) compares the new SKU with it. Everything in Azure that this stack changes waits for
// the guard (infra/foundation.ts), so a refused change stops `up` before Azure is touched.
// It also keeps where the account lives (resource group, location): ARM cannot move an account by an update, so
// azure-native would replace it, deleting first (../../infra/README.md, "Storage account").
// A guard added to an existing stack has no recorded SKU yet: its first run records the SKU and refuses nothing.
// It records a new SKU before Azure applies it; if the account's update then fails, the recorded SKU is one Azure never
// applied, but in the same class (tier, zone redundancy) as Azure's, so every later verdict is the same (storage-sku.test.ts).
import * as pulumi from "@pulumi/pulumi";
import { skuChangeRefusal } from "../storageSku";

/** Pulumi's marker for a value not known during preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface SkuGuardInputs {
  accountName: string;
  sku: string;
  /** Where the account lives; absent in what a guard older than these fields recorded. */
  resourceGroupName?: string;
  location?: string;
  /** storage.skuConvertedTo: a zone-redundancy conversion to this SKU finished in Azure, so recording it is allowed. */
  convertedTo?: string;
}

export const skuGuardProvider: pulumi.dynamic.ResourceProvider<SkuGuardInputs, SkuGuardInputs> = {
  async check(olds, news) {
    if (!olds) return { inputs: news };
    const failures = placementChangeRefusals(olds, news);
    const [from, to] = [olds.sku, news.sku];
    // Another storage.accountName is a new account (the old one is replaced or kept): Azure creates it with any SKU.
    const comparable = olds.accountName === news.accountName && typeof from === "string" && typeof to === "string" && to !== UNKNOWN;
    const refusal = comparable ? skuChangeRefusal(from, to) : undefined;
    if (refusal && news.convertedTo !== to) failures.push({ property: "sku", reason: `storage.sku: ${refusal}` });
    return failures.length ? { inputs: news, failures } : { inputs: news };
  },

  async diff(_id, olds, news) {
    const changed = (["sku", "accountName", "convertedTo", "resourceGroupName", "location"] as const).some((key) => olds[key] !== news[key]);
    return { changes: changed, replaces: [] };
  },

  async create(inputs) {
    return { id: `storage-sku-${inputs.accountName}`, outs: inputs };
  },

  async update(_id, _olds, news) {
    return { outs: news };
  },

  // Nothing exists in Azure: deleting it is forgetting it.
  async delete() {},
};

/**
 * Moves azure-native would make by replacing, deleting first. The same account in another resource group or location
 * (its group is part of its id; its location cannot change): its flow logs would go with it or, kept by
 * storage.keepDataOnDestroy, the new one could not be created (account names are global) after the collector and its
 * roles were already deleted; a new storage.accountName too makes it a new account, which is allowed. And the stack's
 * resource group in another location, under the same name: the same, for the group and everything in it.
 */
export function placementChangeRefusals(olds: SkuGuardInputs, news: SkuGuardInputs): Array<{ property: string; reason: string }> {
  const changed = (key: "resourceGroupName" | "location") =>
    typeof olds[key] === "string" && typeof news[key] === "string" && news[key] !== UNKNOWN && olds[key] !== news[key];
  const change = (key: "resourceGroupName" | "location") => `${key}: changing it (${JSON.stringify(olds[key])} -> ${JSON.stringify(news[key])})`;
  const refusals: Array<{ property: string; reason: string }> = [];
  if (changed("location") && !changed("resourceGroupName")) {
    refusals.push({ property: "location", reason: `${change("location")} would move the resource group ${news.resourceGroupName}, whose location ` +
      `Azure cannot change: Pulumi would replace it, deleting it first with everything in it; set a new resourceGroupName too, or keep location` });
  }
  if (olds.accountName === news.accountName) {
    for (const key of ["resourceGroupName", "location"] as const) {
      if (!changed(key) || refusals.some((r) => r.property === key)) continue;
      refusals.push({ property: key, reason: `${change(key)} would move the storage account ${news.accountName}, which Azure cannot do by an ` +
        `update: Pulumi would replace it, deleting it first (and its flow logs), or, with storage.keepDataOnDestroy, leaving it and then ` +
        `failing to create a second account of the same name; keep ${key}, or set a new storage.accountName as well (a new account; the old ` +
        `one, with its flow logs, is kept or deleted as storage.keepDataOnDestroy says)` });
    }
  }
  return refusals;
}

export interface StorageSkuGuardArgs {
  accountName: string;
  sku: string;
  convertedTo?: string;
  resourceGroupName: string;
  location: string;
}

export class StorageSkuGuard extends pulumi.dynamic.Resource {
  declare readonly sku: pulumi.Output<string>;

  constructor(name: string, args: StorageSkuGuardArgs, opts?: pulumi.CustomResourceOptions) {
    super(skuGuardProvider, name, { ...args, convertedTo: args.convertedTo }, opts, "flowlogs", "azure:StorageSkuGuard");
  }
}
