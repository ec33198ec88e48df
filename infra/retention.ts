// ONE retention mechanism: the flow log's own retention is switched off and a storage lifecycle policy deletes old
// blobs. Azure implements flow-log retention by writing lifecycle rules that overwrite the account's whole
// management policy, so using both would make them fight (REFERENCE §4.3, pitfall 6). Pure, so it is testable.

/** The containers Network Watcher writes to: VNet flow logs, and (adopted, pre-retirement) NSG flow logs. */
export const FLOW_LOG_CONTAINERS = {
  vnet: "insights-logs-flowlogflowevent",
  nsg: "insights-logs-networksecuritygroupflowevent",
} as const;

/**
 * `retentionDays: 0` ("keep forever") declares no delete rule that runs, so the choice is written where the guard-rail
 * policy (policy/rules.ts, `flow-log-retention`) and anyone looking at the account in Azure can see it: this tag
 * on the storage account. The policy accepts flow logs without a delete rule only next to an account carrying it.
 * The key is reserved: `tags` may not set it (infra/config.ts).
 */
export const RETENTION_TAG = "flowlogs-retention";
export const KEEP_FOREVER = "keep-forever";

/** Sent on every FlowLog: Azure must not write its own lifecycle rule. */
export const FLOW_LOG_RETENTION_POLICY = { enabled: false, days: 0 } as const;

export const RETENTION_RULE_NAME = "delete-old-flow-logs";
export const CHECKPOINT_RULE_NAME = "delete-stale-checkpoints";
/** Checkpoints outlive their flow-log blob by this much, so a blob is never read again for want of one. */
export const CHECKPOINT_GRACE_DAYS = 2;

/** Days no blob reaches (a century): the disabled rule of a keep-forever policy still needs a number. */
export const KEEP_FOREVER_RULE_DAYS = 36_500;

/**
 * The lifecycle policy body for `storage.ManagementPolicy`. With the collector, its checkpoints (one small blob per
 * flow-log blob) go the same way a little later.
 *
 * `retentionDays: 0` (keep forever) is a policy whose one rule is disabled, not no policy: the policy is kept on
 * destroy (`retainOnDelete`, so kept data keeps its retention), and Pulumi keeps such a resource in Azure also when
 * the program stops declaring it, so a stack going from N days to 0 would leave its N-day delete rule running.
 * Declared with a disabled rule, that change is an update Azure applies. Checkpoints then stay with their blobs.
 */
export function lifecyclePolicy(retentionDays: number, checkpointContainer?: string) {
  // A prefix must start with a container name; the trailing "/" keeps other containers out.
  const rule = (name: string, prefixMatch: string[], days: number, enabled = true) => ({
    name,
    type: "Lifecycle",
    enabled,
    definition: {
      filters: { blobTypes: ["blockBlob"], prefixMatch },
      actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: days } } },
    },
  });
  const flowLogPrefixes = [`${FLOW_LOG_CONTAINERS.vnet}/`, `${FLOW_LOG_CONTAINERS.nsg}/`];
  if (retentionDays === 0) return { rules: [rule(RETENTION_RULE_NAME, flowLogPrefixes, KEEP_FOREVER_RULE_DAYS, false)] };
  return {
    rules: [
      rule(RETENTION_RULE_NAME, flowLogPrefixes, retentionDays),
      ...(checkpointContainer ? [rule(CHECKPOINT_RULE_NAME, [`${checkpointContainer}/`], retentionDays + CHECKPOINT_GRACE_DAYS)] : []),
    ],
  };
}
