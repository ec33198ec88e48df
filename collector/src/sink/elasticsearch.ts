// Writes flow documents into an Elasticsearch data stream with the bulk API: `create` under each document's
// deterministic id, so a re-read batch adds nothing (409 = already indexed). Transient failures (429, 5xx,
// connection errors) are retried with capped exponential backoff and jitter; documents the cluster refuses for good
// go to the dead-letter data stream with the reason. `write` resolves only when every document is accounted for.
import { readFileSync } from "node:fs";
import { Client, type ClientOptions } from "@elastic/elasticsearch";
import type { DeadLetter, IdentifiedDocument, Sink, SinkResult, SourcePosition } from "../model";
import { DEFAULT_NAMESPACE, deadLetterDataStream, flowDataStream } from "./dataStreams";
import {
  MissingTemplateError, backoffDelay, bulkItemOutcome, bulkItemReason, classifyBulkItem,
  retryableStatus, sizedBatches, bulkCreate, deadLetterCreates, failOnRefusedDeadLetters, tallyDelivery, type BulkItemResult, type Delivery, type DeliveryOptions, type PendingDocument,
  deliverySettings, type DeliverySettings,
} from "./httpBulk";

export interface ElasticsearchSinkOptions extends DeliveryOptions {
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
   * and counts the ones found as duplicates. Needs the `read` privilege on the data stream besides `create_doc`.
   */
  dedupeAcrossBackingIndices?: boolean;
}

type Pending = PendingDocument<SourcePosition>;

export class ElasticsearchSink implements Sink {
  private readonly client: Client;
  private readonly index: string;
  private readonly deadLetterIndex: string;
  private readonly delivery: DeliverySettings;
  private readonly dedupe: boolean;

