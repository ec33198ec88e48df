// One job: one source blob, under its lease. Reads the new windows, turns records into documents (parser), hands
// them to the sink in bounded batches, sets aside what could not be parsed, and only then advances the checkpoint.
import type { ContainerClient } from "@azure/storage-blob";
import type { CheckpointStore } from "../checkpoint/store";
import type { BlobCheckpoint } from "../checkpoint/state";
import type { DeadLetter, IdentifiedDocument, ParseResult, Sink, SourcePosition } from "../model";
import { RecordStreamError, RecordSkeleton, TupleStream, recordOutput, walkSkeleton, walkStreamedElement } from "../format/recordStream";
import { readNewData, type BlobRef, type LargeRecord, type ReadChunk } from "../source/blobReader";
import { BlobChangedError, BlobGoneError } from "../source/download";
import { blobHour } from "../source/listing";
import { describeError, type Logger } from "./logger";
import type { Metrics } from "./metrics";

export type ParseRecords = (records: readonly unknown[], firstRecordIndex?: number) => ParseResult;

export interface JobContext {
  container: ContainerClient;
  store: CheckpointStore;
  sink: Sink;
  parse: ParseRecords;
  metrics: Metrics;
  log: Logger;
  windowBytes: number;
  /** Records up to this size are parsed whole, longer ones streamed. */
  recordBytes: number;
  batchDocuments: number;
  /** Tries at one position before the record there is dead-lettered. */
  maxAttempts: number;
  doneGraceMinutes: number;
  now: () => number;
  /** Shutdown: stop after the current window (its checkpoint is saved). */
  signal?: AbortSignal;
}

export type JobOutcome =
  | { kind: "read" | "unchanged"; checkpoint: BlobCheckpoint }
  | { kind: "busy" | "gone" | "changed" | "failed" };

export async function runBlobJob(ref: BlobRef, context: JobContext): Promise<JobOutcome> {
  try {
    return await leasedJob(ref, context);
  } catch (error) {
    // Checkpoint store unreachable (peek, lease): the blob is tried again on the next poll.
    context.metrics.blobsFailed++;
    context.metrics.errors++;
    context.log("error", "blob.failed", { container: ref.container, blob: ref.name, error: describeError(error) });
    return { kind: "failed" };
  }
}

