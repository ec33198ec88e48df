// What one `_bulk` item result means for the document: written, already there, worth sending again, or refused for
// good. Only a refusal of the document itself (it does not fit the mapping, cannot be parsed, fails the pipeline)
// is dead-lettered. A refusal of the index or the cluster (a write block, a closed or missing index, missing
// privileges, unassigned shards, a node going away) says nothing about the document: it is retried with backoff,
// and when the retries run out the write fails, so the blob's checkpoint does not move and the next poll tries again.

/** One entry of a `_bulk` response's `items`. */
export interface BulkItemResult {
  status: number;
  _index?: string;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } };
}

/**
 * `missing-template`: the target matched no data stream template, a set-up mistake no retry or dead letter can fix.
 * `retry`: transient or a refusal of the index/cluster. `refused`: the document itself was refused (mapping errors...).
 */
export type BulkItemClass = "created" | "duplicate" | "retry" | "refused" | "missing-template";

/** Transient: the server may accept the same request later. */
export function retryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Error types Elasticsearch (and OpenSearch, which keeps the same names) gives for the index, shard, node or
 * cluster rather than the document, whatever the status they come with. `cluster_block_exception` is 403 for
 * `index.blocks.write` / `read_only`, 429 for the flood-stage `read_only_allow_delete`, 503 for blocks marked
 * retryable; `index_closed_exception` is 400; `security_exception` 403 (privileges not granted, or not yet).
 */
const INDEX_OR_CLUSTER_ERRORS = new Set([
  "cluster_block_exception",
  "index_closed_exception",
  "security_exception",
  "authorization_exception",
  "no_shard_available_action_exception",
  "unavailable_shards_exception",
  "shard_not_found_exception",
  "index_shard_closed_exception",
  "illegal_index_shard_state_exception",
  "primary_missing_action_exception",
  "index_primary_shard_not_allocated_exception",
  "node_closed_exception",
  "node_not_connected_exception",
  "node_disconnected_exception",
  "connect_transport_exception",
  "receive_timeout_transport_exception",
  "send_request_transport_exception",
  "master_not_discovered_exception",
  "not_master_exception",
  "process_cluster_event_timeout_exception",
  "circuit_breaking_exception",
  "es_rejected_execution_exception",
  "timeout_exception",
]);

/**
 * Statuses that never describe a document: 401/403 (authentication, authorization, write blocks), 404 (the index
 * is gone), 408 (timed out), besides the transient 429/5xx.
 */
function indexOrClusterStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 404 || status === 408 || retryableStatus(status);
}

export function classifyBulkItem(outcome: BulkItemResult): BulkItemClass {
  if (outcome.status === 201 || outcome.status === 200) return "created";
  if (outcome.error?.type === "index_not_found_exception") return "missing-template";
  if (outcome.status === 409) return "duplicate";
  if (indexOrClusterStatus(outcome.status)) return "retry";
  const types = [outcome.error?.type, outcome.error?.caused_by?.type];
  if (types.some((type) => type !== undefined && INDEX_OR_CLUSTER_ERRORS.has(type))) return "retry";
  // An empty item (no status) cannot be blamed on the document either.
  if (!outcome.status) return "retry";
  return "refused";
}
