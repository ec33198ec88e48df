// Data stream names, shared by the sink (writes) and dashboards/src (templates), so both agree on one scheme:
// `logs-<dataset>-<namespace>` (Elastic's data stream naming scheme) and a sibling dataset for dead letters.

export const FLOW_DATASET = "azure.flowlogs";
export const DEAD_LETTER_DATASET = `${FLOW_DATASET}.deadletter`;
export const DEFAULT_NAMESPACE = "default";

/** Throws a clear error unless `namespace` is a valid data stream namespace. */
export function checkNamespace(namespace: string): string {
  if (!/^[a-z0-9_]{1,100}$/.test(namespace)) {
    throw new Error(`invalid data stream namespace ${JSON.stringify(namespace)}: use 1-100 characters of a-z, 0-9 ` +
      `and "_" (no "-", no upper case), e.g. "default" or "prod_weu"`);
  }
  return namespace;
}

export function flowDataStream(namespace = DEFAULT_NAMESPACE): string {
  return `logs-${FLOW_DATASET}-${checkNamespace(namespace)}`;
}

export function deadLetterDataStream(namespace = DEFAULT_NAMESPACE): string {
  return `logs-${DEAD_LETTER_DATASET}-${checkNamespace(namespace)}`;
}
