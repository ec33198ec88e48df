// The storage account Network Watcher writes flow logs into, locked down, plus the lifecycle policy that is this
// project's only retention mechanism (see ../retention.ts).
import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import { KEEP_FOREVER, RETENTION_TAG, lifecyclePolicy } from "../retention";

export interface FlowLogStorageArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** Explicit: azure-native's generated names (logical name + suffix) break the 3-24 lowercase rule. */
  accountName: string;
  sku: string;
  allowSharedKeyAccess: boolean;
  /**
   * "Deny": only trusted Azure services (Network Watcher, via bypass AzureServices) and `allowedIpRanges` reach
   * the data plane. Public network access stays "Enabled" because with it fully disabled the trusted-service
   * bypass stops working.
   */
  networkDefaultAction: "Allow" | "Deny";
  allowedIpRanges: string[];
  /** 0 keeps blobs forever (the lifecycle policy's one rule is disabled). */
  retentionDays: number;
  /** The collector's checkpoint container, whose stale checkpoints the lifecycle policy deletes too. */
  checkpointContainer?: string;
  /** `pulumi destroy` forgets the account and its retention policy instead of deleting them (and the logs). */
  keepDataOnDestroy: boolean;
  tags: Record<string, string>;
}

export class FlowLogStorage extends pulumi.ComponentResource {
  readonly account: storage.StorageAccount;
  readonly accountId: pulumi.Output<string>;
  readonly accountName: pulumi.Output<string>;
  readonly blobEndpoint: pulumi.Output<string>;
  readonly retentionPolicy: storage.ManagementPolicy;

  constructor(name: string, args: FlowLogStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:FlowLogStorage", name, {}, opts);
    this.account = new storage.StorageAccount(`${name}-account`, {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      accountName: args.accountName,
      kind: "StorageV2",
      sku: { name: args.sku },
      accessTier: "Hot",
      minimumTlsVersion: "TLS1_2",
      enableHttpsTrafficOnly: true,
      allowBlobPublicAccess: false,
      allowCrossTenantReplication: false,
      allowSharedKeyAccess: args.allowSharedKeyAccess,
      defaultToOAuthAuthentication: !args.allowSharedKeyAccess,
      publicNetworkAccess: "Enabled",
      networkRuleSet: {
        defaultAction: args.networkDefaultAction,
        bypass: "AzureServices",
        ipRules: args.allowedIpRanges.map((range) => ({ iPAddressOrRange: range, action: "Allow" })),
      },
      // "Keep forever" has no delete rule to show it; the tag states the choice (see ../retention.ts).
      tags: args.retentionDays === 0 ? { ...args.tags, [RETENTION_TAG]: KEEP_FOREVER } : args.tags,
    }, { parent: this, retainOnDelete: args.keepDataOnDestroy || undefined });

    // Declared for every retentionDays, 0 included (../retention.ts says why).
    this.retentionPolicy = new storage.ManagementPolicy(`${name}-retention`, {
      resourceGroupName: args.resourceGroupName,
      accountName: this.account.name,
      managementPolicyName: "default", // the only name Azure accepts
      policy: lifecyclePolicy(args.retentionDays, args.checkpointContainer),
    }, { parent: this, retainOnDelete: args.keepDataOnDestroy || undefined }); // kept data keeps its retention

    this.accountId = this.account.id;
    this.accountName = this.account.name;
    this.blobEndpoint = this.account.primaryEndpoints.blob;
    this.registerOutputs({ accountId: this.accountId, accountName: this.accountName, blobEndpoint: this.blobEndpoint });
  }
}
