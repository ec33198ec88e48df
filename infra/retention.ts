// ONE retention mechanism: the flow log's own retention is switched off and a storage lifecycle policy deletes old
// blobs. Azure implements flow-log retention by writing lifecycle rules that overwrite the account's whole
// management policy, so using both would make them fight (REFERENCE §4.3, pitfall 6). Pure, so it is testable.

/** The containers Network Watcher writes to: VNet flow logs, and (adopted, pre-retirement) NSG flow logs. */
export const FLOW_LOG_CONTAINERS = {
  vnet: "insights-logs-flowlogflowevent",
  nsg: "insights-logs-networksecuritygroupflowevent",
} as const;

/**
 * `retentionDays: 0` ("keep forever") declares no lifecycle policy, so the choice is written where the guard-rail
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

/**
 * The lifecycle policy body for `storage.ManagementPolicy`, or undefined when flow logs are kept forever (0).
 * With the collector, its checkpoints (one small blob per flow-log blob) go the same way a little later.
 */
export function lifecyclePolicy(retentionDays: number, checkpointContainer?: string) {
  if (retentionDays === 0) return undefined;
  // A prefix must start with a container name; the trailing "/" keeps other containers out.
  const rule = (name: string, prefixMatch: string[], days: number) => ({
    name,
    type: "Lifecycle",
    enabled: true,
    definition: {
      filters: { blobTypes: ["blockBlob"], prefixMatch },
      actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: days } } },
    },
  });
  return {
    rules: [
      rule(RETENTION_RULE_NAME, [`${FLOW_LOG_CONTAINERS.vnet}/`, `${FLOW_LOG_CONTAINERS.nsg}/`], retentionDays),
      ...(checkpointContainer ? [rule(CHECKPOINT_RULE_NAME, [`${checkpointContainer}/`], retentionDays + CHECKPOINT_GRACE_DAYS)] : []),
    ],
  };
}
