// One job: one source blob, under its lease. Reads the new windows, turns records into documents (parser), hands
// them to the sink in bounded batches, sets aside what could not be parsed, and only then advances the checkpoint.
import type { ContainerClient } from "@azure/storage-blob";
import type { CheckpointStore, LeasedCheckpoint } from "../checkpoint/store";
import { checkpointNameProblem, type BlobCheckpoint } from "../checkpoint/state";
import type { FlowEnrichment, ParseResult, Sink } from "../model";
import { readNewData, type BlobRef } from "../source/blobReader";
import { BlobChangedError, BlobGoneError, BlobRefusedError } from "../source/download";
import { StorageFailure } from "../storageFailure";
import { blobHour } from "../source/listing";
import { LongRecordPass1, SinkDeliveryError, deliver, type DeliveryOptions } from "./delivery";
import { jobSignal } from "./jobSignal";
import { describeError, type Logger } from "./logger";
import type { Metrics } from "./metrics";

/**
 * The longest a job spends giving its try back: at a stop (the container's kill grace is short), or with storage
 * unreachable (the try then stays counted, as after a kill).
 */
export const GIVE_BACK_MS = 5_000;

export type ParseRecords = (records: readonly unknown[], firstRecordIndex?: number, enrichment?: FlowEnrichment) => ParseResult;

export interface JobContext {
  container: ContainerClient;
  store: CheckpointStore;
  sink: Sink;
  parse: ParseRecords;
  /** What documents are enriched with: geo/AS of public endpoints, the threat list (whose content may change
   * between polls). Handed to `parse` and to the streamed path of long records. */
  enrichment?: FlowEnrichment;
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
  /**
   * Shutdown: ends the job's storage requests under way (lease, checkpoint, block list, download), or stops it after
   * the window the sink is taking; the job gives its try back and releases its lease.
   */
  signal?: AbortSignal;
  /**
   * Awaited with the job's real new data once its block list is read, before its first download: the scheduler
   * grows the job's memory reservation to match (service/jobBudget.ts).
   */
  reserveFor?: (newBytes: number) => Promise<void>;
  /** A finished job keeps its lease for the blob's next job instead of releasing it (LeasedCheckpoint.keep). */
  keepLeases?: boolean;
  /**
   * Whether a failure may be waited out (a 403 while role assignments are not yet effective: the scheduler's
   * authorization grace, which announces it once). An excused failure is logged at debug level and not counted.
   */
  excuseFailure?: (error: unknown, what: string) => boolean;
}

export type JobOutcome =
  | { kind: "read" | "unchanged"; checkpoint: BlobCheckpoint; /** An append came during the read: more to read. */ followed?: true }
  | { kind: "busy" | "gone" | "changed" | "dead" }
  /** Cut short by the shutdown signal: not a failure, the blob is read by the next start. */
  | { kind: "stopped" }
  /** `sinkUnavailable`: the sink could not take a batch after its own retries; the data and storage are fine. */
  | { kind: "failed"; sinkUnavailable?: boolean; excused?: boolean; error: string };

export async function runBlobJob(ref: BlobRef, context: JobContext): Promise<JobOutcome> {
  try {
    const unreadable = checkpointNameProblem(ref.container, ref.name);
    if (unreadable) return await deadBlob(ref, unreadable, context);
    return await leasedJob(ref, context);
  } catch (error) {
    if (context.signal?.aborted) return { kind: "stopped" };
    // Checkpoint store unreachable (peek, lease): the blob is tried again on the next poll.
    return failed(ref, error, context);
  }
}

