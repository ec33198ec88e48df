// The write path the Elasticsearch and OpenSearch sinks share: documents become `create` actions into the flow data
// stream in bounded batches; a batch is sent again (with backoff) until every item is created, a duplicate or
// refused for good; refused documents go to the dead-letter data stream with their reason, and a dead letter that
// is refused too fails the write. Concurrent writes may share requests (bulkCoalescer.ts): each bulk item is settled
// into the write it came from, and a write resolves once its own documents are. A subclass only knows how to send
// one `_bulk` request to its kind of cluster.
import type { DeadLetter, IdentifiedDocument, SinkResult, SourcePosition, WriteOptions } from "../model";
import { BulkCoalescer, newDelivery, type SharedWrite } from "./bulkCoalescer";
import { BulkRequest, BulkRequestWriter, type Pending, type RequestSizeHint } from "./bulkRequest";
import { DEFAULT_NAMESPACE, deadLetterDataStream, flowDataStream } from "./dataStreams";
import {
  MissingTemplateError, backoffDelay, bulkItemOutcome, bulkItemReason, classifyBulkItem, deadLetterCreates,
  deliverySettings, failOnRefusedDeadLetters, sizedBatches, tallyDelivery,
  type BulkItemResult, type Delivery, type DeliveryOptions, type DeliverySettings,
} from "./httpBulk";
import type { EncodingSink, SinkBatch } from "./sinkBatch";
import { StoppedWriteError, onStop } from "./stoppedWrite";

export type { Pending } from "./bulkRequest";

/** Ids found already indexed, and the retries the look-up took. */
export interface IndexedIds {
  ids: ReadonlySet<string>;
  retries: number;
}

/** One write's counts: its requests settled so far, and the one under way (what it took before failing, if it did). */
interface WriteProgress {
  result: SinkResult;
  inFlight?: Delivery;
}

/**
 * What the destination took of a write so far. Documents refused for good are not counted: they reach the
 * dead-letter store only once the whole write did, and are refused again when the range is read again.
 */
function settledSoFar({ result, inFlight }: WriteProgress): SinkResult {
  return {
    indexed: result.indexed + (inFlight?.created ?? 0),
    duplicates: result.duplicates + (inFlight?.duplicates ?? 0),
    deadLettered: result.deadLettered,
    retries: result.retries + (inFlight?.retries ?? 0),
  };
}

/** What one `_bulk` request came to: the items to send again (transient failures) and why. */
export interface Attempt {
  /** The whole request again (all of it failed), or the items that failed. */
  again: BulkRequest;
  transient?: string;
  /** The whole request was refused as too large (HTTP 413): nothing of it was applied. */
  tooLarge?: true;
}

/** Options of the Elasticsearch and OpenSearch sinks besides delivery's: sharing requests between writes. */
export interface SharedRequestOptions {
  /** How long a write's request waits for other writes to share it; 0 (default): never waits, never shared. */
  lingerMs?: number;
  /** Writes that may be under way at once (the collector's jobs under way, asked at each write): once all have joined, the request goes. */
  writers?: number | (() => number);
}

/** Documents and bytes per `_bulk` request by default (the bench's pipeline writes requests of the same size). */
export const BULK_REQUEST_LIMITS = Object.freeze({ maxBatchDocuments: 2000, maxBatchBytes: 5 * 1024 * 1024 });

export abstract class DataStreamBulkSink implements EncodingSink {
  protected readonly index: string;
  protected readonly deadLetterIndex: string;
  protected readonly delivery: DeliverySettings;
  private readonly requestSize: RequestSizeHint = { bytes: 0 };
  private readonly shared: BulkCoalescer;
  /** The most bytes per request the cluster, or a proxy before it, is known to take: lowered by a 413 (attemptFitting). */
  private requestBytes = Infinity;

  constructor(namespace: string | undefined, options: DeliveryOptions & SharedRequestOptions) {
    const streamNamespace = namespace ?? DEFAULT_NAMESPACE;
    this.index = flowDataStream(streamNamespace);
    this.deadLetterIndex = deadLetterDataStream(streamNamespace);
    this.delivery = deliverySettings(options, BULK_REQUEST_LIMITS);
    const lingerMs = options.lingerMs ?? 0;
    const writers = options.writers ?? 1;
    if (!(Number.isFinite(lingerMs) && lingerMs >= 0)) throw new Error(`lingerMs must be 0 or more milliseconds, got ${lingerMs}`);
    if (typeof writers !== "function" && !(Number.isInteger(writers) && writers >= 1)) throw new Error(`writers must be a positive whole number, got ${writers}`);
    this.shared = new BulkCoalescer(
      { maxDocuments: this.delivery.maxBatchDocuments, maxBytes: this.delivery.maxBatchBytes, lingerMs, writers },
      (request, writes) => this.deliverShared(request, this.index, writes),
    );
  }

