// Delivery of one read chunk: records to documents (parser), documents to the sink in batches of
// FLOWLOGS_BATCH_DOCUMENTS, what could not be parsed to the dead letters. A record longer than FLOWLOGS_RECORD_BYTES
// is streamed in two passes: pass 1 sees its bytes as the reader scans them (LongRecordPass1), pass 2 downloads its
// range again. Resolves only when the sink acknowledged everything.
import type { DeadLetter, IdentifiedDocument, ParseResult, SinkResult, SourcePosition, WriteOptions } from "../model";
import { recordOutput } from "../format/parse";
import { RecordStreamError, RecordSkeleton, TupleStream, walkSkeleton, walkStreamedElement } from "../format/recordStream";
import { parseRecordBytes, type LargeRecord, type LongRecordObserver, type MalformedBlock, type ReadChunk } from "../source/blobReader";
import { sinkBatch, type SinkBatch } from "../sink/sinkBatch";
import type { JobContext } from "./blobJob";

/**
 * The sink could not take a batch (after its own retries): the destination's trouble, not the data's, so the job
 * gives the try back instead of counting it towards FLOWLOGS_MAX_ATTEMPTS.
 */
export class SinkDeliveryError extends Error {
  constructor(readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = cause instanceof Error ? cause.name : "SinkDeliveryError";
  }
}

/** What goes with every write to the sink, and what the job does once the sink took one. */
export interface DeliveryOptions extends WriteOptions {
  /** Awaited after each write the sink acknowledged, before the next record is parsed. */
  afterWrite?: () => Promise<void>;
}

/**
 * Documents and dead letters on their way to the sink, written in batches of batchDocuments. A sink that can encodes
 * each document as it is added (sinkBatch.ts), so what waits here is bulk bytes, not document strings.
 */
class Outbox {
  private documents: SinkBatch;
  private letters: DeadLetter[] = [];
  constructor(private readonly context: JobContext, private readonly position: SourcePosition, private readonly options: DeliveryOptions) {
    this.documents = sinkBatch(context.sink, position, options);
  }

  async letter(letter: DeadLetter): Promise<void> {
    this.letters.push(letter);
    if (this.letters.length >= this.context.batchDocuments) await this.flushLetters();
  }

  async rejects(recordRejects: ParseResult["rejects"]): Promise<void> {
    const { metrics } = this.context;
    metrics.rejects += recordRejects.length;
    for (const reject of recordRejects) {
      await this.letter({
        position: this.position,
        reason: `record ${reject.record}${reject.tuple === undefined ? "" : ` tuple ${reject.tuple}`}: ${reject.reason}`,
        raw: reject.raw ?? "",
      });
    }
  }

  async documentsOf(documents: IdentifiedDocument[]): Promise<void> {
    this.context.metrics.tuples += documents.length;
    // No promise per document: awaits only where a batch is full and goes to the sink.
    for (const document of documents) {
      this.documents.add(document);
      if (this.documents.length >= this.context.batchDocuments) await this.flushDocuments();
    }
  }

  async flush(): Promise<void> {
    await this.flushDocuments();
    await this.flushLetters();
  }

  private async flushDocuments(): Promise<void> {
    if (this.documents.length === 0) return;
    const { metrics, sink } = this.context;
    const batch = this.documents;
    this.documents = sinkBatch(sink, this.position, this.options);
    const result = await batch.send().catch((error: unknown) => {
      // What the sink wrote before it failed is in the destination: counted now, and a duplicate when read again.
      const settled = batch.settled?.();
      if (settled) count(metrics, settled);
      throw new SinkDeliveryError(error);
    });
    count(metrics, result);
    metrics.lastProgress = Date.now();
    await this.options.afterWrite?.();
  }

  private async flushLetters(): Promise<void> {
    if (this.letters.length === 0) return;
    const letters = this.letters;
    this.letters = [];
    await this.context.sink.deadLetter(letters, this.options).catch((error: unknown) => { throw new SinkDeliveryError(error); });
    // Progress as much as documents are: a backfill of rejected records is moving, not stalled (/healthz).
    this.context.metrics.lastProgress = Date.now();
    await this.options.afterWrite?.();
  }
}

function count(metrics: JobContext["metrics"], result: SinkResult): void {
  metrics.indexed += result.indexed;
  metrics.duplicates += result.duplicates;
  metrics.deadLettered += result.deadLettered;
  metrics.retries += result.retries;
}

/**
 * Pass 1 of a long record (its skeleton: metadata, JSON validity, tuple counts), fed by the reader's scan as the
 * record's bytes pass, so its range is downloaded once more only (pass 2). Keeps what RecordSkeleton keeps (bounded by
 * FLOWLOGS_RECORD_BYTES); the excerpt of a dead letter is the scanner's (LargeRecord.head). A record that cannot be
 * streamed is only known when delivered: the scan goes on measuring it, and the first problem is kept.
 */
