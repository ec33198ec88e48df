// The retention choice: flow-log retention off + one lifecycle policy (never both, they overwrite each other).
import { test } from "node:test";
import assert from "node:assert/strict";
import { FLOW_LOG_CONTAINERS, FLOW_LOG_RETENTION_POLICY, lifecyclePolicy } from "../../infra/retention";

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

test("retentionDays 0 means keep forever: no lifecycle policy at all", () => {
  assert.equal(lifecyclePolicy(0), undefined);
});
