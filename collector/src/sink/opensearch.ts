// Writes flow documents to OpenSearch through the same `_bulk` API as the Elasticsearch sink, over plain HTTP(S):
// the official Elasticsearch client refuses servers that are not Elasticsearch. Same semantics: `create` under the
// deterministic id (409 = already there), 429/5xx/connection errors retried with backoff and jitter, documents
// refused for good dead-lettered with their reason, `write` resolves only when every document is accounted for.
import { readFileSync } from "node:fs";
import type { DeadLetter, IdentifiedDocument, Sink, SinkResult, SourcePosition } from "../model";
import { DEFAULT_NAMESPACE, deadLetterDataStream, flowDataStream } from "./dataStreams";
import {
  MissingTemplateError, backoffDelay, bulkItemOutcome, bulkItemReason, classifyBulkItem,
  describeConnectionError, describeErrorBody, httpPost, isTlsVerificationError, retryableStatus,
  sizedBatches, bulkCreate, deadLetterCreates, failOnRefusedDeadLetters, tallyDelivery, type BulkItemResult, type Delivery, type DeliveryOptions, type PendingDocument,
  deliverySettings, type DeliverySettings,
} from "./httpBulk";

export interface OpenSearchSinkOptions extends DeliveryOptions {
  /** Cluster URL, e.g. https://search-my-domain.eu-west-1.es.amazonaws.com:443. No credentials in it. */
  node: string;
  /** Basic auth (the OpenSearch security plugin), or an encoded API key sent as `Authorization: ApiKey ...`. */
  auth?: { apiKey: string } | { username: string; password: string };
  /** PEM file of the CA that signed the cluster's certificate (private CAs). Verification always stays on. */
  tls?: { caFile?: string };
  /** Data stream namespace; documents go to logs-azure.flowlogs-<namespace>. */
  namespace?: string;
}

type Pending = PendingDocument<SourcePosition>;

export class OpenSearchSink implements Sink {
  private readonly bulkUrl: string;
  private readonly headers: Record<string, string>;
  private readonly caPem?: string;
  private readonly index: string;
  private readonly deadLetterIndex: string;
  private readonly delivery: DeliverySettings;

  constructor(options: OpenSearchSinkOptions) {
    const url = clusterUrl(options.node);
    this.bulkUrl = new URL("_bulk", url.href.endsWith("/") ? url.href : `${url.href}/`).href;
    this.headers = { "content-type": "application/x-ndjson", accept: "application/json", ...authHeader(options.auth) };
    if (options.tls?.caFile) {
      try {
        this.caPem = readFileSync(options.tls.caFile, "utf8");
      } catch (error) {
        throw new Error(`cannot read the CA file ${options.tls.caFile}: ${(error as Error).message}`);
      }
      if (url.protocol !== "https:") throw new Error(`a CA file was given but ${url.origin} is not https: use an https:// URL`);
    }
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.index = flowDataStream(namespace);
    this.deadLetterIndex = deadLetterDataStream(namespace);
    this.delivery = deliverySettings(options, { maxBatchDocuments: 1000, maxBatchBytes: 5 * 1024 * 1024 });
  }

  get dataStream(): string {
    return this.index;
  }

  get deadLetterDataStream(): string {
    return this.deadLetterIndex;
  }

  async write(documents: IdentifiedDocument[], position?: SourcePosition): Promise<SinkResult> {
    const result: SinkResult = { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 };
    const items = documents.map(({ id, doc }) => bulkCreate(this.index, id, JSON.stringify(doc), position));
    const refused: DeadLetter[] = [];
    for (const batch of this.batches(items)) {
      const outcome = await this.deliver(batch, this.index);
      tallyDelivery(result, outcome, refused);
    }
    if (refused.length) {
      this.delivery.log(`${refused.length} document(s) refused by ${this.index}; writing them to ${this.deadLetterIndex}`);
      result.retries += await this.storeDeadLetters(refused);
      result.deadLettered = refused.length;
    }
    return result;
  }

  async deadLetter(entries: DeadLetter[]): Promise<void> {
    if (entries.length) await this.storeDeadLetters(entries);
  }

  async close(): Promise<void> {
    // fetch keeps no client state of ours; nothing to release.
  }

