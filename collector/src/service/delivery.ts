// Delivery of one read chunk: records to documents (parser), documents to the sink in batches of
// FLOWLOGS_BATCH_DOCUMENTS, what could not be parsed to the dead letters. A record longer than FLOWLOGS_RECORD_BYTES
// is streamed in two passes over its byte range. Resolves only when the sink acknowledged everything.
import type { DeadLetter, IdentifiedDocument, ParseResult, SourcePosition, WriteOptions } from "../model";
import { recordOutput } from "../format/parse";
import { RecordStreamError, RecordSkeleton, TupleStream, walkSkeleton, walkStreamedElement } from "../format/recordStream";
import { parseRecordBytes, type LargeRecord, type MalformedBlock, type ReadChunk } from "../source/blobReader";
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

/**
 * Documents and dead letters on their way to the sink, written in batches of batchDocuments. A sink that can encodes
 * each document as it is added (sinkBatch.ts), so what waits here is bulk bytes, not document strings.
 */
class Outbox {
  private documents: SinkBatch;
  private letters: DeadLetter[] = [];
  constructor(private readonly context: JobContext, private readonly position: SourcePosition, private readonly options: WriteOptions) {
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
    const result = await batch.send().catch((error: unknown) => { throw new SinkDeliveryError(error); });
    metrics.indexed += result.indexed;
    metrics.duplicates += result.duplicates;
    metrics.deadLettered += result.deadLettered;
    metrics.retries += result.retries;
    metrics.lastProgress = Date.now();
  }

  private async flushLetters(): Promise<void> {
    if (this.letters.length === 0) return;
    const letters = this.letters;
    this.letters = [];
    await this.context.sink.deadLetter(letters, this.options).catch((error: unknown) => { throw new SinkDeliveryError(error); });
  }
}

/**
 * Parse one chunk and deliver it; resolves only when the sink acknowledged every document. `options` go with every
 * write to the sink (the job learns from them when the sink waits out an outage).
 */
export async function deliver(chunk: ReadChunk, context: JobContext, options: WriteOptions = {}): Promise<void> {
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
 * A record longer than recordBytes: pass 1 reads its metadata (wherever it sits in key order) and validates it,
 * pass 2 streams its tuples to the sink in batches. Each pass downloads the record's range again.
 */
async function streamLargeRecord(large: LargeRecord, out: Outbox, context: JobContext, position: SourcePosition): Promise<void> {
  const windows = async (consume: (bytes: Buffer) => Promise<void> | void) => {
    for (let from = large.start; from < large.end; from += context.windowBytes) {
      await consume(await large.read(from, Math.min(large.end, from + context.windowBytes)));
    }
  };
  const skeleton = new RecordSkeleton(context.recordBytes);
  let parsed: ReturnType<RecordSkeleton["finish"]>;
  try {
    await windows((bytes) => skeleton.push(bytes));
    parsed = skeleton.finish();
  } catch (error) {
    if (!(error instanceof RecordStreamError)) throw error;
    context.metrics.malformedBlocks++;
    const head = await large.read(large.start, Math.min(large.end, large.start + 2_000));
    await out.letter({ position, reason: `record ${large.index}: ${error.message} (${large.end - large.start} bytes at offset ${large.start})`, raw: head.toString("utf8") });
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
  await windows(async (bytes) => {
    tuples.push(bytes);
    for (const element of tuples.take()) {
      walkStreamedElement(parsed.lists, element.ordinal, element.index, element.value, output.sink);
      if (output.documents.length + output.rejects.length >= context.batchDocuments) await drain();
    }
  });
  await drain();
}