  constructor(options: ElasticsearchSinkOptions) {
    this.client = new Client(clientOptions(options));
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.index = flowDataStream(namespace);
    this.deadLetterIndex = deadLetterDataStream(namespace);
    this.delivery = deliverySettings(options, { maxBatchDocuments: 1000, maxBatchBytes: 5 * 1024 * 1024 });
    this.dedupe = options.dedupeAcrossBackingIndices ?? false;
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
    for (let batch of this.batches(items)) {
      if (this.dedupe) {
        const known = await this.alreadyIndexed(batch);
        result.duplicates += known.ids.size;
        result.retries += known.retries;
        batch = batch.filter((item) => !known.ids.has(item.id));
        if (!batch.length) continue;
      }
      const outcome = await this.deliver(batch);
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
    await this.client.close();
  }

  private async storeDeadLetters(entries: DeadLetter[]): Promise<number> {
    let retries = 0;
    for (const batch of this.batches(deadLetterCreates(entries, this.deadLetterIndex))) {
      const outcome = await this.deliver(batch);
      retries += outcome.retries;
      failOnRefusedDeadLetters(outcome, this.deadLetterIndex);
    }
    return retries;
  }

  private batches(items: Pending[]): Generator<Pending[]> {
    return sizedBatches(items, (item) => Buffer.byteLength(item.lines), this.delivery.maxBatchDocuments, this.delivery.maxBatchBytes);
  }

  /** Ids of `batch` already in any backing index of the data stream (older backing indices no longer change). */
  private async alreadyIndexed(batch: Pending[]): Promise<{ ids: Set<string>; retries: number }> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.client.search({
          index: this.index, size: batch.length, _source: false, ignore_unavailable: true, allow_no_indices: true,
          query: { ids: { values: batch.map((item) => item.id) } },
        });
        return { ids: new Set(response.hits.hits.map((hit) => hit._id!)), retries: attempt };
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return { ids: new Set(), retries: attempt }; // no data stream yet: nothing indexed
        if ((status !== undefined && !retryableStatus(status)) || attempt >= this.delivery.maxRetries) {
          throw new Error(`could not look up already indexed ids in ${this.index} (${status ? `HTTP ${status}: ` : ""}${describe(error)})` +
            (status === 403 ? ": dedupeAcrossBackingIndices needs the read privilege on the data stream" : ""));
        }
        await this.delivery.sleep(this.backoff(attempt));
      }
    }
  }

  private backoff(attempt: number): number {
    return backoffDelay(attempt, this.delivery.backoff);
  }

  /** Sends one batch until every item is created, a duplicate, or refused for good; rejects when retries run out. */
  private async deliver(batch: Pending[]): Promise<Delivery> {
    let pending = batch;
    let created = 0;
    let duplicates = 0;
    let retries = 0;
    const refused: Array<{ item: Pending; reason: string }> = [];
    for (let attempt = 0; ; attempt++) {
      let transient: string | undefined;
      const again: Pending[] = [];
      try {
        const response = await this.client.transport.request<{ items: Array<Record<string, BulkItemResult>> }>(
          // require_data_stream: without our template the cluster would invent a plain index with guessed mappings.
          { method: "POST", path: "/_bulk", querystring: { require_data_stream: "true" }, bulkBody: pending.map((item) => item.lines).join("") },
        );
        if (!Array.isArray(response.items) || response.items.length !== pending.length) {
          throw new Error(`the bulk response accounts for ${response.items?.length ?? 0} of ${pending.length} documents`);
        }
        response.items.forEach((entry, i) => {
          const item = pending[i]!;
          const outcome = bulkItemOutcome(entry);
          const kind = classifyBulkItem(outcome);
          if (kind === "created") created++;
          else if (kind === "missing-template") throw new MissingTemplateError(this.index, bulkItemReason(outcome));
          else if (kind === "duplicate") duplicates++;
          else if (kind === "retry") {
            again.push(item);
            transient ??= `${outcome.status} ${bulkItemReason(outcome)}`;
          } else refused.push({ item, reason: `${outcome.status} ${bulkItemReason(outcome)}` });
        });
      } catch (error) {
        if (error instanceof MissingTemplateError) throw error;
        const status = statusOf(error);
        const message = error instanceof Error ? error.message : String(error);
        if (status === undefined && /certificate|fingerprint|self[- ]signed|SSL|TLS/i.test(message)) {
          // A TLS verification failure will not heal by retrying.
          throw new Error(`TLS verification of ${this.index}'s cluster failed (${message}): check tls.caFile / tls.caFingerprint`);
        }
        if (status !== undefined && !retryableStatus(status)) {
          throw new Error(`Elasticsearch refused the bulk request to ${this.index} (HTTP ${status}): ${describe(error)}` +
            (status === 401 || status === 403 ? ": check the API key / user and its privileges (create_doc, auto_configure)" : "") +
            (status === 413 ? ": lower maxBatchBytes" : ""));
        }
        again.push(...pending);
        transient = status !== undefined ? `HTTP ${status}` : describe(error);
      }
      if (!again.length) return { created, duplicates, retries, refused };
      if (attempt >= this.delivery.maxRetries) {
        throw new Error(`gave up writing ${again.length} document(s) to ${this.index} after ${retries} retries: last error ${transient}`);
      }
      const wait = this.backoff(attempt);
      this.delivery.log(`retrying ${again.length} document(s) in ${wait} ms (${transient})`);
      await this.delivery.sleep(wait);
      retries++;
      pending = again;
    }
  }
}

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
    const hex = options.tls.caFingerprint.replace(/:/g, "").toUpperCase();
    if (!/^[0-9A-F]{64}$/.test(hex)) {
      throw new Error("tls.caFingerprint must be the SHA-256 fingerprint of the cluster's CA: 64 hex digits, colons optional");
    }
    caFingerprint = hex.match(/../g)!.join(":");
  }
  if (options.tls?.caFile) {
    try {
      tls.ca = readFileSync(options.tls.caFile, "utf8");
    } catch (error) {
      throw new Error(`cannot read the CA file ${options.tls.caFile}: ${(error as Error).message}`);
    }
  }
  return {
    node: url.toString(),
    ...(options.auth ? { auth: options.auth } : {}),
    ...(caFingerprint ? { caFingerprint } : {}),
    ...(Object.keys(tls).length ? { tls } : {}),
    maxRetries: 0, // retries are ours: counted, backed off and bounded per batch
    requestTimeout: options.requestTimeoutMs ?? 60_000,
    compression: false,
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