  private async storeDeadLetters(entries: DeadLetter[]): Promise<number> {
    let retries = 0;
    for (const batch of this.batches(deadLetterCreates(entries, this.deadLetterIndex))) {
      const outcome = await this.deliver(batch, this.deadLetterIndex);
      retries += outcome.retries;
      failOnRefusedDeadLetters(outcome, this.deadLetterIndex);
    }
    return retries;
  }

  private batches(items: Pending[]): Generator<Pending[]> {
    return sizedBatches(items, (item) => Buffer.byteLength(item.lines), this.delivery.maxBatchDocuments, this.delivery.maxBatchBytes);
  }

  /** Sends one batch until every item is created, a duplicate, or refused for good; rejects when retries run out. */
  private async deliver(batch: Pending[], target: string): Promise<Delivery> {
    const delivery: Delivery = { created: 0, duplicates: 0, retries: 0, refused: [] };
    let items = batch;
    for (let attempt = 0; ; attempt++) {
      const { again, transient } = await this.attempt(items, target, delivery);
      if (!again.length) return delivery;
      if (attempt >= this.delivery.maxRetries) {
        throw new Error(`gave up writing ${again.length} document(s) to ${target} after ${delivery.retries} retries: last error ${transient}`);
      }
      const wait = backoffDelay(attempt, this.delivery.backoff);
      this.delivery.log(`retrying ${again.length} document(s) in ${wait} ms (${transient})`);
      await this.delivery.sleep(wait);
      delivery.retries++;
      items = again;
    }
  }

  /** One `_bulk` request; tallies settled items into `delivery` and returns the ones to send again. */
  private async attempt(items: Pending[], target: string, delivery: Delivery): Promise<{ again: Pending[]; transient?: string }> {
    let answer;
    try {
      answer = await httpPost({ url: this.bulkUrl, headers: this.headers, body: items.map((item) => item.lines).join(""), caPem: this.caPem, timeoutMs: this.delivery.timeoutMs });
    } catch (error) {
      if (isTlsVerificationError(error)) {
        throw new Error(`TLS verification of ${target}'s cluster failed (${describeConnectionError(error)}): check tls.caFile (FLOWLOGS_ES_CA_FILE)`);
      }
      return { again: items, transient: describeConnectionError(error) };
    }
    if (retryableStatus(answer.status)) return { again: items, transient: `HTTP ${answer.status}` };
    if (answer.status < 200 || answer.status >= 300) {
      throw new Error(`OpenSearch refused the bulk request to ${target} (HTTP ${answer.status}): ${describeErrorBody(answer.text)}` +
        (answer.status === 401 || answer.status === 403 ? ": check the user / API key and its permissions (write and create_index on the data streams)" : "") +
        (answer.status === 413 ? ": lower maxBatchBytes" : "") +
        (answer.status >= 300 && answer.status < 400 ? ": redirects are not followed, use the cluster's final URL" : ""));
    }
    let results: Array<Record<string, BulkItemResult>>;
    try {
      results = (JSON.parse(answer.text) as { items: Array<Record<string, BulkItemResult>> }).items;
    } catch {
      throw new Error(`the bulk answer from ${target}'s cluster is not JSON: ${answer.text.slice(0, 200)}`);
    }
    if (!Array.isArray(results) || results.length !== items.length) {
      throw new Error(`the bulk response accounts for ${Array.isArray(results) ? results.length : 0} of ${items.length} documents`);
    }
    const again: Pending[] = [];
    let transient: string | undefined;
    results.forEach((entry, i) => {
      const item = items[i]!;
      const outcome = bulkItemOutcome(entry);
      const kind = classifyBulkItem(outcome);
      if (kind === "missing-template") throw new MissingTemplateError(target, bulkItemReason(outcome));
      if (kind === "created") {
        checkDataStream(target, outcome);
        delivery.created++;
      } else if (kind === "duplicate") delivery.duplicates++;
      else if (kind === "retry") {
        again.push(item);
        transient ??= `${outcome.status} ${bulkItemReason(outcome)}`;
      } else delivery.refused.push({ item, reason: `${outcome.status} ${bulkItemReason(outcome)}` });
    });
    return { again, transient };
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