async function leasedJob(ref: BlobRef, context: JobContext): Promise<JobOutcome> {
  const { metrics, log } = context;
  const where = { container: ref.container, blob: ref.name };
  const held = await acquire(ref, context);
  if (held === "busy") {
    metrics.blobsBusy++;
    return { kind: "busy" };
  }
  if (!("leaseId" in held)) {
    metrics.blobsUnchanged++;
    return { kind: "unchanged", checkpoint: held.unchanged };
  }
  let forgotten = false;
  // Every storage request of the job ends at the stop or when the lease is lost; the give-back and the release do not.
  const linked = jobSignal([held.lost, context.signal]);
  const { signal } = linked;
  // Count this try before any risky work, so a crash (out of memory, a kill) is counted too; past the limit the
  // record at the checkpoint is dead-lettered instead of tried again, and the blobs behind it get their turn.
  const offset = held.checkpoint.offset;
  const previous = held.checkpoint.attempt;
  const tries = previous?.offset === offset ? previous.count + 1 : 1;
  // A first try on a checkpoint this process wrote itself is not written ahead (one Azure request per tailing job):
  // no crash can hide behind it, and if this one crashes, the next process counts its own tries from the start, so
  // a record that kills every process is set aside after at most FLOWLOGS_MAX_ATTEMPTS + 1 crashes. A failure in the
  // process still counts it (below).
  const countAhead = tries > 1 || !held.remembered;
  // Outcomes that say nothing about the data (changed mid-read, shutdown, lease lost, storage failures) give the try
  // back; defined before the count-ahead write, whose own failure gives back nothing it did not write.
  // A lost lease is taken back first: Azure grants it only while no other replica has leased or written the
  // checkpoint since (then it is this job's to write); one that did owns the checkpoint, and its try count with it.
  // Resolves true when the try was given back.
  let countInDoubt = false;
  const giveBack = async (): Promise<boolean> => {
    // Made only when there is something to write: its timer lives GIVE_BACK_MS, and every caught-up job gets here.
    let deadline: AbortSignal | undefined;
    if (countInDoubt) {
      // The count-ahead write was cut short (the stop) after Azure may have applied it: what it holds decides.
      deadline = AbortSignal.timeout(GIVE_BACK_MS);
      if (!(await held.reclaim(deadline))) return false;
      if (!(await held.reread(deadline).then(() => true, () => false))) return false;
    }
    const attempt = held.checkpoint.attempt;
    if (attempt?.offset !== held.checkpoint.offset || attempt.count !== tries) return false;
    deadline ??= AbortSignal.timeout(GIVE_BACK_MS);
    if (!(await held.reclaim(deadline))) return false;
    return held.save({ ...held.checkpoint, attempt: previous?.offset === attempt.offset ? previous : undefined }, deadline).then(() => true, () => false);
  };
  /** The stop, whenever it came (a request cut short, between windows, waiting for room to read): nothing about the data. */
  const stopped = async (): Promise<JobOutcome> => {
    await giveBack();
    log("info", "blob.stopped", { ...where, offset: held.checkpoint.offset });
    return { kind: "stopped" };
  };
  const counted = { offset, count: tries, ...(tries > 1 ? { error: previous?.error } : {}) };
  // Tries at the very start of a blob nothing was read of yet name the version they were counted on, so a re-created
  // blob's first record does not inherit them (the reader compares creation times; a later offset has it already).
  const version = offset === 0 && held.checkpoint.createdOn === undefined && ref.createdOn ? { createdOn: ref.createdOn.toISOString() } : {};
  try {
    if (held.checkpoint.etag !== undefined && held.checkpoint.etag === ref.etag) {
      metrics.blobsUnchanged++;
      return { kind: "unchanged", checkpoint: held.checkpoint };
    }
    let skipFirst: string | undefined;
    if (tries > context.maxAttempts) {
      skipFirst = `not processed after ${previous!.count} tries at offset ${offset}` +
        `${previous?.error ? ` (last error: ${previous.error})` : " (the process stopped while on it)"}; set aside so the rest of the blob is read`;
      log("error", "blob.skip", { ...where, offset, tries: previous!.count });
    } else if (countAhead) {
      countInDoubt = true;
      await held.save({ ...held.checkpoint, ...version, attempt: counted }, signal);
      countInDoubt = false;
    }
    // The sink waiting out a transient failure (Elasticsearch down, throttling) says the records so far parsed fine:
    // the try is given back before the wait, so restarts during an outage (a deploy, a node drain) do not use the
    // tries up, and counted again once the sink took the write it waited on, before the next record is parsed: a
    // record that crashes the process after a wait is counted, or under sustained throttling it would crash-loop
    // uncounted for ever. Two checkpoint writes per wait that ends, only while the sink waits.
    // Each wait is also a sign of life for /healthz: the loop runs, and a restart cannot end the sink's outage (jobs
    // of a poll can wait the sink's whole retry budget each, longer than three poll intervals in all).
    let givenBackForWait = false;
    const sinkOptions: DeliveryOptions = {
      // The stop and a lost lease end the sink's waits and its request in flight too, as they end storage requests:
      // nothing unacknowledged moves the checkpoint, and what the cluster took meanwhile comes back as duplicates.
      signal,
      onWaiting: async () => {
        metrics.lastProgress = Date.now();
        if (await giveBack()) givenBackForWait = true;
      },
      afterWrite: async () => {
        if (!givenBackForWait) return;
        givenBackForWait = false;
        if (held.checkpoint.offset === offset) await held.save({ ...held.checkpoint, attempt: counted }, signal);
      },
    };
    log("info", "blob.read.start", { ...where, offset: held.checkpoint.offset, ...(tries > 1 ? { try: tries } : {}) });
    const before = { bytes: metrics.bytesRead, tuples: metrics.tuples };
    const wasDone = held.checkpoint.done === true;
    const result = await readNewData(context.container, ref, held.checkpoint, {
      windowBytes: context.windowBytes,
      recordBytes: context.recordBytes,
      // Pass 1 of a long record rides on the scan: its range is downloaded once more (pass 2), not twice.
      observeLongRecord: () => new LongRecordPass1(context.recordBytes),
      skipFirst,
      recordByRecord: tries > 1,
      doneWhenCaughtUp: isOver(ref.name, context),
      signal,
      beforeDownloads: context.reserveFor,
      onDownload: (bytes) => { metrics.bytesRead += bytes; },
      onRestart: (reason) => {
        metrics.restarts++;
        log("warn", "blob.restart", { ...where, reason });
      },
    }, (chunk) => deliver(chunk, context, sinkOptions), (checkpoint) => held.save(checkpoint, signal));
    // Nothing to read (the blob's ETag is the checkpoint's: another replica, or an earlier job, caught it up after the
    // listing this job came from): the try counted for it says nothing about the data, and left counted it would add
    // up to the tries that set the next good record aside.
    if (result.unchanged) await giveBack();
    if (!result.caughtUp && context.signal?.aborted) return await stopped();
    let checkpoint = result.unchanged ? held.checkpoint : result.checkpoint;
    // Caught up with nothing new to write (the ETag matched), or the hour ended during the read: marked done here.
    if (result.caughtUp && !result.followed && !result.held && !checkpoint.done && isOver(ref.name, context)) {
      checkpoint = { ...checkpoint, done: true };
      await held.save(checkpoint, signal);
    }
    if (checkpoint.done && !wasDone) metrics.blobsDone++;
    metrics.blobsRead++;
    log("info", "blob.read.end", {
      ...where, offset: checkpoint.offset, caughtUp: result.caughtUp, done: checkpoint.done ?? false,
      bytes: metrics.bytesRead - before.bytes, tuples: metrics.tuples - before.tuples,
    });
    if (!result.caughtUp) {
      await giveBack();
      return { kind: "changed" };
    }
    return { kind: "read", checkpoint, ...(result.followed ? { followed: true as const } : {}) };
  } catch (error) {
    if (context.signal?.aborted) return await stopped();
    if (error instanceof BlobGoneError) {
      metrics.blobsGone++;
      log("warn", "blob.gone", { ...where, reason: "deleted while being read; its checkpoint is forgotten" });
      await held.forget(signal).catch((e) => log("warn", "checkpoint.forget.failed", { ...where, error: describeError(e) }));
      forgotten = true;
      return { kind: "gone" };
    }
    if (error instanceof BlobRefusedError) {
      // Tried every poll it would hold a backlog place for ever, and fail every poll (/healthz 503): set aside once.
      await giveBack();
      return await deadBlob(ref, error.message, context);
    }
    if (error instanceof BlobChangedError) {
      await giveBack();
      metrics.retries++;
      log("info", "blob.changed", { ...where, reason: "changed while being read; read again next time" });
      return { kind: "changed" };
    }
    const outcome = failed(ref, error, context);
    if (held.lost.aborted) {
      // Whatever the job was doing when its lease was lost (a write refused, a request cut short): not the data.
      await giveBack();
      return outcome;
    }
    // A retry can save what the sink could not take, or what Azure Storage did not answer (source reads, checkpoint
    // writes: 503s, timeouts, a reset connection): those tries are given back, or a storage incident longer than the
    // tries would set good records aside. Other failures keep the reason with the try count, for the dead letter if the tries run out.
    if (error instanceof SinkDeliveryError) {
      await giveBack();
      return { ...outcome, sinkUnavailable: true };
    }
    if (error instanceof StorageFailure) {
      await giveBack();
      return outcome;
    }
    const attempt = held.checkpoint.attempt;
    const failedTry = attempt?.offset === offset ? attempt : countAhead || tries > context.maxAttempts ? undefined : { offset, count: tries };
    if (failedTry && held.checkpoint.offset === offset && !held.lost.aborted) {
      await held.save({ ...held.checkpoint, attempt: { ...failedTry, error: describeError(error).slice(0, 500) } }).catch(() => undefined);
    }
    return outcome;
  } finally {
    linked.dispose();
    if (forgotten) log("debug", "blob.lease.released", where);
    else if (context.keepLeases && !held.lost.aborted) {
      held.keep(); // a request fewer per tailing job (checkpoint/store.ts)
      log("debug", "blob.lease.kept", where);
    } else {
      await held.release();
      log("debug", "blob.lease.released", where);
    }
  }
}

