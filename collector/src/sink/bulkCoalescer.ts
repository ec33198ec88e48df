// Concurrent writes share `_bulk` requests. While tailing, each blob job writes about a minute of one NIC (~110
// documents), and Elasticsearch spends less CPU per document on fewer, larger requests (scripts/bench/bulkSize.ts).
// A write's request waits here until the shared request is full (by count or bytes), every writer that could add
// to it has (queued or already in flight), or a short linger has passed. Each write still learns the outcome of its
// own documents only: the delivery (bulk items settled into the write they came from, retries, onWaiting) is the
// sink's, called with the writes a request carries.
import type { WriteOptions } from "../model";
import { BulkRequest } from "./bulkRequest";
import type { Delivery } from "./httpBulk";

/** One write's part of a shared request, as the delivery sees it. */
export interface SharedWrite {
  /** Where the outcomes of the write's documents are counted. */
  readonly delivery: Delivery;
  readonly options?: WriteOptions;
  /** Every document of the write is settled (`error` undefined), or the write failed: called once. */
  done(error?: Error): void;
}

export interface CoalescerSettings {
  maxDocuments: number;
  maxBytes: number;
  /** How long a request waits for others to join it; 0 sends each write's request at once (no sharing). */
  lingerMs: number;
  /**
   * Writers that may write at once: when all have joined, waiting is over. A number, or asked at each write (the
   * collector's jobs under way, which vary with their size: service/jobBudget.ts).
   */
  writers: number | (() => number);
}

export function newDelivery(): Delivery {
  return { created: 0, duplicates: 0, retries: 0, refused: [] };
}

/** Delivers one request carrying `writes` (document origin k is writes[k]); settles every write, never rejects. */
export type DeliverShared = (request: BulkRequest, writes: SharedWrite[]) => Promise<void>;

export class BulkCoalescer {
  private queue: Array<{ request: BulkRequest; write: SharedWrite }> = [];
  private documents = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Writes sent and not yet settled: they will add nothing before they are. */
  private inFlight = 0;

  constructor(private readonly settings: CoalescerSettings, private readonly deliver: DeliverShared) {}

  /**
   * Resolves with the outcome of `request`'s documents alone, once each is settled; rejects if they could not be.
   * `delivery` counts them as they settle: after a rejection, what the destination took before it.
   */
  write(request: BulkRequest, options?: WriteOptions, delivery: Delivery = newDelivery()): Promise<Delivery> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const write: SharedWrite = {
        delivery, options,
        done: (error) => {
          if (settled) return;
          settled = true;
          this.inFlight--;
          if (error) reject(error);
          else resolve(delivery);
        },
      };
      const { maxDocuments, maxBytes, lingerMs } = this.settings;
      const writers = typeof this.settings.writers === "function" ? this.settings.writers() : this.settings.writers;
      if (this.queue.length && (this.documents + request.length > maxDocuments || this.bytes + request.body.length > maxBytes)) this.flush();
      this.queue.push({ request, write });
      this.documents += request.length;
      this.bytes += request.body.length;
      if (lingerMs === 0 || this.documents >= maxDocuments || this.bytes >= maxBytes || this.queue.length + this.inFlight >= writers) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), lingerMs);
    });
  }

  /** Sends what waits now (shutdown: no write is left waiting out the linger). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const queued = this.queue;
    if (!queued.length) return;
    this.queue = [];
    this.documents = 0;
    this.bytes = 0;
    this.inFlight += queued.length;
    const writes = queued.map((entry) => entry.write);
    let request: BulkRequest;
    try {
      const parts = queued.map((entry) => entry.request);
      request = BulkRequest.concat(parts);
      // Copied into the shared request: nothing reads the parts again (each write awaits only its delivery).
      for (const part of parts) if (part !== request) part.release();
    } catch (error) {
      for (const write of writes) write.done(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.deliver(request, writes).catch((error: unknown) => {
      for (const write of writes) write.done(error instanceof Error ? error : new Error(String(error)));
    });
  }
}
