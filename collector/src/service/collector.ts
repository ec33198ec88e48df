// The poll loop (scheduler): list the flow-log containers, pick blobs whose ETag moved since this replica last
// caught up with them, run one job per blob (lease -> read -> parse -> sink -> checkpoint) with bounded
// concurrency, sleep, repeat. `once` does one pass (tests, demo, backfills).
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { CheckpointStore } from "../checkpoint/store";
import { parseRecords } from "../format";
import type { Sink } from "../model";
import type { BlobRef } from "../source/blobReader";
import { createBlobService } from "../source/storage";
import { withRequestDeadline } from "../source/requestDeadline";
import { AuthorizationGrace, isForbidden, isIdentityUnready } from "./authorizationGrace";
import { runBlobJob, type JobContext, type ParseRecords } from "./blobJob";
import type { AddressEnrichment } from "../ecs/enrichment";
import { GeoIpEnrichment } from "../enrich/geoIp";
import { describeConfig, openEnrichment, type CollectorConfig } from "./config";
import { startStatusServer, type StatusServer } from "./httpServer";
import { describeError, jsonLogger, type LogEvent, type Logger } from "./logger";
import { Metrics } from "./metrics";
import { ThreatListFile } from "./threatListFile";
import { createSink } from "./sinks";
import { forEachWithinBudget, jobReservation, reservationForNewBytes, SMALL_JOBS_PER_SLOT } from "./jobBudget";
import { blobsLeftOut, listChanged, listingScope, newPollState, type PollState } from "./pollListing";
import { blobKey, blobRefKey, ownCopy } from "../blobKey";
import { sleep } from "../sleep";
import { heapLimitBytes, rememberedBlobsWarning } from "./rememberedBlobs";

/** The longest wait before a retry, whatever FLOWLOGS_POLL_INTERVAL_SECONDS says (Azure's own cadence: a block a minute). */
const RETRY_SECONDS = 60;

export interface RunOptions {
  config: CollectorConfig;
  /** One pass, then return. */
  once?: boolean;
  /** Stops the loop (after the jobs in flight finish their current window). */
  signal?: AbortSignal;
  /** Defaults to the sink named by the config. */
  sink?: Sink;
  /**
   * Defaults to a client built from config.storage. Its pipeline, which the clients made from it share, gets the
   * request deadline of config.storageTimeoutMs (replacing one put there before).
   */
  blobService?: BlobServiceClient;
  /** Defaults to config.checkpointContainer in blobService (tests: a client holding other rights). Gets the deadline too. */
  checkpointContainer?: ContainerClient;
  parse?: ParseRecords;
  /** Geo/AS enrichment already opened (null: none); default: opened from config.geoip at start. */
  enrichment?: AddressEnrichment | null;
  /** Where log lines go (default: stderr, so stdout stays free for the stdout sink). */
  writeLog?: (line: string) => void;
  /** Sees every log event (tests). */
  onEvent?: (event: LogEvent) => void;
  /** Told the status endpoint's URL once it listens. */
  onListening?: (url: string) => void;
  now?: () => number;
  /** Waits between polls (tests step through polls with it). Default: a timer that the signal cuts short. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** While the last full listing saw fewer blobs than this, every poll lists in full. Default 5,000 (one page). */
  fullListingBelowBlobs?: number;
  /** The heap's limit the remembered blobs are held against (./rememberedBlobs.ts). Default: this process's. */
  heapLimitBytes?: number;
  /** Blobs of older hours a listing takes on at most (the rest wait for the next one). Default BACKLOG_BLOBS_PER_POLL (pollListing.ts). */
  backlogBlobsPerPoll?: number;
  /** Blobs per page of the full listing (tests: a few, to see where later polls go on). Default FULL_LISTING_PAGE_BLOBS. */
  fullListingPageBlobs?: number;
}

export interface RunSummary {
  polls: number;
  metrics: Metrics;
}