/**
 * The blob's lease and checkpoint. A checkpoint this replica wrote last is taken on the word of its ETag (one
 * request: the tailing service's usual case); otherwise a cheap read first (no lease): after a restart, or when
 * another replica got there first, the blob is often caught up already.
 */
async function acquire(ref: BlobRef, context: JobContext): Promise<LeasedCheckpoint | "busy" | { unchanged: BlobCheckpoint }> {
  const { store, metrics } = context;
  const remembered = await store.tryAcquireRemembered(ref.container, ref.name, context.signal);
  if (remembered === "stale") metrics.checkpointLeases.stale++;
  else if (remembered !== undefined && remembered !== "busy") {
    metrics.checkpointLeases.remembered++;
    return remembered;
  }
  // A peek cut short by the stop is not "no checkpoint": the acquire below then ends at once too.
  const stored = ref.etag ? await store.peek(ref.container, ref.name, context.signal).catch(() => undefined) : undefined;
  if (stored?.etag !== undefined && stored.etag === ref.etag) return { unchanged: stored };
  // Held by another replica (reading it, or keeping its lease after reading it): the peek above may show it caught up.
  if (remembered === "busy") return "busy";
  const held = await store.tryAcquire(ref.container, ref.name, { exists: stored !== undefined, abortSignal: context.signal });
  if (!held) return "busy";
  metrics.checkpointLeases[held.created ? "created" : "read"]++;
  return held;
}

