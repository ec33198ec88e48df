// What one `_bulk` item result means for the document: written, already there, worth sending again, or refused for
// good. Only a refusal of the document itself (it does not fit the mapping, cannot be parsed, fails the pipeline)
// is dead-lettered. A refusal of the index or the cluster (a write block, a closed or missing index, missing
// privileges, unassigned shards, a node going away, an ingest pipeline that is not there, a rollover over the shard
// limit) says nothing about the document: it is retried with backoff,
// and when the retries run out the write fails, so the blob's checkpoint does not move and the next poll tries again.

/** One entry of a `_bulk` response's `items`. */
export interface BulkItemResult {
  status: number;
  _index?: string;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } };
  /** `used`: the document was refused and Elasticsearch kept it in the data stream's failure store (status 201). */
  failure_store?: string;
}

/**
 * `missing-template`: the target matched no data stream template, a set-up mistake no retry or dead letter can fix.
 * `retry`: transient or a refusal of the index/cluster. `refused`: the document itself was refused (mapping errors...).
 */
export type BulkItemClass = "created" | "duplicate" | "retry" | "refused" | "missing-template";

/**
 * Transient: the server may accept the same request later. 408: the server (or a proxy before it) gave up waiting
 * for the request; it may have applied it, and a re-sent create only answers 409.
 */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
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
 * Refusals whose type is also used for a document's own faults (a field value `illegal_argument_exception`, a
 * processor's `illegal_state_exception`...), told apart by the reason Elasticsearch (and OpenSearch) raises them with:
 * - `pipeline with id [x] does not exist` (illegal_argument): IngestService.executePipelines, when the index's
 *   default/final pipeline (or the request's) is not defined; raised before any processor sees the document.
 * - `pipeline with id [x] could not be loaded, caused by [...]` (illegal_state): IngestService.substitutePipeline, a
 *   stored pipeline this node cannot build (missing plugin, enrich index...); every document fails alike.
 * - `Pipeline processor configured for non-existent pipeline [x]` (illegal_state; illegal_argument in older
 *   versions): PipelineProcessor, a `pipeline` processor naming a pipeline that is not defined.
 * - `this action would add [n] shards, but this cluster currently has [a]/[b] maximum <group> shards open`
 *   (validation_exception): ShardLimitValidator, when the (lazy) rollover or the index creation behind the write
 *   would pass `cluster.max_shards_per_node`.
 * Field-level faults (document_parsing_exception, mapper_parsing_exception, an illegal_argument_exception about a
 * value, a processor failing on the document) match none of these and stay refusals of the document.
 */
const SETUP_REFUSALS: ReadonlyArray<{ types: ReadonlySet<string>; reason: RegExp }> = [
  { types: new Set(["illegal_argument_exception"]), reason: /^pipeline with id \[.*\] does not exist$/ },
  { types: new Set(["illegal_state_exception"]), reason: /^pipeline with id \[.*\] could not be loaded, caused by \[/ },
  {
    types: new Set(["illegal_state_exception", "illegal_argument_exception"]),
    reason: /^Pipeline processor configured for non-existent pipeline \[/,
  },
  {
    types: new Set(["validation_exception"]),
    reason: /this action would add \[\d+\] shards, but this cluster currently has \[\d+\]\/\[\d+\] maximum \w+ shards open/,
  },
];

function setupRefusal(error: { type?: string; reason?: string } | undefined): boolean {
  if (error?.type === undefined || error.reason === undefined) return false;
  return SETUP_REFUSALS.some((rule) => rule.types.has(error.type!) && rule.reason.test(error.reason!));
}

/**
 * Statuses that never describe a document: 401/403 (authentication, authorization, write blocks), 404 (the index
 * is gone), besides the transient 408/429/5xx.
 */
function indexOrClusterStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 404 || retryableStatus(status);
}

export function classifyBulkItem(outcome: BulkItemResult): BulkItemClass {
  // A document put in the failure store is not in the data stream: refused like one the stream answers 400 for.
  if (outcome.status === 201 || outcome.status === 200) return outcome.failure_store === "used" ? "refused" : "created";
  if (outcome.error?.type === "index_not_found_exception") return "missing-template";
  if (outcome.status === 409) return "duplicate";
  if (indexOrClusterStatus(outcome.status)) return "retry";
  const types = [outcome.error?.type, outcome.error?.caused_by?.type];
  if (types.some((type) => type !== undefined && INDEX_OR_CLUSTER_ERRORS.has(type))) return "retry";
  if (setupRefusal(outcome.error) || setupRefusal(outcome.error?.caused_by)) return "retry";
  // An empty item (no status) cannot be blamed on the document either.
  if (!outcome.status) return "retry";
  return "refused";
}
