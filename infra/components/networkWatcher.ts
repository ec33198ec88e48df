// The Network Watcher that parents the flow logs. Azure allows ONE per subscription and region and usually creates
// it itself (NetworkWatcher_<region> in NetworkWatcherRG) when a VNet appears; declaring a second one fails with
// NetworkWatcherCountLimitReached. So by default this only LOOKS UP the existing watcher, and declares one only
// with `create: true` (for subscriptions where Azure's auto-creation is switched off).
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";

export interface NetworkWatcherReferenceArgs {
  create: boolean;
  name: string;
  resourceGroupName: pulumi.Input<string>;
  location: string;
  tags: Record<string, string>;
  /** Resources the lookup waits for, e.g. a VNet whose creation makes Azure create the watcher. */
  lookupAfter?: pulumi.Resource[];
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
      this.watcher = new network.NetworkWatcher(`${name}-watcher`, {
        resourceGroupName: args.resourceGroupName,
        networkWatcherName: args.name,
        location: args.location,
        tags: args.tags,
        // Kept on destroy: the region's only watcher parents every flow log in it, other stacks' and teams' too, and
        // deleting it would delete theirs.
      }, { parent: this, retainOnDelete: true });
      this.name = this.watcher.name;
      this.id = this.watcher.id;
    } else {
      const existing = network.getNetworkWatcherOutput(
        { networkWatcherName: args.name, resourceGroupName: args.resourceGroupName },
        { parent: this, dependsOn: args.lookupAfter ?? [] },
      );
      this.name = existing.name;
      this.id = existing.apply((w) => w.id ?? "");
    }
    this.registerOutputs({ name: this.name, resourceGroupName: this.resourceGroupName, id: this.id });
  }
}