async function leasedJob(ref: BlobRef, context: JobContext): Promise<JobOutcome> {
  const { metrics, log } = context;
  const where = { container: ref.container, blob: ref.name };
  // Cheap check first (one read, no lease): after a restart most blobs are already caught up.
  const stored = ref.etag ? await context.store.peek(ref.container, ref.name).catch(() => undefined) : undefined;
  if (stored?.etag !== undefined && stored.etag === ref.etag) {
    metrics.blobsUnchanged++;
    return { kind: "unchanged", checkpoint: stored };
  }
  const held = await context.store.tryAcquire(ref.container, ref.name);
  if (!held) {
    metrics.blobsBusy++;
    return { kind: "busy" };
  }
  let forgotten = false;
  let giveBack = async (): Promise<void> => undefined;
  try {
    if (held.checkpoint.etag !== undefined && held.checkpoint.etag === ref.etag) {
      metrics.blobsUnchanged++;
      return { kind: "unchanged", checkpoint: held.checkpoint };
    }
    // Count this try before any risky work, so a crash (out of memory, a kill) is counted too; past the limit the
    // record at the checkpoint is dead-lettered instead of tried again, and the blobs behind it get their turn.
    const previous = held.checkpoint.attempt;
    const tries = previous?.offset === held.checkpoint.offset ? previous.count + 1 : 1;
    let skipFirst: string | undefined;
    if (tries > context.maxAttempts) {
      skipFirst = `not processed after ${previous!.count} tries at offset ${held.checkpoint.offset}` +
        `${previous?.error ? ` (last error: ${previous.error})` : " (the process stopped while on it)"}; set aside so the rest of the blob is read`;
      log("error", "blob.skip", { ...where, offset: held.checkpoint.offset, tries: previous!.count });
    } else if (tries > 1) {
      await held.save({ ...held.checkpoint, attempt: { offset: held.checkpoint.offset, count: tries, error: previous?.error } });
    } else {
      await held.save({ ...held.checkpoint, attempt: { offset: held.checkpoint.offset, count: 1 } });
    }
    // Outcomes that say nothing about the data (changed mid-read, shutdown, lease lost) give the try back.
    giveBack = async () => {
      const attempt = held.checkpoint.attempt;
      if (attempt?.offset !== held.checkpoint.offset || attempt.count !== tries || held.lost.aborted) return;
      await held.save({ ...held.checkpoint, attempt: previous?.offset === attempt.offset ? previous : undefined }).catch(() => undefined);
    };
    log("info", "blob.read.start", { ...where, offset: held.checkpoint.offset, ...(tries > 1 ? { try: tries } : {}) });
    const before = { bytes: metrics.bytesRead, tuples: metrics.tuples };
    const result = await readNewData(context.container, ref, held.checkpoint, {
      windowBytes: context.windowBytes,
      recordBytes: context.recordBytes,
      skipFirst,
      signal: context.signal ? AbortSignal.any([held.lost, context.signal]) : held.lost,
      onDownload: (bytes) => { metrics.bytesRead += bytes; },
      onRestart: (reason) => {
        metrics.restarts++;
        log("warn", "blob.restart", { ...where, reason });
      },
    }, (chunk) => deliver(chunk, context), (checkpoint) => held.save(checkpoint));
    let checkpoint = result.checkpoint;
    if (result.caughtUp && !checkpoint.done && isOver(ref.name, context)) {
      checkpoint = { ...checkpoint, done: true };
      await held.save(checkpoint);
      metrics.blobsDone++;
    }
    metrics.blobsRead++;
    log("info", "blob.read.end", {
      ...where, offset: checkpoint.offset, caughtUp: result.caughtUp, done: checkpoint.done ?? false,
      bytes: metrics.bytesRead - before.bytes, tuples: metrics.tuples - before.tuples,
    });
    if (!result.caughtUp) {
      await giveBack();
      return { kind: "changed" };
    }
    return { kind: "read", checkpoint };
  } catch (error) {
    if (error instanceof BlobGoneError) {
      metrics.blobsGone++;
      log("warn", "blob.gone", { ...where, reason: "deleted while being read; its checkpoint is forgotten" });
      await held.forget().catch((e) => log("warn", "checkpoint.forget.failed", { ...where, error: describeError(e) }));
      forgotten = true;
      return { kind: "gone" };
    }
    if (error instanceof BlobChangedError) {
      await giveBack();
      metrics.retries++;
      log("info", "blob.changed", { ...where, reason: "changed while being read; read again next time" });
      return { kind: "changed" };
    }
    metrics.blobsFailed++;
    metrics.errors++;
    log("error", "blob.failed", { ...where, error: describeError(error) });
    // Keep the reason with the try count, for the dead letter if the tries run out.
    const attempt = held.checkpoint.attempt;
    if (attempt?.offset === held.checkpoint.offset && !held.lost.aborted) {
      await held.save({ ...held.checkpoint, attempt: { ...attempt, error: describeError(error).slice(0, 500) } }).catch(() => undefined);
    }
    return { kind: "failed" };
  } finally {
    if (!forgotten) await held.release();
    log("debug", "blob.lease.released", where);
  }
}

/** Documents and dead letters on their way to the sink, written in batches of batchDocuments. */
class Outbox {
  private documents: IdentifiedDocument[] = [];
  private letters: DeadLetter[] = [];
  constructor(private readonly context: JobContext, private readonly position: SourcePosition) {}

  async document(document: IdentifiedDocument): Promise<void> {
    this.documents.push(document);
    if (this.documents.length >= this.context.batchDocuments) await this.flushDocuments();
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
    for (const document of documents) await this.document(document);
  }

  async flush(): Promise<void> {
    await this.flushDocuments();
    await this.flushLetters();
  }

  private async flushDocuments(): Promise<void> {
    if (this.documents.length === 0) return;
    const { metrics, sink } = this.context;
    const batch = this.documents;
    this.documents = [];
    const result = await sink.write(batch, this.position);
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
    await this.context.sink.deadLetter(letters);
  }
}

/** Parse one chunk and deliver it; resolves only when the sink acknowledged every document. */
async function deliver(chunk: ReadChunk, context: JobContext): Promise<void> {
  const { metrics } = context;
  const position: SourcePosition = { container: chunk.blob.container, blob: chunk.blob.name, offset: chunk.start };
  const out = new Outbox(context, position);
  for (const block of chunk.malformed) {
    metrics.malformedBlocks++;
    await out.letter({
      position: { ...position, offset: block.offset },
      reason: `${block.reason} (${block.length} bytes at offset ${block.offset})`,
      raw: block.raw,
    });
  }
  // Record by record, and a record's documents in batches: memory is bounded by the record size setting.
  for (let i = 0; i < chunk.records.length; i++) {
    const parsed = context.parse([chunk.records[i]], chunk.firstRecord + i);
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
  const output = recordOutput(large.index);
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

/** The blob's hour ended more than the grace period ago: Azure will not normally append any more. */
function isOver(name: string, context: JobContext): boolean {
  const hour = blobHour(name);
  return hour !== undefined && context.now() > hour.getTime() + 3_600_000 + context.doneGraceMinutes * 60_000;
}
