// The retention choice: flow-log retention off + one lifecycle policy (never both, they overwrite each other).
import { test } from "node:test";
import assert from "node:assert/strict";
import { CHECKPOINT_RULE_NAME, FLOW_LOG_CONTAINERS, FLOW_LOG_RETENTION_POLICY, lifecyclePolicy, RETENTION_RULE_NAME } from "../../infra/retention";

test("flow logs never carry their own retention (it would overwrite the account's lifecycle policy)", () => {
  assert.deepEqual(FLOW_LOG_RETENTION_POLICY, { enabled: false, days: 0 });
});

test("the lifecycle policy deletes blobs in both flow-log containers after retentionDays", () => {
  const policy = lifecyclePolicy(14)!;
  assert.equal(policy.rules.length, 1);
  const [rule] = policy.rules;
  assert.equal(rule!.type, "Lifecycle");
  assert.equal(rule!.enabled, true);
  assert.deepEqual(rule!.definition.filters.prefixMatch, ["insights-logs-flowlogflowevent/", "insights-logs-networksecuritygroupflowevent/"]);
  assert.deepEqual(rule!.definition.filters.blobTypes, ["blockBlob"]);
  assert.deepEqual(rule!.definition.actions, { baseBlob: { delete: { daysAfterModificationGreaterThan: 14 } } });
  assert.deepEqual(Object.values(FLOW_LOG_CONTAINERS), ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"]);
});

test("retentionDays 0 means keep forever: the policy's one rule is disabled, so nothing is deleted, checkpoints included", () => {
  for (const policy of [lifecyclePolicy(0), lifecyclePolicy(0, "flowlogs-checkpoints")]) {
    assert.deepEqual(policy.rules.map((rule) => [rule.name, rule.enabled]), [[RETENTION_RULE_NAME, false]]);
    assert.deepEqual(policy.rules[0]!.definition.filters.prefixMatch, ["insights-logs-flowlogflowevent/", "insights-logs-networksecuritygroupflowevent/"]);
  }
});

test("with the collector, its checkpoints are deleted two days after the flow-log blobs they describe", () => {
  const [logs, checkpoints] = lifecyclePolicy(14, "flowlogs-checkpoints")!.rules;
  assert.deepEqual(logs!.definition.actions, { baseBlob: { delete: { daysAfterModificationGreaterThan: 14 } } });
  assert.equal(checkpoints!.name, CHECKPOINT_RULE_NAME);
  assert.deepEqual(checkpoints!.definition.filters.prefixMatch, ["flowlogs-checkpoints/"]);
  assert.deepEqual(checkpoints!.definition.actions, { baseBlob: { delete: { daysAfterModificationGreaterThan: 16 } } });
});
