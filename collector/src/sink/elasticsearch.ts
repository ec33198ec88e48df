// Writes flow documents into an Elasticsearch data stream with the bulk API: `create` under each document's
// deterministic id, so a re-read batch adds nothing (409 = already indexed). Transient failures (429, 5xx,
// connection errors) are retried with capped exponential backoff and jitter; documents the cluster refuses for good
// go to the dead-letter data stream with the reason. `write` resolves only when every document is accounted for.
import { Client, type ClientOptions } from "@elastic/elasticsearch";
import type { SinkResult, WriteOptions } from "../model";
import { BulkAnswerSerializer } from "./bulkAnswer";
import type { BulkRequest } from "./bulkRequest";
import { DataStreamBulkSink, type Attempt, type IndexedIds, type SharedRequestOptions } from "./dataStreamBulkSink";
import { caFingerprintPairs, isTlsVerificationError, readCaFile, retryableStatus, withDeadline, type BulkItemResult, type Delivery, type DeliveryOptions } from "./httpBulk";
import { StoppedWriteError } from "./stoppedWrite";

export interface ElasticsearchSinkOptions extends DeliveryOptions, SharedRequestOptions {
  /** Cluster URL, e.g. https://my-deployment.es.westeurope.azure.elastic.cloud:443. No credentials in it. */
  node: string;
  /** Encoded API key (base64 of id:key), or basic auth. */
  auth?: { apiKey: string } | { username: string; password: string };
  /**
   * Trust and pinning. `caFile`: PEM of the CA that signed the cluster's certificate (private CAs). `caFingerprint`:
   * SHA-256 of a CA certificate that must appear in the presented chain, checked on top of the normal chain
   * verification (which still needs a publicly trusted CA, or `caFile`): pinning never loosens verification.
   */
  tls?: { caFingerprint?: string; caFile?: string };
  /** Data stream namespace; documents go to logs-azure.flowlogs-<namespace>. */
  namespace?: string;
  /**
   * `_id` uniqueness holds per backing index only: after a rollover, a re-sent document would be created again in
   * the new write index. When on, each batch first looks its ids up across the whole data stream (one `ids` search)
   * and counts the ones found as duplicates, and looks up again the documents about to be resent after a transient
   * failure (an answer lost after the cluster applied the request, then a rollover). The look-up is a search: it sees
   * only refreshed documents (index.refresh_interval, 1 s by default). Needs the `read` privilege on the data stream
   * besides `create_doc`.
   */
  dedupeAcrossBackingIndices?: boolean;
}

// require_data_stream: without our template the cluster would invent a plain index with guessed mappings.
// filter_path: an unfiltered answer spends ~230 bytes per created item (index, id, version, shards, seq_no...) that
// the client must read and parse; the sink reads only each item's status, error and failure_store (bulkItemClass.ts,
// settle()): a 201 with failure_store "used" is a document refused into the failure store. Every item has a status,
// so the filtered items array keeps one entry per document, in order.
const BULK_QUERY = {
  require_data_stream: "true",
  filter_path: "items.*.status,items.*.failure_store,items.*.error.type,items.*.error.reason,items.*.error.caused_by.type," +
    "items.*.error.caused_by.reason",
};

export class ElasticsearchSink extends DataStreamBulkSink {
  private readonly client: Client;
  private readonly dedupe: boolean;

  constructor(options: ElasticsearchSinkOptions) {
    super(options.namespace, options);
    this.client = new Client(clientOptions(options));
    this.dedupe = options.dedupeAcrossBackingIndices ?? false;
  }

  protected async closeConnection(): Promise<void> {
    await this.client.close();
  }

  protected override async withoutIndexed(request: BulkRequest, result: SinkResult, options?: WriteOptions): Promise<BulkRequest> {
    if (!this.dedupe) return request;
    const known = await this.alreadyIndexed(request.ids, options);
    result.duplicates += known.ids.size;
    result.retries += known.retries;
    return request.without(known.ids);
  }

  protected override async indexedBeforeResend(request: BulkRequest, target: string, options?: WriteOptions): Promise<IndexedIds | undefined> {
    return this.dedupe && target === this.index ? this.alreadyIndexed(request.ids, options) : undefined;
  }

  /** Which of `ids` are already in any backing index of the data stream (older backing indices no longer change). */
  private async alreadyIndexed(ids: string[], options?: WriteOptions): Promise<{ ids: Set<string>; retries: number }> {
    for (let attempt = 0; ; attempt++) {
      try {
        // allow_partial_search_results: by default a search whose shards partly failed still answers 200 with the
        // hits of the others; the ids on a failed shard would read as not indexed and be created again.
        const response = await withDeadline(this.delivery.timeoutMs, options?.signal, (signal) => this.client.search({
          index: this.index, size: ids.length, _source: false, ignore_unavailable: true, allow_no_indices: true,
          allow_partial_search_results: false, query: { ids: { values: ids } },
        }, { signal }));
        if ((response._shards?.failed ?? 0) > 0 || response.timed_out) {
          throw new Error(`the look-up answered for ${response._shards.successful} of ${response._shards.total} shards${response.timed_out ? " (timed out)" : ""}`);
        }
        return { ids: new Set(response.hits.hits.map((hit) => hit._id!)), retries: attempt };
      } catch (error) {
        if (options?.signal?.aborted) throw new StoppedWriteError(options.signal);
        const status = statusOf(error);
        if (status === 404) return { ids: new Set(), retries: attempt }; // no data stream yet: nothing indexed
        if ((status !== undefined && !retryableStatus(status)) || attempt >= this.delivery.maxRetries) {
          throw new Error(`could not look up already indexed ids in ${this.index} (${status ? `HTTP ${status}: ` : ""}${describe(error)})` +
            (status === 403 ? ": dedupeAcrossBackingIndices needs the read privilege on the data stream" : ""));
        }
        await options?.onWaiting?.();
        await this.delivery.sleep(this.backoff(attempt), options?.signal);
        if (options?.signal?.aborted) throw new StoppedWriteError(options.signal);
      }
    }
  }

