// A small VNet + subnet + NSG so a newcomer's first `pulumi up` has something to log. It holds no VMs: put a VM
// or container in the subnet to see flow records.
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";

export const DEMO_ADDRESS_SPACE = "10.250.0.0/24";
export const DEMO_SUBNET_PREFIX = "10.250.0.0/26";

export interface DemoNetworkArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  virtualNetworkName: string;
  tags: Record<string, string>;
  /** Resources the VNet must wait for (a component's own dependsOn does not reach its children). */
  vnetAfter?: pulumi.Resource[];
}

export class DemoNetwork extends pulumi.ComponentResource {
  readonly securityGroup: network.NetworkSecurityGroup;
  readonly virtualNetwork: network.VirtualNetwork;
  readonly virtualNetworkId: pulumi.Output<string>;

  constructor(name: string, args: DemoNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:DemoNetwork", name, {}, opts);
    this.securityGroup = new network.NetworkSecurityGroup(`${name}-nsg`, {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      networkSecurityGroupName: `${args.virtualNetworkName}-nsg`,
      securityRules: [
        {
          name: "allow-https-from-vnet", priority: 200, direction: "Inbound", access: "Allow", protocol: "Tcp",
          sourceAddressPrefix: "VirtualNetwork", sourcePortRange: "*", destinationAddressPrefix: "*", destinationPortRange: "443",
        },
        {
          // Logged as denied ("D") flows: the most common thing people look for first.
          name: "deny-ssh-rdp-from-internet", priority: 300, direction: "Inbound", access: "Deny", protocol: "Tcp",
          sourceAddressPrefix: "Internet", sourcePortRange: "*", destinationAddressPrefix: "*", destinationPortRanges: ["22", "3389"],
        },
      ],
      tags: args.tags,
    }, { parent: this });
    this.virtualNetwork = new network.VirtualNetwork(`${name}-vnet`, {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      virtualNetworkName: args.virtualNetworkName,
      addressSpace: { addressPrefixes: [DEMO_ADDRESS_SPACE] },
      subnets: [{
        name: "workload",
        addressPrefix: DEMO_SUBNET_PREFIX,
        networkSecurityGroup: { id: this.securityGroup.id },
        defaultOutboundAccess: false,
      }],
      tags: args.tags,
    }, { parent: this, dependsOn: args.vnetAfter ?? [] });
    this.virtualNetworkId = this.virtualNetwork.id;
    this.registerOutputs({ virtualNetworkId: this.virtualNetworkId, securityGroupId: this.securityGroup.id });
  }
}