  get dataStream(): string {
    return this.index;
  }

  get deadLetterDataStream(): string {
    return this.deadLetterIndex;
  }

  async write(documents: IdentifiedDocument[], position?: SourcePosition, options?: WriteOptions): Promise<SinkResult> {
    const batch = this.batch(position, options);
    for (const document of documents) batch.add(document);
    return batch.send();
  }

  /** A write whose documents are turned into bulk lines as they are added (the collector's outbox uses it). */
  batch(position?: SourcePosition, options?: WriteOptions): SinkBatch {
    const writer = new BulkRequestWriter(this.delivery.maxBatchDocuments, this.maxRequestBytes, position, this.index, this.requestSize);
    const progress: WriteProgress = { result: { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 } };
    return {
      add: (document) => writer.addDocument(document),
      get length() {
        return writer.length;
      },
      send: () => this.writeRequests(writer.finish(), progress, options),
      settled: () => settledSoFar(progress),
    };
  }

  private async writeRequests(requests: BulkRequest[], progress: WriteProgress, options?: WriteOptions): Promise<SinkResult> {
    const { result } = progress;
    const refused: DeadLetter[] = [];
    // One request at a time per write, as without sharing: a write never has more than one request in flight. Each
    // is let go once handed over, so a shared request's body is the only copy kept while it is sent.
    while (requests.length) {
      const delivered = await this.share(requests.shift()!, progress, options);
      progress.inFlight = undefined;
      if (delivered) tallyDelivery(result, delivered, refused);
    }
    if (refused.length) {
      this.delivery.log(`${refused.length} document(s) refused by ${this.index}; writing them to ${this.deadLetterIndex}`);
      result.retries += await this.storeDeadLetters(refused, options);
      result.deadLettered = refused.length;
    }
    return result;
  }

  private async share(request: BulkRequest, progress: WriteProgress, options?: WriteOptions): Promise<Delivery | undefined> {
    if (options?.signal?.aborted) throw new StoppedWriteError(options.signal);
    const unknown = await this.withoutIndexed(request, progress.result, options);
    if (!unknown.length) return undefined;
    progress.inFlight = newDelivery();
    return this.shared.write(unknown, options, progress.inFlight);
  }

  async deadLetter(entries: DeadLetter[], options?: WriteOptions): Promise<void> {
    if (entries.length) await this.storeDeadLetters(entries, options);
  }

  /**
   * Sends a write still waiting to be shared, then disconnects (requests under way are finished by the connection's
   * own close; a write left waiting out a retry then fails, and no checkpoint moves).
   */
  async close(): Promise<void> {
    this.shared.flush();
    await this.closeConnection();
  }

  /** Releases the connection to the cluster. */
  protected abstract closeConnection(): Promise<void>;

  /**
   * One `_bulk` request to `target`: settles what it can into `deliveries` (document i into that of the write it
   * came from, deliveries[request.originOf(i)]); throws what will not heal. `signal`: every write in the request was
   * stopped, so nobody waits for its answer.
   */
  protected abstract attempt(request: BulkRequest, target: string, deliveries: Delivery[], signal?: AbortSignal): Promise<Attempt>;

  /** Drops the request's documents that are already indexed, counting them in `result`. Default: drops none. */
  protected async withoutIndexed(request: BulkRequest, _result: SinkResult, _options?: WriteOptions): Promise<BulkRequest> {
    return request;
  }

  /**
   * Of a request about to be sent again to `target`, the ids already indexed and the look-up's own retries: the
   * previous try may have been applied with its answer lost, and a rollover since would let a create land again in
   * the new write index. Default: none looked up (undefined).
   */
  protected async indexedBeforeResend(_request: BulkRequest, _target: string, _options?: WriteOptions): Promise<IndexedIds | undefined> {
    return undefined;
  }

  /** Checks a created item (OpenSearch: that it landed in a data stream). Default: nothing to check. */
  protected checkCreated(_target: string, _outcome: BulkItemResult): void {}

