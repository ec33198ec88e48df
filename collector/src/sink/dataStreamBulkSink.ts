// The write path the Elasticsearch and OpenSearch sinks share: documents become `create` actions into the flow data
// stream in bounded batches; a batch is sent again (with backoff) until every item is created, a duplicate or
// refused for good; refused documents go to the dead-letter data stream with their reason, and a dead letter that
// is refused too fails the write. A subclass only knows how to send one `_bulk` request to its kind of cluster.
import type { DeadLetter, IdentifiedDocument, SinkResult, SourcePosition, WriteOptions } from "../model";
import { BulkRequest, BulkRequestWriter, type Pending, type RequestSizeHint } from "./bulkRequest";
import { DEFAULT_NAMESPACE, deadLetterDataStream, flowDataStream } from "./dataStreams";
import {
  MissingTemplateError, backoffDelay, bulkItemOutcome, bulkItemReason, classifyBulkItem, deadLetterCreates,
  deliverySettings, failOnRefusedDeadLetters, sizedBatches, tallyDelivery,
  type BulkItemResult, type Delivery, type DeliveryOptions, type DeliverySettings,
} from "./httpBulk";
import type { EncodingSink, SinkBatch } from "./sinkBatch";

export type { Pending } from "./bulkRequest";

/** What one `_bulk` request came to: the items to send again (transient failures) and why. */
export interface Attempt {
  /** The whole request again (all of it failed), or the items that failed. */
  again: BulkRequest | Pending[];
  transient?: string;
}

export abstract class DataStreamBulkSink implements EncodingSink {
  protected readonly index: string;
  protected readonly deadLetterIndex: string;
  protected readonly delivery: DeliverySettings;
  private readonly requestSize: RequestSizeHint = { bytes: 0 };

  constructor(namespace: string | undefined, options: DeliveryOptions) {
    const streamNamespace = namespace ?? DEFAULT_NAMESPACE;
    this.index = flowDataStream(streamNamespace);
    this.deadLetterIndex = deadLetterDataStream(streamNamespace);
    this.delivery = deliverySettings(options, { maxBatchDocuments: 1000, maxBatchBytes: 5 * 1024 * 1024 });
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
    const writer = new BulkRequestWriter(this.delivery.maxBatchDocuments, this.delivery.maxBatchBytes, position, this.index, this.requestSize);
    return {
      add: (document) => writer.add(document.id, document.source),
      get length() {
        return writer.length;
      },
      send: () => this.writeRequests(writer.finish(), options),
    };
  }

  private async writeRequests(requests: BulkRequest[], options?: WriteOptions): Promise<SinkResult> {
    const result: SinkResult = { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 };
    const refused: DeadLetter[] = [];
    for (const request of requests) {
      const unknown = await this.withoutIndexed(request, result, options);
      if (unknown.length) tallyDelivery(result, await this.deliver(unknown, this.index, options), refused);
    }
    if (refused.length) {
      this.delivery.log(`${refused.length} document(s) refused by ${this.index}; writing them to ${this.deadLetterIndex}`);
      result.retries += await this.storeDeadLetters(refused, options);
      result.deadLettered = refused.length;
    }
    return result;
  }

  async deadLetter(entries: DeadLetter[], options?: WriteOptions): Promise<void> {
    if (entries.length) await this.storeDeadLetters(entries, options);
  }

  abstract close(): Promise<void>;

  /** One `_bulk` request to `target`: settles what it can into `delivery`; throws what will not heal. */
  protected abstract attempt(request: BulkRequest, target: string, delivery: Delivery): Promise<Attempt>;

  /** Drops the request's documents that are already indexed, counting them in `result`. Default: drops none. */
  protected async withoutIndexed(request: BulkRequest, _result: SinkResult, _options?: WriteOptions): Promise<BulkRequest> {
    return request;
  }

  /** Checks a created item (OpenSearch: that it landed in a data stream). Default: nothing to check. */
  protected checkCreated(_target: string, _outcome: BulkItemResult): void {}

  protected backoff(attempt: number): number {
    return backoffDelay(attempt, this.delivery.backoff);
  }

  /** Settles the items of one `_bulk` response into `delivery`; returns those to send again. */
  protected settle(results: Array<Record<string, BulkItemResult>>, request: BulkRequest, target: string, delivery: Delivery): Attempt {
    const again: Pending[] = [];
    let transient: string | undefined;
    results.forEach((entry, i) => {
      const item = (): Pending => request.item(i);
      const outcome = bulkItemOutcome(entry);
      const kind = classifyBulkItem(outcome);
      if (kind === "missing-template") throw new MissingTemplateError(target, bulkItemReason(outcome));
      if (kind === "created") {
        this.checkCreated(target, outcome);
        delivery.created++;
      } else if (kind === "duplicate") delivery.duplicates++;
      else if (kind === "retry") {
        again.push(item());
        transient ??= `${outcome.status} ${bulkItemReason(outcome)}`;
      } else delivery.refused.push({ item: item(), reason: `${outcome.status} ${bulkItemReason(outcome)}` });
    });
    return { again, transient };
  }

  private batches(items: Pending[]): Generator<Pending[]> {
    return sizedBatches(items, (item) => item.bytes, this.delivery.maxBatchDocuments, this.delivery.maxBatchBytes);
  }

  /** Sends one request until every item is created, a duplicate, or refused for good; rejects when retries run out. */
  private async deliver(request: BulkRequest, target: string, options?: WriteOptions): Promise<Delivery> {
    const delivery: Delivery = { created: 0, duplicates: 0, retries: 0, refused: [] };
    let items = request;
    for (let attempt = 0; ; attempt++) {
      const { again, transient } = await this.attempt(items, target, delivery);
      if (!again.length) return delivery;
      if (attempt >= this.delivery.maxRetries) {
        throw new Error(`gave up writing ${again.length} document(s) to ${target} after ${delivery.retries} retries: last error ${transient}`);
      }
      const wait = this.backoff(attempt);
      this.delivery.log(`retrying ${again.length} document(s) in ${wait} ms (${transient})`);
      await options?.onWaiting?.();
      await this.delivery.sleep(wait);
      delivery.retries++;
      items = again instanceof BulkRequest ? again : BulkRequest.of(again);
    }
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
