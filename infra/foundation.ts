// What every Azure resource of the stack hangs off: the SKU guard, the resource group and the flow-log storage;
// and the Network Watcher the flow logs live under, with the demo VNet whose creation makes Azure create it.
// Shared by the program (./index.ts) and the engine tests, so these test the program's own wiring.
import * as resources from "@pulumi/azure-native/resources";
import type { InfraConfig } from "./config";
import { DemoNetwork } from "./components/demoNetwork";
import { FlowLogStorage } from "./components/flowLogStorage";
import { NetworkWatcherReference } from "./components/networkWatcher";
import { StorageSkuGuard } from "./components/storageSkuGuard";

export function declareFoundation(config: InfraConfig) {
  const { location, tags } = config;
  // With storage.keepDataOnDestroy (the default), `pulumi destroy` leaves the stored flow logs: the group (deleting
  // it in Azure would take the account with it), the account, its retention policy and the flow-log containers.
  const keepData = config.storage.keepDataOnDestroy || undefined;
  // First, and waited for by the group (so by everything in it): a SKU change Azure would refuse stops the run
  // before anything in Azure changes.
  const skuGuard = new StorageSkuGuard("flowlog-storage-sku", {
    accountName: config.storage.accountName, sku: config.storage.sku, convertedTo: config.storage.skuConvertedTo,
    resourceGroupName: config.resourceGroupName, location,
  });
  // A watcher this stack creates in its own group is kept on destroy; so must the group be, or Azure deletes the
  // watcher with it, and every flow log of the region under it (other stacks' and teams' too).
  const holdsWatcher = config.networkWatcher.create && config.networkWatcher.resourceGroupName === config.resourceGroupName;
  const resourceGroup = new resources.ResourceGroup("resource-group", { resourceGroupName: config.resourceGroupName, location, tags },
    { retainOnDelete: keepData || holdsWatcher || undefined, dependsOn: [skuGuard] });
  const flowLogStorage = new FlowLogStorage("flowlog-storage", {
    resourceGroupName: resourceGroup.name,
    location,
    ...config.storage,
    retentionDays: config.retentionDays,
    checkpointContainer: config.collector ? config.collector.checkpointContainer : undefined,
    tags,
  });
  return { skuGuard, resourceGroup, flowLogStorage, keepData };
}

export function declareWatcher(config: InfraConfig, after: { resourceGroup: resources.ResourceGroup; skuGuard: StorageSkuGuard }) {
  const { location, tags } = config;
  const { resourceGroup, skuGuard } = after;
  // Ordering matters because Azure auto-creates NetworkWatcher_<region> when the region's first VNet appears:
  // a watcher we create must exist BEFORE the demo VNet; the existing one is looked up AFTER it, retried until
  // Azure's background creation has made it (components/networkWatcher.ts).
  const inOwnGroup = config.networkWatcher.resourceGroupName === config.resourceGroupName;
  const watcherArgs = {
    ...config.networkWatcher,
    // A watcher looked up in the stack's own group waits for that group.
    resourceGroupName: inOwnGroup ? resourceGroup.name : config.networkWatcher.resourceGroupName,
    location,
    tags,
  };
  // A created watcher gets its group as configured, a known string even in a preview, so that its check for Azure's
  // own watcher runs there too; in the stack's group, it waits for the group instead.
  const createdWatcher = config.networkWatcher.create
    ? new NetworkWatcherReference("network-watcher", {
      ...watcherArgs, resourceGroupName: config.networkWatcher.resourceGroupName, createAfter: inOwnGroup ? [skuGuard, resourceGroup] : [skuGuard],
    })
    : undefined;

  const demoNetwork = config.demoNetwork && new DemoNetwork("demo-network", {
    resourceGroupName: resourceGroup.name,
    location,
    virtualNetworkName: config.demoNetwork.virtualNetworkName,
    tags,
    vnetAfter: createdWatcher?.watcher ? [createdWatcher.watcher] : [],
  });

  const watcher = createdWatcher ?? new NetworkWatcherReference("network-watcher", {
    ...watcherArgs,
    appearsAfterVnetId: demoNetwork ? demoNetwork.virtualNetworkId : undefined,
  });
  return { watcher, demoNetwork };
}