  protected backoff(attempt: number): number {
    return backoffDelay(attempt, this.delivery.backoff);
  }

  /**
   * Settles the items of one `_bulk` response into their writes' deliveries; returns those to send again. An answer
   * that is not one item per document (null, another shape, cut short by a proxy) settles nothing: every action is a
   * create under a fixed id, so the whole request is sent again, as after a dropped connection.
   */
  protected settle(answered: unknown, request: BulkRequest, target: string, deliveries: Delivery[]): Attempt {
    if (!Array.isArray(answered) || answered.length !== request.length) {
      return { again: request, transient: `the bulk response accounts for ${Array.isArray(answered) ? answered.length : 0} of ${request.length} documents` };
    }
    const results = answered as Array<Record<string, BulkItemResult>>;
    const again: number[] = [];
    let transient: string | undefined;
    results.forEach((entry, i) => {
      const item = (): Pending => request.item(i);
      const delivery = deliveries[request.originOf(i)]!;
      const outcome = bulkItemOutcome(entry);
      const kind = classifyBulkItem(outcome);
      if (kind === "missing-template") throw new MissingTemplateError(target, bulkItemReason(outcome));
      if (kind === "created") {
        this.checkCreated(target, outcome);
        delivery.created++;
      } else if (kind === "duplicate") delivery.duplicates++;
      else if (kind === "retry") {
        again.push(i);
        transient ??= `${outcome.status} ${bulkItemReason(outcome)}`;
      } else delivery.refused.push({ item: item(), reason: `${outcome.status} ${bulkItemReason(outcome, target)}` });
    });
    return { again: request.pick(again), transient };
  }

  private batches(items: Pending[]): Generator<Pending[]> {
    return sizedBatches(items, (item) => item.bytes, this.delivery.maxBatchDocuments, this.maxRequestBytes);
  }

  private get maxRequestBytes(): number {
    return Math.min(this.delivery.maxBatchBytes, this.requestBytes);
  }

  /**
   * One try of `items` in requests the cluster takes: one, unless a 413 (the cluster's http.max_content_length, or
   * the body limit of a proxy before it: nginx's default is 1 MB, under one default request) refused that size. Then
   * the size is halved and kept for every later request, and the documents go in pieces, one after the other; what
   * the pieces leave to send again is sent again together. A request of one document refused so fails the write.
   */
  private async attemptFitting(
    items: BulkRequest, target: string, deliveries: Delivery[], signal: AbortSignal, made: Set<BulkRequest>,
  ): Promise<Attempt> {
    if (items.body.length <= this.requestBytes || items.length === 1) {
      const tried = await this.attempt(items, target, deliveries, signal);
      if (!tried.tooLarge) return tried;
      if (items.length === 1) {
        throw new Error(`${target}'s cluster, or a proxy before it, refused a request of one document (${items.body.length} bytes) as too large (HTTP 413): raise its body size limit`);
      }
      this.requestBytes = Math.min(this.requestBytes, Math.ceil(items.body.length / 2));
      this.delivery.log(`a request of ${items.body.length} bytes to ${target} was refused as too large (HTTP 413): sending at most ${this.requestBytes} bytes per request from now on`);
    }
    const again: BulkRequest[] = [];
    let transient: string | undefined;
    for (const run of items.runsWithin(this.requestBytes)) {
      const piece = items.pick(run);
      made.add(piece);
      const tried = await this.attemptFitting(piece, target, deliveries, signal, made);
      if (signal.aborted) return { again: items, transient: "stopped" };
      made.add(tried.again);
      if (tried.again.length) again.push(tried.again);
      transient ??= tried.transient;
    }
    const joined = again.length ? BulkRequest.join(again) : items.pick([]);
    made.add(joined);
    return { again: joined, ...(transient !== undefined ? { transient } : {}) };
  }

  /** Sends one request of one write until every item is created, a duplicate, or refused for good. */
  private async deliver(request: BulkRequest, target: string, options?: WriteOptions): Promise<Delivery> {
    const delivery = newDelivery();
    let failure: Error | undefined;
    await this.deliverShared(request, target, [{ delivery, options, done: (error) => { failure = error; } }]);
    if (failure) throw failure;
    return delivery;
  }