export class LongRecordPass1 implements LongRecordObserver {
  private readonly skeleton: RecordSkeleton;
  private problem: RecordStreamError | undefined;

  constructor(limit: number) {
    this.skeleton = new RecordSkeleton(limit);
  }

  push(bytes: Buffer): void {
    if (this.problem) return;
    try {
      this.skeleton.push(bytes);
    } catch (error) {
      if (!(error instanceof RecordStreamError)) throw error;
      this.problem = error;
    }
  }

  /** The parsed skeleton; throws RecordStreamError when the record cannot be streamed. */
  finish(): ReturnType<RecordSkeleton["finish"]> {
    if (this.problem) throw this.problem;
    return this.skeleton.finish();
  }
}

/**
 * Parse one chunk and deliver it; resolves only when the sink acknowledged every document. `options` go with every
 * write to the sink (the job learns from them when the sink waits out an outage).
 */
export async function deliver(chunk: ReadChunk<LongRecordPass1>, context: JobContext, options: DeliveryOptions = {}): Promise<void> {
  const { metrics } = context;
  const position: SourcePosition = { container: chunk.blob.container, blob: chunk.blob.name, offset: chunk.start };
  const out = new Outbox(context, position, options);
  const setAside = (block: MalformedBlock): Promise<void> => {
    metrics.malformedBlocks++;
    return out.letter({
      position: { ...position, offset: block.offset },
      reason: `${block.reason} (${block.length} bytes at offset ${block.offset})`,
      raw: block.raw,
    });
  };
  for (const block of chunk.malformed) await setAside(block);
  // Record by record, JSON-parsed only now, and a record's documents in batches: only one record's parsed value is
  // alive at a time (it dies young instead of being promoted), and memory is bounded by the record size setting.
  for (let i = 0; i < chunk.records.length; i++) {
    const record = parseRecordBytes(chunk.records[i]!);
    if (record.malformed) {
      await setAside(record.malformed);
      continue;
    }
    const parsed = context.parse([record.value], chunk.firstRecord + i, context.enrichment);
    await out.rejects(parsed.rejects);
    await out.documentsOf(parsed.documents);
  }
  if (chunk.large) await streamLargeRecord(chunk.large, out, context, { ...position, offset: chunk.large.start });
  await out.flush();
}

/**
 * A record longer than recordBytes: pass 1 (read during the scan) gave its metadata, wherever it sits in key order,
 * and validated it; pass 2 downloads its range again and streams its tuples to the sink in batches.
 */
async function streamLargeRecord(
  large: LargeRecord<LongRecordPass1>, out: Outbox, context: JobContext, position: SourcePosition,
): Promise<void> {
  const pass1 = large.observer;
  if (!pass1) throw new Error(`record ${large.index} at offset ${large.start}: the reader was not given observeLongRecord`);
  let parsed: ReturnType<RecordSkeleton["finish"]>;
  try {
    parsed = pass1.finish();
  } catch (error) {
    if (!(error instanceof RecordStreamError)) throw error;
    context.metrics.malformedBlocks++;
    await out.letter({ position, reason: `record ${large.index}: ${error.message} (${large.end - large.start} bytes at offset ${large.start})`, raw: large.head.toString("utf8") });
    return;
  }
  const output = recordOutput(large.index, [], [], context.enrichment);
  walkSkeleton(parsed.record, output.sink);
  const drain = async () => {
    const { documents, rejects } = output;
    await out.rejects(rejects.splice(0));
    await out.documentsOf(documents.splice(0));
  };
  await drain();
  const tuples = new TupleStream(context.recordBytes);
  for (let from = large.start; from < large.end; from += large.readBytes) {
    // Let go before the next download: a job holds one of these at a time (LargeRecord.readBytes).
    let window: Buffer | undefined = await large.read(from, Math.min(large.end, from + large.readBytes));
    // In pieces: a window of tiny elements (`0,0,0,…`, 2 bytes each) taken at once was 2 million parsed elements on
    // the heap before the first batch drained.
    for (let at = 0; at < window.length; at += PASS2_PIECE_BYTES) {
      tuples.push(window.subarray(at, at + PASS2_PIECE_BYTES));
      for (const element of tuples.take()) {
        walkStreamedElement(parsed.lists, element.ordinal, element.index, element.value, output.sink);
        if (output.documents.length + output.rejects.length >= context.batchDocuments) await drain();
      }
    }
    window = undefined;
  }
  await drain();
}

/** Bytes of a long record's window tokenized at a time in pass 2: at most about 32,000 elements between drains. */
const PASS2_PIECE_BYTES = 64 * 1024;
