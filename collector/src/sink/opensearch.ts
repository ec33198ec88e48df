// Writes flow documents to OpenSearch through the same `_bulk` API as the Elasticsearch sink, over plain HTTP(S):
// the official Elasticsearch client refuses servers that are not Elasticsearch. Same semantics: `create` under the
// deterministic id (409 = already there), 429/5xx/connection errors retried with backoff and jitter, documents
// refused for good dead-lettered with their reason, `write` resolves only when every document is accounted for.
import type { BulkRequest } from "./bulkRequest";
import { DataStreamBulkSink, type Attempt, type SharedRequestOptions } from "./dataStreamBulkSink";
import {
  readCaFile,
  MissingTemplateError, describeConnectionError, describeErrorBody, httpPost, isTlsVerificationError, retryableStatus,
  type BulkItemResult, type Delivery, type DeliveryOptions,
} from "./httpBulk";

export interface OpenSearchSinkOptions extends DeliveryOptions, SharedRequestOptions {
  /** Cluster URL, e.g. https://search-my-domain.eu-west-1.es.amazonaws.com:443. No credentials in it. */
  node: string;
  /** Basic auth (the OpenSearch security plugin), or an encoded API key sent as `Authorization: ApiKey ...`. */
  auth?: { apiKey: string } | { username: string; password: string };
  /** PEM file of the CA that signed the cluster's certificate (private CAs). Verification always stays on. */
  tls?: { caFile?: string };
  /** Data stream namespace; documents go to logs-azure.flowlogs-<namespace>. */
  namespace?: string;
}

// filter_path: unfiltered, a created item answers with index, id, version, result, shards, seq_no and primary term
// (~230 bytes) that must be read and JSON-parsed; the sink reads each item's status, error and, for the data stream
// check below, `_index` only. Every item has a status, so the filtered items array keeps one entry per document.
const BULK_ANSWER_FIELDS = "items.*.status,items.*._index,items.*.error.type,items.*.error.reason,items.*.error.caused_by.type,items.*.error.caused_by.reason";

export class OpenSearchSink extends DataStreamBulkSink {
  private readonly bulkUrl: string;
  private readonly headers: Record<string, string>;
  private readonly caPem?: string;

  constructor(options: OpenSearchSinkOptions) {
    super(options.namespace, options);
    const url = clusterUrl(options.node);
    const bulkUrl = new URL("_bulk", url.href.endsWith("/") ? url.href : `${url.href}/`);
    bulkUrl.searchParams.set("filter_path", BULK_ANSWER_FIELDS);
    this.bulkUrl = bulkUrl.href;
    this.headers = { "content-type": "application/x-ndjson", accept: "application/json", ...authHeader(options.auth) };
    if (options.tls?.caFile) {
      this.caPem = readCaFile(options.tls.caFile);
      if (url.protocol !== "https:") throw new Error(`a CA file was given but ${url.origin} is not https: use an https:// URL`);
    }
  }

  protected async closeConnection(): Promise<void> {
    // fetch keeps no client state of ours; nothing to release.
  }

  protected override checkCreated(target: string, outcome: BulkItemResult): void {
    checkDataStream(target, outcome);
  }

  protected async attempt(items: BulkRequest, target: string, deliveries: Delivery[], signal?: AbortSignal): Promise<Attempt> {
    let answer;
    try {
      answer = await httpPost({ url: this.bulkUrl, headers: this.headers, body: items.body, caPem: this.caPem, timeoutMs: this.delivery.timeoutMs, signal });
    } catch (error) {
      // Nobody waits for the answer any more (every write in the request stopped): the caller sees that, not a failure.
      if (signal?.aborted) return { again: items, transient: "stopped" };
      if (isTlsVerificationError(error)) {
        throw new Error(`TLS verification of ${target}'s cluster failed (${describeConnectionError(error)}): check tls.caFile (FLOWLOGS_ES_CA_FILE)`);
      }
      return { again: items, transient: describeConnectionError(error) };
    }
    if (retryableStatus(answer.status)) return { again: items, transient: `HTTP ${answer.status}` };
    if (answer.status === 413) return { again: items, transient: "HTTP 413", tooLarge: true };
    if (answer.status < 200 || answer.status >= 300) {
      throw new Error(`OpenSearch refused the bulk request to ${target} (HTTP ${answer.status}): ${describeErrorBody(answer.text)}` +
        (answer.status === 401 || answer.status === 403 ? ": check the user / API key and its permissions (write and create_index on the data streams)" : "") +
        (answer.status >= 300 && answer.status < 400 ? ": redirects are not followed, use the cluster's final URL" : ""));
    }
    // A 2xx that is not JSON (cut short by a proxy) is sent again whole, as settle does with one that is not the items.
    let results: unknown;
    try {
      results = (JSON.parse(answer.text) as { items?: unknown } | null)?.items;
    } catch {
      return { again: items, transient: `the bulk answer is not JSON: ${answer.text.slice(0, 200)}` };
    }
    return this.settle(results, items, target, deliveries);
  }
}

/**
 * OpenSearch has no `require_data_stream`: without a matching template it creates a plain index with guessed
 * mappings. A data stream writes to `.ds-` backing indices, so anything else is that mistake, reported at once.
 */
function checkDataStream(target: string, outcome: BulkItemResult): void {
  if (outcome._index !== undefined && !outcome._index.startsWith(".ds-")) {
    throw new MissingTemplateError(target, `the cluster wrote to a plain index ${outcome._index}, not a data stream; delete that index`);
  }
}

function clusterUrl(node: string): URL {
  let url: URL;
  try {
    url = new URL(node);
  } catch {
    throw new Error(`invalid OpenSearch URL ${JSON.stringify(node)}: expected e.g. https://host:9200`);
  }
  if (url.username || url.password) {
    throw new Error("the OpenSearch URL carries credentials: remove them from the URL and pass a user/password or API key instead");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`the OpenSearch URL must be http(s), got ${url.protocol}`);
  return url;
}

/** Credentials only ever go into this header, never into URLs or messages. */
function authHeader(auth: OpenSearchSinkOptions["auth"]): Record<string, string> {
  if (!auth) return {};
  if ("apiKey" in auth) return { authorization: `ApiKey ${auth.apiKey}` };
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` };
}
