// ONE retention mechanism: the flow log's own retention is switched off and a storage lifecycle policy deletes old
// blobs. Azure implements flow-log retention by writing lifecycle rules that overwrite the account's whole
// management policy, so using both would make them fight (REFERENCE §4.3, pitfall 6). Pure, so it is testable.

/** The containers Network Watcher writes to: VNet flow logs, and (adopted, pre-retirement) NSG flow logs. */
export const FLOW_LOG_CONTAINERS = {
  vnet: "insights-logs-flowlogflowevent",
  nsg: "insights-logs-networksecuritygroupflowevent",
} as const;

/** Sent on every FlowLog: Azure must not write its own lifecycle rule. */
export const FLOW_LOG_RETENTION_POLICY = { enabled: false, days: 0 } as const;

export const RETENTION_RULE_NAME = "delete-old-flow-logs";

/** The lifecycle policy body for `storage.ManagementPolicy`, or undefined when flow logs are kept forever (0). */
export function lifecyclePolicy(retentionDays: number) {
  if (retentionDays === 0) return undefined;
  return {
    rules: [{
      name: RETENTION_RULE_NAME,
      type: "Lifecycle",
      enabled: true,
      definition: {
        // A prefix must start with a container name; the trailing "/" keeps other containers out.
        filters: { blobTypes: ["blockBlob"], prefixMatch: [`${FLOW_LOG_CONTAINERS.vnet}/`, `${FLOW_LOG_CONTAINERS.nsg}/`] },
        actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: retentionDays } } },
      },
    }],
  };
}
