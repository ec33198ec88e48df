// A flow log target the config names must already exist, in the deploying subscription and in the stack's region.
// Azure creates a flow log only under the Network Watcher of its target's subscription and region, with a storage
// account in that region (the stack's account is in `location`), and refuses otherwise only when `up` creates the
// flow log, after the storage, containers and identities exist; a mistyped id fails there too. So each target is
// looked up first, in preview as in `up`, and its flow log's target id waits for the answer: a refused target fails
// the preview, naming its config entry, and nothing of its flow log reaches Azure.
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import { armRegionName, parseArmId, parseFlowLogTarget, type TargetResult } from "../armId";

/** The target id for its flow log: resolves once checkTarget found it (in preview as in `up`). */
export function checkedTargetId(targetResourceId: string, configKey: string, location: string, parent: pulumi.Resource): pulumi.Output<string> {
  return pulumi.output(checkTarget(targetResourceId, configKey, location, parent));
}

/**
 * `targetResourceId` once the lookup found the target in `location` (Azure's region names: lower case, no spaces);
 * otherwise a RunError naming `configKey` and the fix.
 */
export async function checkTarget(targetResourceId: string, configKey: string, location: string, parent: pulumi.Resource): Promise<string> {
  const target = parseFlowLogTarget(targetResourceId);
  if (!target.ok) throw new pulumi.RunError(`${configKey}.targetResourceId: ${target.problem}`); // the config check refused it already
  const found = await lookUp(target, targetResourceId, configKey, parent);
  // The lookup asks the deploying subscription by group and name alone: a namesake there (spokes often share their
  // names) is not the target. ARM's answer names its subscription.
  const foundIn = found.id === undefined ? undefined : parseArmId(found.id);
  if (foundIn?.ok && foundIn.id.subscriptionId.toLowerCase() !== target.id.subscriptionId.toLowerCase()) {
    throw new pulumi.RunError(`${configKey}.targetResourceId: the target is in subscription ${target.id.subscriptionId}, and the stack deploys into ` +
      `${foundIn.id.subscriptionId} (where the lookup found a namesake): Azure creates a flow log only under the Network Watcher of its ` +
      `target's subscription. Log it from a stack that deploys into ${target.id.subscriptionId} (azure-native:subscriptionId), or remove the entry`);
  }
  if (!found.location) throw new pulumi.RunError(lookupFailure(targetResourceId, configKey, new Error("Azure's answer has no location")));
  if (armRegionName(found.location) !== armRegionName(location)) {
    throw new pulumi.RunError(`${configKey}.targetResourceId: ${targetResourceId} is in ${found.location}, and this stack's location is ${location}: ` +
      "Azure needs a flow log's target, its Network Watcher and its storage account in one region. Log it from a stack whose " +
      `location is ${armRegionName(found.location)}, or remove the entry`);
  }
  return targetResourceId;
}

/** What ARM answers for the target; for a subnet (which has no region of its own), its VNet's answer once it exists. */
async function lookUp(target: Extract<TargetResult, { ok: true }>, targetResourceId: string, configKey: string, parent: pulumi.Resource):
Promise<{ id?: string; location?: string }> {
  const { resourceGroupName, segments } = target.id;
  const name = segments[0]![1];
  const opts = { parent };
  try {
    switch (target.kind) {
      case "networkInterface":
        return await network.getNetworkInterface({ resourceGroupName, networkInterfaceName: name }, opts);
      case "networkSecurityGroup":
        return await network.getNetworkSecurityGroup({ resourceGroupName, networkSecurityGroupName: name }, opts);
      case "subnet":
        await network.getSubnet({ resourceGroupName, virtualNetworkName: name, subnetName: segments[1]![1] }, opts);
        return await network.getVirtualNetwork({ resourceGroupName, virtualNetworkName: name }, opts);
      case "virtualNetwork":
        return await network.getVirtualNetwork({ resourceGroupName, virtualNetworkName: name }, opts);
    }
  } catch (error) {
    throw new pulumi.RunError(lookupFailure(targetResourceId, configKey, error));
  }
}

function lookupFailure(targetResourceId: string, configKey: string, error: unknown): string {
  const said = error instanceof Error ? error.message : String(error);
  if (/NotFound|\b404\b|not found/i.test(said)) {
    return `${configKey}.targetResourceId: ${targetResourceId} was not found. The lookup asks the subscription this stack deploys into ` +
      "(azure-native:subscriptionId, ARM_SUBSCRIPTION_ID or the az login default): check the id, and that it is that subscription's; " +
      "a target of another subscription needs a stack that deploys there, as Azure keeps a flow log under the Network Watcher of " +
      `its target's subscription; a target since deleted: remove the entry. (Azure answered: ${said})`;
  }
  return `${configKey}.targetResourceId: the lookup of ${targetResourceId} failed: ${said}. The deploying identity needs read access ` +
    "to it (Azure checks that too when it creates the flow log)";
}
