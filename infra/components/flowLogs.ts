// One network.FlowLog per target, under the Network Watcher (so in the WATCHER's resource group, not the stack's),
// with every setting explicit: location, JSON format version 2, name, retention (off: see ../retention.ts).
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import { FLOW_LOG_RETENTION_POLICY } from "../retention";
import { checkedTargetId } from "./flowLogTargetCheck";

export interface FlowLogTarget {
  targetResourceId: pulumi.Input<string>;
  flowLogName: string;
  /** A user-chosen name survives a target change, so the old flow log must be deleted before the new one exists. */
  nameIsExplicit: boolean;
  /** ARM id of an existing flow log to adopt (Pulumi `import`), e.g. an NSG flow log that can no longer be created. */
  adoptExistingId?: string;
  /** NSG flow logs take no managed identity (Microsoft documents identities for VNet flow logs only). */
  kind?: "virtualNetwork" | "subnet" | "networkInterface" | "networkSecurityGroup";
  /**
   * Set for a target the config names (an existing resource, e.g. `flowLogs[2]`): it is looked up, and must be in
   * `location`, before its flow log is declared (./flowLogTargetCheck.ts). Unset for a VNet this stack creates.
   */
  configKey?: string;
}

export interface FlowLogsArgs {
  watcherName: pulumi.Input<string>;
  watcherResourceGroupName: pulumi.Input<string>;
  /** The targets' region, which is also the storage account's: Azure requires them to match. */
  location: string;
  storageAccountId: pulumi.Input<string>;
  targets: FlowLogTarget[];
  /** User-assigned identity that writes to storage when shared keys are off. */
  writerIdentityId?: pulumi.Input<string>;
  trafficAnalytics?: {
    intervalMinutes: number;
    workspaceResourceId: pulumi.Input<string>;
    workspaceGuid: pulumi.Input<string>;
    workspaceRegion: pulumi.Input<string>;
  };
  tags: Record<string, string>;
  /** e.g. the role assignment the identity needs before Azure accepts the flow log. */
  dependsOn?: pulumi.Resource[];
}

/**
 * An adopted NSG flow log carries this prefix in its logical name: the guard-rail policy (policy/rules.ts) can see
 * names but not the `import` option, and refuses any other flow log that targets an NSG.
 */
export const ADOPTED_NSG_FLOW_LOG_PREFIX = "adopted-nsg-";

function logicalName(target: FlowLogTarget): string {
  return target.adoptExistingId !== undefined && target.kind === "networkSecurityGroup"
    ? `${ADOPTED_NSG_FLOW_LOG_PREFIX}${target.flowLogName}`
    : target.flowLogName;
}

export class FlowLogs extends pulumi.ComponentResource {
  readonly flowLogs: network.FlowLog[];
  readonly ids: pulumi.Output<string[]>;
  readonly names: pulumi.Output<string[]>;

  constructor(name: string, args: FlowLogsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:FlowLogs", name, {}, opts);
    this.flowLogs = args.targets.map((target) => new network.FlowLog(logicalName(target), {
      networkWatcherName: args.watcherName,
      resourceGroupName: args.watcherResourceGroupName,
      flowLogName: target.flowLogName,
      location: args.location,
      targetResourceId: target.configKey !== undefined && typeof target.targetResourceId === "string"
        ? checkedTargetId(target.targetResourceId, target.configKey, args.location, this)
        : target.targetResourceId,
      storageId: args.storageAccountId,
      enabled: true,
      format: { type: network.FlowLogFormatType.JSON, version: 2 },
      retentionPolicy: { ...FLOW_LOG_RETENTION_POLICY },
      identity: args.writerIdentityId && target.kind !== "networkSecurityGroup"
        ? { type: network.ResourceIdentityType.UserAssigned, userAssignedIdentities: [args.writerIdentityId] }
        : undefined,
      flowAnalyticsConfiguration: args.trafficAnalytics
        ? {
          networkWatcherFlowAnalyticsConfiguration: {
            enabled: true,
            trafficAnalyticsInterval: args.trafficAnalytics.intervalMinutes,
            workspaceResourceId: args.trafficAnalytics.workspaceResourceId,
            workspaceId: args.trafficAnalytics.workspaceGuid,
            workspaceRegion: args.trafficAnalytics.workspaceRegion,
          },
        }
        : undefined,
      tags: args.tags,
    }, {
      parent: this,
      dependsOn: args.dependsOn,
      // Never repoint a flow log in place (Azure has kept writing for the old target after such updates).
      replaceOnChanges: ["targetResourceId"],
      deleteBeforeReplace: target.nameIsExplicit,
      import: target.adoptExistingId,
      // An adopted NSG flow log cannot be created again (NsgFlowLogCreationBlocked): `destroy` or removing it from
      // the config only forgets it; deleting it stays a deliberate act in Azure.
      retainOnDelete: target.adoptExistingId !== undefined ? true : undefined,
    }));
    this.ids = pulumi.all(this.flowLogs.map((f) => f.id));
    this.names = pulumi.all(this.flowLogs.map((f) => f.name));
    this.registerOutputs({ ids: this.ids, names: this.names });
  }
}
