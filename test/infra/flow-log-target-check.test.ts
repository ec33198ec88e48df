// The lookup of each flow log target the config names before its flow log is declared
// (infra/components/flowLogTargetCheck.ts): one case per ARM answer, under Pulumi's mocks in ARM's error shape (as
// network-watcher-check.test.ts); the whole program's plan lists the lookups (plan-script.test.ts), and the real
// engine's preview runs them against the stand-in provider (test/engine/program-preview.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { checkTarget } from "../../infra/components/flowLogTargetCheck";

const SUB = "11111111-2222-3333-4444-555555555555";
const network = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network`;
const vnet = `${network}/virtualNetworks/vnet-hub`;

let answer: (token: string, args: Record<string, unknown>) => Record<string, unknown> = () => ({});
const asked: Array<{ token: string; args: Record<string, unknown> }> = [];
/** Pulumi's client reports a failed invoke by its gRPC `details`. */
const armFailure = (status: number, code: string, message: string) =>
  Object.assign(new Error(code), { details: `Status=${status} Code="${code}" Message="${message}"` });

const ready = pulumi.runtime.setMocks({
  newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
  call: (args) => {
    asked.push({ token: args.token, args: args.inputs });
    return answer(args.token, args.inputs);
  },
}, "flowlogs-to-elastic", "test", false);

let parents = 0;
const parent = () => new pulumi.ComponentResource("test:index:Parent", `parent-${++parents}`);
const askedSince = (from: number) => asked.slice(from).map(({ token, args }) => `${token} ${JSON.stringify(args)}`);

test("a target found in the stack's region passes, whatever the spelling of the region; each kind is looked up by its own call", async () => {
  await ready;
  answer = () => ({ location: "northeurope" });
  for (const location of ["northeurope", "NorthEurope", "North Europe"]) {
    assert.equal(await checkTarget(vnet, "flowLogs[0]", location, parent()), vnet);
  }
  const from = asked.length;
  await checkTarget(`${network}/networkInterfaces/nic-1`, "flowLogs[1]", "northeurope", parent());
  await checkTarget(`${network}/networkSecurityGroups/nsg-1`, "flowLogs[2]", "northeurope", parent());
  await checkTarget(`${vnet}/subnets/web`, "flowLogs[3]", "northeurope", parent());
  assert.deepEqual(askedSince(from), [
    `azure-native:network:getNetworkInterface {"networkInterfaceName":"nic-1","resourceGroupName":"rg-net"}`,
    `azure-native:network:getNetworkSecurityGroup {"networkSecurityGroupName":"nsg-1","resourceGroupName":"rg-net"}`,
    // A subnet must exist; its region is its VNet's.
    `azure-native:network:getSubnet {"resourceGroupName":"rg-net","subnetName":"web","virtualNetworkName":"vnet-hub"}`,
    `azure-native:network:getVirtualNetwork {"resourceGroupName":"rg-net","virtualNetworkName":"vnet-hub"}`,
  ]);
});

test("a target in another region is refused, naming the entry, both regions and the fix", async () => {
  await ready;
  answer = () => ({ location: "westeurope" });
  await assert.rejects(checkTarget(`${vnet}/subnets/web`, "flowLogs[3]", "northeurope", parent()), (error: Error) => {
    assert.match(error.message, /^flowLogs\[3\]\.targetResourceId: \/subscriptions\/.*\/subnets\/web is in westeurope, and this stack's location is northeurope: /);
    assert.match(error.message, /target, its Network Watcher and its storage account in one region/);
    assert.match(error.message, /a stack whose location is westeurope, or remove the entry$/);
    return true;
  });
});

test("a target Azure does not find (a typo, another subscription, a missing subnet) is refused, naming the entry and both causes", async () => {
  await ready;
  answer = (token) => {
    if (token === "azure-native:network:getSubnet") throw armFailure(404, "NotFound", "Resource /subscriptions/.../subnets/wbe not found.");
    return { location: "northeurope" };
  };
  await assert.rejects(checkTarget(`${vnet}/subnets/wbe`, "flowLogs[1]", "northeurope", parent()), (error: Error) => {
    assert.match(error.message, /^flowLogs\[1\]\.targetResourceId: .*\/subnets\/wbe was not found\. The lookup asks the subscription this stack deploys into/);
    assert.match(error.message, /check the id, and that it is that subscription's; a target of another subscription needs a stack that deploys there/);
    assert.match(error.message, /a target since deleted: remove the entry\. \(Azure answered: .*NotFound/);
    return true;
  });
  answer = () => { throw armFailure(404, "ResourceNotFound", "The Resource 'Microsoft.Network/virtualNetworks/vnet-hbu' under resource group 'rg-net' was not found."); };
  await assert.rejects(checkTarget(vnet.replace("hub", "hbu"), "flowLogs[0]", "northeurope", parent()), /^Error: flowLogs\[0\]\.targetResourceId: .*vnet-hbu was not found/);
});

test("a namesake in the deploying subscription (same group and name, as spokes often have) is not the target: refused, naming both subscriptions", async () => {
  await ready;
  const deploying = "99999999-8888-7777-6666-555555555555";
  answer = (_token, args) => ({ id: `/subscriptions/${deploying}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.Network/virtualNetworks/${args.virtualNetworkName}`, location: "northeurope" });
  await assert.rejects(checkTarget(`${vnet}/subnets/web`, "flowLogs[2]", "northeurope", parent()), (error: Error) => {
    assert.match(error.message, new RegExp(`^flowLogs\\[2\\]\\.targetResourceId: the target is in subscription ${SUB}, and the stack deploys into ${deploying} \\(where the lookup found a namesake\\)`));
    assert.match(error.message, new RegExp(`a stack that deploys into ${SUB} \\(azure-native:subscriptionId\\), or remove the entry$`));
    return true;
  });
  // The same subscription in another letter case is the target's.
  answer = (_token, args) => ({ id: `/subscriptions/${SUB.toUpperCase()}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.Network/virtualNetworks/x`, location: "northeurope" });
  assert.equal(await checkTarget(vnet, "flowLogs[0]", "northeurope", parent()), vnet);
});

test("any other ARM answer fails naming the lookup, what Azure said and the read access it needs", async () => {
  await ready;
  answer = () => { throw armFailure(403, "AuthorizationFailed", "The client does not have authorization to perform action 'Microsoft.Network/virtualNetworks/read'."); };
  await assert.rejects(checkTarget(vnet, "flowLogs[0]", "northeurope", parent()),
    /^Error: flowLogs\[0\]\.targetResourceId: the lookup of \/subscriptions\/.*vnet-hub failed: .*AuthorizationFailed.*The deploying identity needs read access/);
  answer = () => ({});
  await assert.rejects(checkTarget(vnet, "flowLogs[0]", "northeurope", parent()), /the lookup of .* failed: Azure's answer has no location/);
});
