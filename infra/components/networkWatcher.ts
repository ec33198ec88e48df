// The Network Watcher that parents the flow logs. Azure allows ONE per subscription and region and usually creates
// it itself (NetworkWatcher_<region> in NetworkWatcherRG) when a VNet appears; declaring a second one fails with
// NetworkWatcherCountLimitReached. So by default this only LOOKS UP the existing watcher, and declares one only
// with `create: true` (for subscriptions where Azure's auto-creation is switched off). A create under another name or
// group first looks up Azure's own watcher and refuses if it is there, so that preview fails, not `up` half way.
//
// Azure's auto-creation runs in the background after the VNet that triggers it (MicrosoftDocs azure-docs
// network-watcher-create.md: "enabled automatically" when a VNet is created; no completion bound is documented):
// a lookup right after the demo VNet is created can come before the watcher exists and fail the first `up`
// (ResourceNotFound, or ResourceGroupNotFound for a NetworkWatcherRG not made yet). So after a VNet this stack
// created, the lookup is retried until the watcher appears, up to a bound, and then fails naming the fix.
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import { DEFAULTS } from "../config";

export interface NetworkWatcherReferenceArgs {
  create: boolean;
  name: string;
  resourceGroupName: pulumi.Input<string>;
  location: string;
  tags: Record<string, string>;
  /**
   * With `create: true`: what the new watcher waits for (the storage SKU guard). Its resource group should then be a
   * known string, so that the check for Azure's own watcher also runs in a preview.
   */
  createAfter?: pulumi.Resource[];
  /** The id of a VNet this stack creates: Azure creates the watcher after it, so the lookup waits for it. */
  appearsAfterVnetId?: pulumi.Input<string>;
  /** How long a lookup after `appearsAfterVnetId` retries a missing watcher (default WATCHER_APPEARANCE_SECONDS). */
  appearanceWaitSeconds?: number;
}

/** A bound on the wait for Azure's auto-created watcher: generous, as Microsoft documents none. */
export const WATCHER_APPEARANCE_SECONDS = 300;
const RETRY_SECONDS = 5;

/**
 * How long the lookup retries a missing watcher. Only an update that created a VNet of this stack can make Azure
 * create one while we wait: without such a VNet, or in a preview (which creates nothing, e.g. an existing stack whose
 * watcher was deleted), waiting would only hold the preview for minutes before the same error.
 */
export function watcherWaitSeconds(afterOwnVnet: boolean, configuredSeconds: number | undefined, preview: boolean): number {
  return afterOwnVnet && !preview ? configuredSeconds ?? WATCHER_APPEARANCE_SECONDS : 0;
}

/** ARM's answers for a watcher (or its group) that does not exist yet. */
function isNotFound(error: unknown): boolean {
  return /ResourceNotFound|ResourceGroupNotFound|\b404\b|not found/i.test(error instanceof Error ? error.message : String(error));
}

export class NetworkWatcherReference extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  readonly resourceGroupName: pulumi.Output<string>;
  readonly id: pulumi.Output<string>;
  /** Present only with `create: true`. */
  readonly watcher?: network.NetworkWatcher;

  constructor(name: string, args: NetworkWatcherReferenceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:NetworkWatcherReference", name, {}, opts);
    this.resourceGroupName = pulumi.output(args.resourceGroupName);
    if (args.create) {
      // The watcher's name waits for the check: if it fails, nothing of the watcher reaches Azure.
      const checkedName = this.resourceGroupName.apply(async (resourceGroupName) => {
        await refuseSecondWatcher(args.location, args.name, resourceGroupName, this);
        return args.name;
      });
      this.watcher = new network.NetworkWatcher(`${name}-watcher`, {
        resourceGroupName: args.resourceGroupName,
        networkWatcherName: checkedName,
        location: args.location,
        tags: args.tags,
        // Kept on destroy: the region's only watcher parents every flow log in it, other stacks' and teams' too, and
        // deleting it would delete theirs.
      }, { parent: this, retainOnDelete: true, dependsOn: args.createAfter ?? [] });
      this.name = this.watcher.name;
      this.id = this.watcher.id;
    } else {
      const lookup = { networkWatcherName: args.name, resourceGroupName: args.resourceGroupName };
      const waitSeconds = watcherWaitSeconds(args.appearsAfterVnetId !== undefined, args.appearanceWaitSeconds, pulumi.runtime.isDryRun());
      const existing = pulumi.all([args.appearsAfterVnetId ?? "", args.resourceGroupName]).apply(async ([, resourceGroupName]) => {
        const deadline = Date.now() + waitSeconds * 1000;
        for (;;) {
          try {
            return await network.getNetworkWatcher({ ...lookup, resourceGroupName }, { parent: this });
          } catch (error) {
            if (!isNotFound(error)) throw error;
            if (Date.now() >= deadline) throw new pulumi.RunError(notFoundMessage(args.name, resourceGroupName, waitSeconds, error));
            await new Promise((done) => setTimeout(done, RETRY_SECONDS * 1000));
          }
        }
      });
      this.name = existing.apply((w) => w.name ?? args.name);
      this.id = existing.apply((w) => w.id ?? "");
    }
    this.registerOutputs({ name: this.name, resourceGroupName: this.resourceGroupName, id: this.id });
  }
}

