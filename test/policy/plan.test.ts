// The guard rails over the program's own resources: the offline plans of the committed dev and prod stacks
// break no rule, and an adopted NSG flow log is recognised as adopted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceRules, stackRules, FLOW_LOG, ADOPTED_NSG_FLOW_LOG_PREFIX as POLICY_ADOPTED_PREFIX, type PlannedResource } from "../../policy/rules";
import { ADOPTED_NSG_FLOW_LOG_PREFIX } from "../../infra/components/flowLogs";
import { KEEP_FOREVER, RETENTION_TAG } from "../../infra/retention";
import { KEEP_FOREVER as POLICY_KEEP_FOREVER, RETENTION_TAG as POLICY_RETENTION_TAG } from "../../policy/rules";
import { planJson, runPlan, vnetId } from "../infra/planHelpers";
import { exampleStackArgs, type ExampleStack } from "../support/exampleStacks";

async function plan(stack: ExampleStack): Promise<PlannedResource[]> {
  const run = await runPlan([...exampleStackArgs(stack), "--json"]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout);
}

function violations(resources: PlannedResource[]): string[] {
  const found: string[] = [];
  for (const resource of resources) {
    for (const rule of resourceRules.filter((r) => r.types.includes(resource.type))) {
      found.push(...rule.check(resource).map((m) => `${rule.name} ${resource.name}: ${m}`));
    }
  }
  for (const rule of stackRules) found.push(...rule.check(resources).map((m) => `${rule.name}: ${m}`));
  return found;
}

test("the program and the policy pack agree on how an adopted NSG flow log is named", () => {
  assert.equal(ADOPTED_NSG_FLOW_LOG_PREFIX, POLICY_ADOPTED_PREFIX);
});

for (const stack of ["dev", "prod"] as const) {
  test(`the ${stack} stack's offline plan passes every guard rail`, async () => {
    const resources = await plan(stack);
    assert.ok(resources.some((r) => r.type === FLOW_LOG), "the plan has flow logs to check");
    assert.deepEqual(violations(resources), []);
  });
}

test("retentionDays 0 (keep forever), which the config allows, passes the mandatory flow-log-retention policy; a plan that merely lacks a lifecycle rule does not", async () => {
  assert.deepEqual([RETENTION_TAG, KEEP_FOREVER], [POLICY_RETENTION_TAG, POLICY_KEEP_FOREVER], "program and policy agree on the tag");
  const resources = await planJson({ location: "westeurope", retentionDays: 0, storage: { accountName: "flowlogs0001" }, flowLogs: [vnetId("vnet1")] });
  const policies = resources.filter((r) => r.type === "azure-native:storage:ManagementPolicy");
  assert.deepEqual(policies.flatMap((r) => (r.inputs.policy as { rules: Array<{ enabled: boolean }> }).rules.filter((rule) => rule.enabled)), [],
    "no lifecycle rule runs: blobs are kept");
  const account = resources.find((r) => r.type === "azure-native:storage:StorageAccount")!;
  assert.equal((account.inputs.tags as Record<string, string>)[RETENTION_TAG], KEEP_FOREVER);
  assert.deepEqual(violations(resources), []);
  // Without the stated choice (e.g. a lifecycle policy removed by hand), the same flow log is still flagged.
  const untagged = resources.map((r) => (r.type === "azure-native:storage:StorageAccount" ? { ...r, inputs: { ...r.inputs, tags: {} } } : r));
  assert.ok(violations(untagged).some((v) => v.startsWith("flow-log-retention")), violations(untagged).join("\n"));
});

test("an adopted NSG flow log (shared keys on) passes; the same flow log not marked as adopted does not", async () => {
  const nsg = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-legacy/providers/Microsoft.Network/networkSecurityGroups/nsg-legacy";
  const resources = await planJson({
    location: "westeurope", storage: { accountName: "flowlogs0002", allowSharedKeyAccess: true },
    flowLogs: [{ targetResourceId: nsg, adoptExisting: { flowLogName: "nsg-legacy-flowlog" } }],
  });
  assert.ok(resources.some((r) => r.type === FLOW_LOG && r.name === `${ADOPTED_NSG_FLOW_LOG_PREFIX}nsg-legacy-flowlog`));
  assert.deepEqual(violations(resources), []);
  const unmarked = resources.map((r) => (r.type === FLOW_LOG ? { ...r, name: r.name.replace(ADOPTED_NSG_FLOW_LOG_PREFIX, "") } : r));
  assert.ok(violations(unmarked).some((v) => v.startsWith("no-new-nsg-flow-log")), violations(unmarked).join("\n"));
});

test("the same rules catch a weakened plan (the check is not vacuous)", async () => {
  const resources = await plan("prod");
  const nsg = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-legacy-prod/providers/Microsoft.Network/networkSecurityGroups/nsg-legacy";
  const weakened = resources.map((r) => (r.type === FLOW_LOG ? { ...r, inputs: { ...r.inputs, targetResourceId: nsg, format: { type: "JSON" } } } : r));
  const found = violations(weakened);
  assert.ok(found.some((v) => v.startsWith("flow-log-enabled-json-v2")), found.join("\n"));
  assert.ok(found.some((v) => v.startsWith("no-new-nsg-flow-log")), found.join("\n"));
});
