// Refuses, at preview, a change of the flow-log account's SKU that Azure would refuse as an update (see
// ../storageSku.ts). Without it `pulumi up` sends the update, Azure answers 400 half way through the deployment,
// and the stack is left part changed. The guard keeps the SKU the stack last applied; its `check` (run by preview
// and by up before any step) compares the new SKU with it. Everything in Azure that this stack changes waits for
// the guard (infra/foundation.ts), so a refused change stops `up` before Azure is touched.
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
  /** storage.skuConvertedTo: a zone-redundancy conversion to this SKU finished in Azure, so recording it is allowed. */
  convertedTo?: string;
}

export const skuGuardProvider: pulumi.dynamic.ResourceProvider<SkuGuardInputs, SkuGuardInputs> = {
  async check(olds, news) {
    const from = olds?.sku;
    const to = news.sku;
    if (typeof from !== "string" || typeof to !== "string" || to === UNKNOWN) return { inputs: news };
    // Another storage.accountName is a new account (the old one is replaced or kept): Azure creates it with any SKU.
    if (olds.accountName !== news.accountName) return { inputs: news };
    const refusal = skuChangeRefusal(from, to);
    if (!refusal || news.convertedTo === to) return { inputs: news };
    return { inputs: news, failures: [{ property: "sku", reason: `storage.sku: ${refusal}` }] };
  },

  async diff(_id, olds, news) {
    return { changes: olds.sku !== news.sku || olds.accountName !== news.accountName || olds.convertedTo !== news.convertedTo, replaces: [] };
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

export interface StorageSkuGuardArgs {
  accountName: string;
  sku: string;
  convertedTo?: string;
}

export class StorageSkuGuard extends pulumi.dynamic.Resource {
  declare readonly sku: pulumi.Output<string>;

  constructor(name: string, args: StorageSkuGuardArgs, opts?: pulumi.CustomResourceOptions) {
    super(skuGuardProvider, name, { ...args, convertedTo: args.convertedTo }, opts, "flowlogs", "azure:StorageSkuGuard");
  }
}