export async function runCollector(options: RunOptions): Promise<RunSummary> {
  const { config } = options;
  const addresses = options.enrichment === undefined ? openEnrichment(config.geoip) : options.enrichment ?? undefined;
  const logger = jsonLogger(options.writeLog ?? ((line) => process.stderr.write(line)), { replica: config.replicaId }, config.logLevel);
  if (options.onEvent) logger.events(options.onEvent);
  const log = logger.log;
  const metrics = new Metrics();
  // One pass (`--once`: tests, backfills) fails at once rather than waiting out a 403 nobody is watching.
  const grace = new AuthorizationGrace(Date.now(), options.once ? 0 : config.authorizationGraceMinutes, log);
  // Every storage request has a deadline per try: a peer that stops sending must not hold a job, and its poll, for ever.
  const service = withRequestDeadline(options.blobService ?? createBlobService(config.storage, config.storageTimeoutMs), config.storageTimeoutMs);
  const checkpointContainer = options.checkpointContainer ? withRequestDeadline(options.checkpointContainer, config.storageTimeoutMs) : undefined;
  const store = new CheckpointStore(checkpointContainer ?? service.getContainerClient(config.checkpointContainer), {
    leaseSeconds: config.leaseSeconds,
    replicaId: config.replicaId,
    onDamaged: (name, reason) => log("warn", "checkpoint.damaged", { checkpoint: name, reason, action: "reading the blob again from the start" }),
    onLeaseLost: (name, reason) => log("warn", "lease.lost", { checkpoint: name, reason }),
    onContainerRecreated: (container) => log("warn", "checkpoint.container.recreated", {
      container, reason: "the checkpoint container had disappeared (deleted, or the storage account recreated)",
      action: "created it again; progress stored in it is lost, so blobs are read again from the start and the document ids absorb the re-read",
    }),
  });
  log("info", "collector.start", { config: describeConfig(config), once: options.once ?? false });
  if (addresses instanceof GeoIpEnrichment) {
    const { databaseTypes: databases, skippedLines } = addresses;
    log(skippedLines.length ? "warn" : "info", "geoip.loaded", { databases, ...(skippedLines.length ? { skippedLines } : {}) });
  }
  const threats = config.threatList ? await ThreatListFile.open(config.threatList, log) : undefined;
  // Jobs under way (service/jobBudget.ts): a shared bulk request waits for as many writers, at most its linger.
  const underway = { count: 0 };
  const sink = options.sink ?? createSink(config.sink, log, () => Math.max(1, underway.count));
  let status: StatusServer | undefined;
  const pauseFor = (seconds: number): Promise<void> => (options.sleep ?? sleep)(seconds * 1000, options.signal);
  // Retries (a start-up waiting for its identity or roles; a poll after one that met failures, a busy lease or a
  // blob changing mid-read: PollState.retrySoon) come at most RETRY_SECONDS apart: a longer poll interval buys
  // fewer, larger jobs per flow, not slower recovery. A poll that threw is retried the same way.
  const retryPause = (): Promise<void> => pauseFor(Math.min(config.pollIntervalSeconds, RETRY_SECONDS));
  try {
    // The probe answers while start-up waits out a 403 (role assignments not yet effective).
    if (config.metricsPort !== undefined) {
      status = await startStatusServer(metrics, config.metricsHost, config.metricsPort, config.pollIntervalSeconds);
      log("info", "status.listening", { url: status.url });
      options.onListening?.(status.url);
    }
    for (;;) {
      try {
        await store.ensureContainer();
        grace.succeeded();
        break;
      } catch (error) {
        const what = `the checkpoint container ${config.checkpointContainer}`;
        if (!grace.excuse(isForbidden(error), what, describeError(error)) &&
          !(isIdentityUnready(error) && grace.excuseUnreadyIdentity(what, describeError(error)))) throw error;
        metrics.lastProgress = Date.now(); // waiting out the grace is not a stall
        await retryPause();
        if (options.signal?.aborted) return { polls: metrics.polls, metrics };
      }
    }
    const context: JobContext = {
      container: service.getContainerClient(config.containers[0]),
      store, sink, metrics, log,
      parse: options.parse ?? parseRecords,
      enrichment: addresses || threats ? { addresses, threats } : undefined,
      windowBytes: config.windowBytes,
      recordBytes: Math.min(config.recordBytes, config.windowBytes),
      batchDocuments: config.batchDocuments,
      maxAttempts: config.maxAttempts,
      doneGraceMinutes: config.doneGraceMinutes,
      now: options.now ?? Date.now,
      signal: options.signal,
      // By default kept only where it runs out before this replica's next poll: then no replica holds a blob from one
      // poll to the next, and others find it busy no longer than if the job had taken the lease duration longer.
      keepLeases: !options.once && (config.keepLeases === "on" || (config.keepLeases === "auto" && config.leaseSeconds < config.pollIntervalSeconds)),
    };
    // ETag at which each blob was last caught up with: unchanged blobs cost nothing but the listing. Seeded from the
    // checkpoints' metadata, so a restart does not read every checkpoint before reaching new data. Listing every
    // checkpoint of a large estate takes minutes: each one listed is a sign of life for /healthz.
    const caughtUp = await store.caughtUpEtags(() => { metrics.lastProgress = Date.now(); }, blobKey, options.signal).catch((error) => {
      log("warn", "checkpoints.list.failed", { error: describeError(error), action: "reading each checkpoint instead" });
      return new Map<string, string>();
    });
    const state = newPollState(caughtUp, underway, options);
    log("info", "checkpoints.listed", { caughtUp: state.caughtUp.size });
    const heapLimit = options.heapLimitBytes ?? heapLimitBytes();
    let memoryWarned = false;
    const noteRememberedBlobs = (): void => {
      metrics.blobsRemembered = state.caughtUp.size;
      const warning = memoryWarned ? undefined : rememberedBlobsWarning(state.caughtUp.size, heapLimit);
      if (warning) {
        memoryWarned = true; // once per process: the number only grows until a restart
        log("warn", "memory.blobs", { ...warning });
      }
    };
    noteRememberedBlobs();
    for (;;) {
      let failure: string | undefined;
      let retrySoon = true;
      if (threats) metrics.noteThreatList(await threats.refresh(), threats.entries); // never throws: a bad version is logged, the old list kept
      try {
        failure = await poll(service, config, context, state, options.once ?? false, grace);
        retrySoon = state.retrySoon;
      } catch (error) {
        if (options.once) throw error;
        metrics.errors++;
        failure = `the poll failed: ${describeError(error)}`;
        log("error", "poll.failed", { error: describeError(error) }); // the service keeps polling
      }
      metrics.notePoll(failure);
      noteRememberedBlobs();
      if (options.signal?.aborted) break;
      // Blobs a listing left for later get further polls at once while those make progress (a sink outage fails no
      // job, but resolves none either): in one pass, until everything found is read.
      const backlogMoving = blobsLeftOut(state).blobs > 0 && state.resolvedLastPoll > 0;
      if (options.once && !backlogMoving) break;
      // A backlog is taken on BACKLOG_BLOBS_PER_POLL at a time: a poll interval slept between the bites would add
      // hours to a large backfill (140 polls for 700,000 blobs). The recent hours are listed by every poll anyway.
      if (backlogMoving) continue;
      await (retrySoon ? retryPause() : pauseFor(config.pollIntervalSeconds));
      if (options.signal?.aborted) break;
    }
    return { polls: metrics.polls, metrics };
  } finally {
    await store.releaseKept(); // a replica starting now need not wait for the leases this one kept to run out
    await status?.close();
    if (!options.sink) await sink.close();
    log("info", "collector.stop", { polls: metrics.polls, indexed: metrics.indexed, duplicates: metrics.duplicates });
  }
}