  /**
   * Sends one request carrying `writes`' documents until every item is created, a duplicate, or refused for good.
   * A write is done as soon as its own documents are; only those still unsettled wait out a transient failure (each
   * such write's onWaiting is called), and when retries run out only they fail. A failure no retry heals (refused
   * credentials, no template) fails every write still in the request. Never rejects: each write is told.
   * A write whose signal aborts fails at once (StoppedWriteError); the others go on, and once none is left the
   * request in flight, or the wait before the next, is cut short.
   */
  private async deliverShared(request: BulkRequest, target: string, writes: SharedWrite[]): Promise<void> {
    const deliveries = writes.map((write) => write.delivery);
    const open = new Set(writes.keys());
    // This request and those made from it for retries: released once no try of them can be under way.
    const made = new Set([request]);
    let items = request;
    const unwanted = new AbortController();
    const listeners = writes.map((write, k) => onStop(write.options?.signal, () => {
      if (!open.has(k)) return;
      finish(k, new StoppedWriteError(write.options!.signal!));
      if (!open.size) unwanted.abort();
    }));
    try {
      for (let attempt = 0; ; attempt++) {
        if (!open.size) return;
        const { again, transient } = await this.attemptFitting(items, target, deliveries, unwanted.signal, made);
        if (!open.size) return;
        made.add(again);
        const waiting = new Map<number, number>();
        for (let i = 0; i < again.length; i++) waiting.set(again.originOf(i), (waiting.get(again.originOf(i)) ?? 0) + 1);
        for (const k of open) if (!waiting.has(k)) finish(k);
        if (!open.size) return;
        if (attempt >= this.delivery.maxRetries) {
          for (const k of open) {
            finish(k, new Error(`gave up writing ${waiting.get(k)} document(s) to ${target} after ${deliveries[k]!.retries} retries: last error ${transient}`));
          }
          return;
        }
        const wait = this.backoff(attempt);
        this.delivery.log(`retrying ${again.length} document(s) in ${wait} ms (${transient})`);
        await Promise.all([...open].map(async (k) => {
          try {
            await writes[k]!.options?.onWaiting?.();
          } catch (error) {
            finish(k, error);
          }
        }));
        if (!open.size) return;
        await this.delivery.sleep(wait, unwanted.signal);
        if (!open.size) return;
        for (const k of open) deliveries[k]!.retries++;
        items = open.size === waiting.size ? again : again.pick([...Array(again.length).keys()].filter((i) => open.has(again.originOf(i))));
        made.add(items);
        const unknown = await this.withoutIndexedAgain(items, target, writes, open, unwanted.signal);
        if (unknown !== items) {
          // A write whose documents were all found is done.
          made.add(items = unknown);
          const left = new Set(Array.from({ length: items.length }, (_, i) => items.originOf(i)));
          for (const k of open) if (!left.has(k)) finish(k);
          if (!open.size) return;
        }
      }
    } catch (error) {
      for (const k of open) finish(k, error);
    } finally {
      for (const remove of listeners) remove();
      for (const sent of made) sent.release();
    }

    function finish(k: number, error?: unknown): void {
      open.delete(k);
      writes[k]!.done(error === undefined ? undefined : error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** `request` less the documents already indexed (indexedBeforeResend), each counted a duplicate of its write. */
  private async withoutIndexedAgain(
    request: BulkRequest, target: string, writes: SharedWrite[], open: ReadonlySet<number>, signal: AbortSignal,
  ): Promise<BulkRequest> {
    // The look-up's waits are every waiting write's waits; it is unwanted once they have all stopped.
    const onWaiting = async (): Promise<void> => {
      await Promise.all([...open].map((k) => writes[k]!.options?.onWaiting?.()));
    };
    const known = await this.indexedBeforeResend(request, target, { onWaiting, signal });
    if (!known) return request;
    for (const k of open) writes[k]!.delivery.retries += known.retries;
    if (!known.ids.size) return request;
    for (let i = 0; i < request.length; i++) if (known.ids.has(request.idOf(i))) writes[request.originOf(i)]!.delivery.duplicates++;
    return request.without(known.ids);
  }

  private async storeDeadLetters(entries: DeadLetter[], options?: WriteOptions): Promise<number> {
    let retries = 0;
    for (const batch of this.batches(deadLetterCreates(entries, this.deadLetterIndex))) {
      const outcome = await this.deliver(BulkRequest.of(batch), this.deadLetterIndex, options);
      retries += outcome.retries;
      failOnRefusedDeadLetters(outcome, this.deadLetterIndex);
    }
    return retries;
  }
}
