// The check for Azure's own watcher before `networkWatcher.create` declares one (infra/components/networkWatcher.ts),
// one branch per ARM answer. The invoke is answered under Pulumi's mocks in ARM's error shape (as the stand-in
// provider's armError); the engine-level cases are in test/engine/watcher-count-limit.test.ts and watcher-create.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { refuseSecondWatcher } from "../../infra/components/networkWatcher";

let answer: () => Record<string, unknown> = () => ({});
const asked: Array<Record<string, unknown>> = [];
/** Pulumi's client reports a failed invoke by its gRPC `details`. */
const armFailure = (status: number, code: string, message: string) =>
  Object.assign(new Error(code), { details: `Status=${status} Code="${code}" Message="${message}"` });

const ready = pulumi.runtime.setMocks({
  newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
  call: (args) => {
    asked.push(args.inputs);
    return answer();
  },
}, "flowlogs-to-elastic", "test", false);

let parents = 0;
const parent = () => new pulumi.ComponentResource("test:index:Parent", `parent-${++parents}`);

test("Azure's watcher found: refused, naming networkWatcher.create, the one-per-region rule and the fix", async () => {
  await ready;
  answer = () => ({ id: "/subscriptions/s/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope", name: "NetworkWatcher_westeurope" });
  await assert.rejects(refuseSecondWatcher("westeurope", "flowlogs-watcher", "flowlogs-to-elastic-test", parent()), (error: Error) => {
    assert.match(error.message, /^networkWatcher\.create: the region westeurope already has Azure's Network Watcher "NetworkWatcher_westeurope" in resource group "NetworkWatcherRG"/);
    assert.match(error.message, /Azure allows one Network Watcher per subscription and region/);
    assert.match(error.message, /Fix: remove networkWatcher\.create, networkWatcher\.name and networkWatcher\.resourceGroupName/);
    return true;
  });
  assert.deepEqual(asked.at(-1), { networkWatcherName: "NetworkWatcher_westeurope", resourceGroupName: "NetworkWatcherRG" });
});

test("not found (ResourceNotFound, ResourceGroupNotFound): the create goes on", async () => {
  await ready;
  for (const failure of [
    armFailure(404, "ResourceNotFound", "The Resource 'Microsoft.Network/networkWatchers/NetworkWatcher_westeurope' under resource group 'NetworkWatcherRG' was not found."),
    armFailure(404, "ResourceGroupNotFound", "Resource group 'NetworkWatcherRG' could not be found."),
  ]) {
    answer = () => { throw failure; };
    await refuseSecondWatcher("westeurope", "flowlogs-watcher", "flowlogs-to-elastic-test", parent());
  }
});

test("any other ARM answer fails naming the lookup and what Azure said", async () => {
  await ready;
  answer = () => { throw armFailure(403, "AuthorizationFailed", "The client does not have authorization to perform action 'Microsoft.Network/networkWatchers/read'."); };
  await assert.rejects(refuseSecondWatcher("westeurope", "flowlogs-watcher", "flowlogs-to-elastic-test", parent()),
    /^Error: networkWatcher\.create: the lookup of Azure's own watcher "NetworkWatcher_westeurope" in resource group "NetworkWatcherRG" \(to check that the region has none yet\) failed: .*AuthorizationFailed/);
});

test("the configured watcher IS Azure's (any letter case): no lookup, as it would find the stack's own", async () => {
  await ready;
  const before = asked.length;
  answer = () => ({ id: "found", name: "NetworkWatcher_westeurope" });
  await refuseSecondWatcher("westeurope", "networkwatcher_WestEurope", "networkwatcherrg", parent());
  assert.equal(asked.length, before);
});
