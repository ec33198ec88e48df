// Adopting an existing NSG flow log (Azure blocks new ones): only on an account with shared keys on, because NSG
// flow logs write with the account key and adoption points the flow log at this stack's account.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { PlannedResource } from "../../infra/plan/mockRun";
import { runPlan, nsgId, SUB, vnetId, writeStackFile, planJson, ofType } from "./planHelpers";

const adopt = { targetResourceId: nsgId("nsg-legacy", "rg-legacy"), adoptExisting: { flowLogName: "nsg-legacy-flowlog" } };
let resources: PlannedResource[];
before(async () => {
  resources = await planJson({
    location: "northeurope", storage: { accountName: "flowlogsadopt1", allowSharedKeyAccess: true },
    flowLogs: [vnetId("vnet1"), adopt],
  });
});

test("with shared keys on, the NSG flow log is adopted with Pulumi's import option, keeping its name, never deleted", () => {
  const adopted = ofType(resources, "azure-native:network:FlowLog").find((f) => f.inputs.flowLogName === "nsg-legacy-flowlog");
  assert.ok(adopted);
  assert.equal(adopted.name, "adopted-nsg-nsg-legacy-flowlog", "the policy pack recognises adopted NSG flow logs by name");
  assert.equal(adopted.options?.import,
    `/subscriptions/${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_northeurope/flowLogs/nsg-legacy-flowlog`);
  assert.equal(adopted.options?.retainOnDelete, true, "destroy must not delete what Azure will not let us recreate");
  assert.equal(adopted.inputs.identity, undefined, "NSG flow logs write with the account key");
  // What the import's follow-up update sets on the existing flow log (README, "Adopting").
  assert.match(String(adopted.inputs.storageId), /storageAccounts\/flowlogsadopt1$/);
  assert.deepEqual(adopted.inputs.retentionPolicy, { enabled: false, days: 0 });
  assert.deepEqual(adopted.inputs.format, { type: "JSON", version: 2 });
  assert.equal(adopted.inputs.enabled, true);
  assert.equal(adopted.inputs.flowAnalyticsConfiguration, undefined, "no trafficAnalytics configured: adoption turns it off");
});

test("with shared keys off (the default), the same config is refused through the plan, naming the key and both fixes", async () => {
  const file = writeStackFile({ location: "northeurope", storage: { accountName: "flowlogsadopt1" }, flowLogs: [adopt] });
  try {
    const run = await runPlan(["--stack", "test", "--json", "--config-file", file.path]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /flowLogs\[0\]\.adoptExisting: adopts the NSG flow log "nsg-legacy-flowlog", but storage\.allowSharedKeyAccess is false/);
    assert.match(run.stderr, /set `storage\.allowSharedKeyAccess: true`/);
  } finally {
    file.remove();
  }
});