  protected async attempt(items: BulkRequest, target: string, deliveries: Delivery[], signal?: AbortSignal): Promise<Attempt> {
    let response: { items: Array<Record<string, BulkItemResult>> };
    try {
      response = await withDeadline(this.delivery.timeoutMs, signal, (deadline) => this.client.transport.request<{ items: Array<Record<string, BulkItemResult>> }>(
        { method: "POST", path: "/_bulk", querystring: BULK_QUERY, bulkBody: items.body }, { signal: deadline, headers: NDJSON_HEADERS },
      ));
    } catch (error) {
      // Nobody waits for the answer any more (every write in the request stopped): the caller sees that, not a failure.
      if (signal?.aborted) return { again: items, transient: "stopped" };
      const status = statusOf(error);
      if (status === 413) return { again: items, transient: "HTTP 413", tooLarge: true };
      if (status === undefined && isTlsVerificationError(error)) {
        // A TLS verification failure will not heal by retrying.
        throw new Error(`TLS verification of ${target}'s cluster failed (${error instanceof Error ? error.message : String(error)}): check tls.caFile / tls.caFingerprint`);
      }
      if (status !== undefined && !retryableStatus(status)) {
        throw new Error(`Elasticsearch refused the bulk request to ${target} (HTTP ${status}): ${describe(error)}` +
          (status === 401 || status === 403 ? ": check the API key / user and its privileges (create_doc, auto_configure)" : ""));
      }
      return { again: items, transient: status !== undefined ? `HTTP ${status}` : describe(error) };
    }
    return this.settle((response as { items?: unknown } | null)?.items, items, target, deliveries);
  }
}

/**
 * Plain JSON, not the 9.x client's `application/vnd.elasticsearch+json; compatible-with=9`, which Elasticsearch 8.x
 * refuses (400 media_type_header_exception, "Accept version must be either version 8 or 7, but found 9"). Every 8.x
 * and 9.x node, and Serverless, takes plain JSON and answers in its own version's format; the requests made here have
 * the same shape in both. Bulk bodies say x-ndjson per request.
 */
export const PLAIN_JSON_HEADERS = { accept: "application/json", "content-type": "application/json" };
const NDJSON_HEADERS = { "content-type": "application/x-ndjson" };

/** Client options from sink options; credentials only ever go into headers, never into the URL or messages. */
export function clientOptions(options: ElasticsearchSinkOptions): ClientOptions {
  let url: URL;
  try {
    url = new URL(options.node);
  } catch {
    throw new Error(`invalid Elasticsearch URL ${JSON.stringify(options.node)}: expected e.g. https://host:9243`);
  }
  if (url.username || url.password) {
    throw new Error("the Elasticsearch URL carries credentials: remove them from the URL and pass an API key or user/password instead");
  }
  const tls: NonNullable<ClientOptions["tls"]> = {};
  let caFingerprint: string | undefined;
  if (options.tls?.caFingerprint) {
    caFingerprint = caFingerprintPairs(options.tls.caFingerprint);
    if (!caFingerprint) throw new Error("tls.caFingerprint must be the SHA-256 fingerprint of the cluster's CA: 64 hex digits, colons optional");
  }
  if (options.tls?.caFile) {
    tls.ca = readCaFile(options.tls.caFile);
  }
  return {
    node: url.toString(),
    ...(options.auth ? { auth: options.auth } : {}),
    ...(caFingerprint ? { caFingerprint } : {}),
    ...(Object.keys(tls).length ? { tls } : {}),
    maxRetries: 0, // retries are ours: counted, backed off and bounded per batch
    requestTimeout: options.requestTimeoutMs ?? 60_000,
    compression: false,
    headers: { ...PLAIN_JSON_HEADERS },
    Serializer: BulkAnswerSerializer, // all-created bulk answers read without parsing (bulkAnswer.ts)
  };
}

function statusOf(error: unknown): number | undefined {
  // Connection errors carry no status (or 0): those are transient like a 503.
  const status = (error as { meta?: { statusCode?: number | null } }).meta?.statusCode;
  return status ? status : undefined;
}

/** A readable cause that never repeats request headers (where credentials live). */
function describe(error: unknown): string {
  const body = (error as { meta?: { body?: unknown } }).meta?.body;
  if (body && typeof body === "object" && "error" in body) {
    const inner = (body as { error: { type?: string; reason?: string } | string }).error;
    return typeof inner === "string" ? inner : `${inner.type}: ${inner.reason}`;
  }
  if (typeof body === "string" && body) return body.slice(0, 500);
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