/** Reports a failed job: an error (counted), or at debug level when the failure may be waited out. */
function failed(ref: BlobRef, error: unknown, context: JobContext): JobOutcome & { kind: "failed" } {
  const description = describeError(error);
  const excused = context.excuseFailure?.(error, `blob ${ref.name}`) ?? false;
  if (!excused) {
    context.metrics.blobsFailed++;
    context.metrics.errors++;
  }
  context.log(excused ? "debug" : "error", "blob.failed", { container: ref.container, blob: ref.name, error: description });
  return { kind: "failed", excused, error: description };
}

/** A blob that can never be read: set aside once with the reason (the caller stops planning it), not retried. */
async function deadBlob(ref: BlobRef, problem: string, context: JobContext): Promise<JobOutcome> {
  const reason = `blob not read: ${problem}`;
  // The stop reaches this write as it does every other (a sink waiting out an outage would otherwise hold the stop).
  await context.sink.deadLetter([{ position: { container: ref.container, blob: ref.name }, reason, raw: ref.name }], { signal: context.signal });
  context.metrics.blobsDead++;
  context.metrics.lastProgress = Date.now();
  context.log("warn", "blob.dead", { container: ref.container, blob: ref.name, reason });
  return { kind: "dead" };
}

/** The blob's hour ended more than the grace period ago: Azure will not normally append any more. */
function isOver(name: string, context: JobContext): boolean {
  const hour = blobHour(name);
  return hour !== undefined && context.now() > hour.getTime() + 3_600_000 + context.doneGraceMinutes * 60_000;
}