/**
 * One poll. Resolves with why it made no progress, or undefined when it did: its listings worked (missing flow-log
 * containers are normal before the first write) and it had no blob to work on or at least one job did not fail.
 * A 403 waited out within the authorization grace is not a failure.
 */
async function poll(
  service: BlobServiceClient, config: CollectorConfig, context: JobContext, state: PollState, once: boolean, grace: AuthorizationGrace,
): Promise<string | undefined> {
  const { metrics, log } = context;
  const { caughtUp, pending } = state;
  const now = context.now();
  const scope = listingScope(config, state, once, now);
  state.retrySoon = false; // set by this poll's listings and jobs
  const { candidates, listed, resumed, listingFailure } = await listChanged(service, config, context, state, scope, now, grace);
  metrics.blobsListed = listed;
  // Blobs left unfinished by earlier polls are tried again even when outside the recent hours. Their listed ETag
  // is stale, so it is dropped: the job then reads whatever is new.
  for (const [key, ref] of pending) if (!candidates.has(key)) candidates.set(key, { ...ref, etag: undefined });
  for (const [key, ref] of candidates) pending.set(key, ref);
  // A blob that changed mid-read is planned again at once in a one-pass run (its progress is already saved).
  const attempts = once ? 3 : 1;
  const jobs = { succeeded: 0, failed: 0, lastError: "" };
  state.resolvedLastPoll = 0;
  // A 403 within the grace was announced once (storage.forbidden.waiting): the job reports it at debug level.
  const excuseFailure = (error: unknown, what: string): boolean => grace.excuse(isForbidden(error), what, describeError(error));
  // FLOWLOGS_CONCURRENCY jobs of unknown or large new data at once; tailing jobs with little new data, more.
  // A pending blob this poll caught up with, set aside or found gone: no longer pending.
  const resolved = (key: string): void => {
    metrics.pendingSince.delete(key);
    pending.delete(key);
    state.resolvedLastPoll++;
  };
  const reservation = (ref: BlobRef): number => jobReservation(ref, state.caughtUpAt.get(blobRefKey(ref)), config.windowBytes);
  await forEachWithinBudget([...candidates.values()], config.concurrency * config.windowBytes, config.concurrency * SMALL_JOBS_PER_SLOT, reservation, async (ref, grow) => {
    if (context.signal?.aborted) return; // shutting down: leave the rest for the next start
    const key = blobRefKey(ref);
    const reserveFor = (newBytes: number): Promise<void> => grow(reservationForNewBytes(newBytes, config.windowBytes));
    const job = { ...context, excuseFailure, reserveFor, container: service.getContainerClient(ref.container) };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const outcome = await runBlobJob(ref, job);
      if (outcome.kind === "failed" || outcome.kind === "busy" || outcome.kind === "changed") state.retrySoon = true;
      if (outcome.kind === "failed") {
        // A sink outage is not this replica's failure: a restart (what /healthz 503 leads to) cannot end it, and
        // every kill while waiting on the sink would count a try on the blobs being read (FLOWLOGS_MAX_ATTEMPTS).
        if (!outcome.excused && !outcome.sinkUnavailable) {
          jobs.failed++;
          jobs.lastError = `${ref.name}: ${outcome.error}`;
        }
      } else if (outcome.kind !== "stopped") {
        jobs.succeeded++;
      }
      if (outcome.kind === "read" || outcome.kind === "unchanged") {
        if (outcome.checkpoint.etag) caughtUp.set(key, ownCopy(outcome.checkpoint.etag));
        // Kept while the blob may still grow (its job's size): a done blob's entry would only cost memory.
        if (outcome.checkpoint.done) state.caughtUpAt.delete(key);
        else state.caughtUpAt.set(key, { offset: outcome.checkpoint.offset, createdOn: outcome.checkpoint.createdOn });
        // Caught up with the listed version, or (ETag unknown) with whatever version the job found.
        // Not after an append it followed: the blob stays pending, so the next poll reads it even outside the recent hours.
        if (!outcome.followed && outcome.checkpoint.etag !== undefined && (ref.etag === undefined || outcome.checkpoint.etag === ref.etag)) {
          resolved(key);
        }
        return;
      }
      if (outcome.kind === "dead" || outcome.kind === "gone") state.caughtUpAt.delete(key);
      if (outcome.kind === "dead") {
        // Reported once: this version is never planned again (a new ETag would be reported again).
        if (ref.etag) caughtUp.set(key, ownCopy(ref.etag));
        resolved(key);
        return;
      }
      if (outcome.kind === "gone") {
        caughtUp.delete(key);
        resolved(key);
        return;
      }
      // busy (another replica has it) or failed (retried next poll); changed: plan again at once in a one-pass run
      if (outcome.kind !== "changed" || context.signal?.aborted) return;
      ref = { ...ref, etag: undefined };
    }
  }, state.underway);
  metrics.polls++;
  metrics.lastPollEnd = Date.now();
  log("info", "poll.end", {
    listing: scope, listed, ...(resumed !== undefined ? { resumed } : {}), candidates: candidates.size,
    ...(metrics.leftOut.blobs > 0 ? { leftForNextPoll: metrics.leftOut.blobs } : {}),
    lagSeconds: metrics.lagSeconds(), indexed: metrics.indexed,
  });
  if (jobs.succeeded > 0) grace.succeeded();
  if (listingFailure) return listingFailure;
  if (jobs.failed > 0 && jobs.succeeded === 0) return `every blob job failed (${jobs.failed}), e.g. ${jobs.lastError}`.slice(0, 600);
  return undefined;
}

export type { Logger };