/** The watcher Azure creates itself when a region's first VNet appears. */
export function azuresWatcher(location: string): { networkWatcherName: string; resourceGroupName: string } {
  return { networkWatcherName: `NetworkWatcher_${location}`, resourceGroupName: DEFAULTS.networkWatcherResourceGroupName };
}

/** Whether a watcher's name and group are Azure's own watcher's in `location` (Azure names are case-insensitive). */
export function isAzuresWatcher(location: string, name: string, resourceGroupName: string): boolean {
  const azures = azuresWatcher(location);
  return name.toLowerCase() === azures.networkWatcherName.toLowerCase() && resourceGroupName.toLowerCase() === azures.resourceGroupName.toLowerCase();
}

/**
 * Fails if the region already has Azure's own watcher, as Azure would refuse a second one (NetworkWatcherCountLimitReached)
 * only in `up`, after other resources were made. Skipped when the configured watcher IS Azure's default: the lookup
 * would find the stack's own. A stack whose own watcher (other name or group) exists finds no default, as the region
 * holds one watcher.
 */
export async function refuseSecondWatcher(location: string, name: string, resourceGroupName: string, parent: pulumi.Resource): Promise<void> {
  if (isAzuresWatcher(location, name, resourceGroupName)) return;
  const azures = azuresWatcher(location);
  try {
    await network.getNetworkWatcher(azures, { parent });
  } catch (error) {
    if (isNotFound(error)) return;
    throw new pulumi.RunError(`networkWatcher.create: the lookup of Azure's own watcher "${azures.networkWatcherName}" in resource group ` +
      `"${azures.resourceGroupName}" (to check that the region has none yet) failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  throw new pulumi.RunError(`networkWatcher.create: the region ${location} already has Azure's Network Watcher "${azures.networkWatcherName}" ` +
    `in resource group "${azures.resourceGroupName}", and Azure allows one Network Watcher per subscription and region ` +
    `(creating "${name}" in "${resourceGroupName}" would fail with NetworkWatcherCountLimitReached). Fix: remove networkWatcher.create, ` +
    "networkWatcher.name and networkWatcher.resourceGroupName from the stack config to use the existing watcher.");
}

function notFoundMessage(name: string, resourceGroupName: string, waitedSeconds: number, error: unknown): string {
  const waited = waitedSeconds > 0 ? ` within ${waitedSeconds} s after this stack created its demo VNet` : "";
  return `networkWatcher: the Network Watcher "${name}" in resource group "${resourceGroupName}" does not exist${waited}. ` +
    "Azure creates NetworkWatcher_<region> in NetworkWatcherRG when a region's first VNet appears, unless automatic creation is " +
    "switched off (feature DisableNetworkWatcherAutocreation): then set `networkWatcher.create: true`; if the region's watcher " +
    "has another name or group, set networkWatcher.name / networkWatcher.resourceGroupName. " +
    `(Azure answered: ${error instanceof Error ? error.message : String(error)})`;
}
