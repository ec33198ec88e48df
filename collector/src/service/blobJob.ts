// One job: one source blob, under its lease. Reads the new windows, turns records into documents (parser), hands
// them to the sink in bounded batches, sets aside what could not be parsed, and only then advances the checkpoint.
import type { ContainerClient } from "@azure/storage-blob";
import type { CheckpointStore } from "../checkpoint/store";
import { checkpointNameProblem, type BlobCheckpoint } from "../checkpoint/state";
import type { DeadLetter, IdentifiedDocument, ParseResult, Sink, SourcePosition } from "../model";
import { readNewData, type BlobRef, type ReadChunk } from "../source/blobReader";
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
  batchDocuments: number;
  doneGraceMinutes: number;
  now: () => number;
  /** Shutdown: stop after the current window (its checkpoint is saved). */
  signal?: AbortSignal;
}

export type JobOutcome =
  | { kind: "read" | "unchanged"; checkpoint: BlobCheckpoint }
  | { kind: "busy" | "gone" | "changed" | "failed" | "dead" };

export async function runBlobJob(ref: BlobRef, context: JobContext): Promise<JobOutcome> {
  try {
    const unreadable = checkpointNameProblem(ref.container, ref.name);
    if (unreadable) return await deadBlob(ref, unreadable, context);
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
  try {
    if (held.checkpoint.etag !== undefined && held.checkpoint.etag === ref.etag) {
      metrics.blobsUnchanged++;
      return { kind: "unchanged", checkpoint: held.checkpoint };
    }
    log("info", "blob.read.start", { ...where, offset: held.checkpoint.offset });
    const before = { bytes: metrics.bytesRead, tuples: metrics.tuples };
    const result = await readNewData(context.container, ref, held.checkpoint, {
      windowBytes: context.windowBytes,
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
    if (!result.caughtUp) return { kind: "changed" };
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
      metrics.retries++;
      log("info", "blob.changed", { ...where, reason: "changed while being read; read again next time" });
      return { kind: "changed" };
    }
    metrics.blobsFailed++;
    metrics.errors++;
    log("error", "blob.failed", { ...where, error: describeError(error) });
    return { kind: "failed" };
  } finally {
    if (!forgotten) await held.release();
    log("debug", "blob.lease.released", where);
  }
}

/** A blob that can never be read: set aside once with the reason (the caller stops planning it), not retried. */
async function deadBlob(ref: BlobRef, problem: string, context: JobContext): Promise<JobOutcome> {
  const reason = `blob not read: ${problem}`;
  await context.sink.deadLetter([{ position: { container: ref.container, blob: ref.name }, reason, raw: ref.name }]);
  context.metrics.blobsDead++;
  context.log("warn", "blob.dead", { container: ref.container, blob: ref.name, reason });
  return { kind: "dead" };
}

/** Parse one window and deliver it; resolves only when the sink acknowledged every document. */
async function deliver(chunk: ReadChunk, context: JobContext): Promise<void> {
  const { metrics, sink } = context;
  const position: SourcePosition = { container: chunk.blob.container, blob: chunk.blob.name, offset: chunk.start };
  const letters: DeadLetter[] = chunk.malformed.map((block) => ({
    position: { container: chunk.blob.container, blob: chunk.blob.name, offset: block.offset },
    reason: `${block.reason} (block of ${block.length} bytes at offset ${block.offset})`,
    raw: block.raw,
  }));
  metrics.malformedBlocks += chunk.malformed.length;
  let batch: IdentifiedDocument[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const result = await sink.write(batch, position);
    metrics.indexed += result.indexed;
    metrics.duplicates += result.duplicates;
    metrics.deadLettered += result.deadLettered;
    metrics.retries += result.retries;
    metrics.lastProgress = Date.now();
    batch = [];
  };
  // Parse record by record so a window's documents never all sit in memory at once.
  for (let i = 0; i < chunk.records.length; i++) {
    const parsed = context.parse([chunk.records[i]], chunk.firstRecord + i);
    metrics.tuples += parsed.documents.length;
    metrics.rejects += parsed.rejects.length;
    for (const reject of parsed.rejects) {
      letters.push({
        position,
        reason: `record ${reject.record}${reject.tuple === undefined ? "" : ` tuple ${reject.tuple}`}: ${reject.reason}`,
        raw: reject.raw ?? "",
      });
    }
    for (const document of parsed.documents) batch.push(document);
    if (batch.length >= context.batchDocuments) await flush();
  }
  await flush();
  if (letters.length) await sink.deadLetter(letters);
}

/** The blob's hour ended more than the grace period ago: Azure will not normally append any more. */
function isOver(name: string, context: JobContext): boolean {
  const hour = blobHour(name);
  return hour !== undefined && context.now() > hour.getTime() + 3_600_000 + context.doneGraceMinutes * 60_000;
}
