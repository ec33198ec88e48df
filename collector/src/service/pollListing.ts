// What a poll lists (full, wide or recent), what it takes on from the listing, and what it leaves for later polls
// (the backlog bound). The scheduler (collector.ts) runs the jobs; this decides which blobs they are for.
import type { BlobServiceClient } from "@azure/storage-blob";
import type { BlobRef } from "../source/blobReader";
import { ContainerMissingError, blobHour, dayPrefix, discoverFlowLogPaths, flowLogPath, horizonDayFolders, listFlowLogPages, recentHourFolders } from "../source/listing";
import { isForbidden, type AuthorizationGrace } from "./authorizationGrace";
import type { JobContext } from "./blobJob";
import type { CollectorConfig } from "./config";
import { describeError } from "./logger";
import { forEachLimited, type CaughtUpAt } from "./jobBudget";
import { blobKeyBucket, blobRefKey } from "../blobKey";

/** What the scheduler remembers between polls (never across restarts: checkpoints are the durable state). */
export interface PollState {
  caughtUp: Map<string, string>;
  /** Blobs seen with unread data and not caught up since (failed, busy, changed mid-read): tried every poll. */
  pending: Map<string, BlobRef>;
  /** Where this process last caught each blob up: a tailing job's new data is known from it and the listed length. */
  caughtUpAt: Map<string, CaughtUpAt>;
  /** Blob jobs under way now. */
  underway: { count: number };
  /** Per container, the flow logs' paths seen in the last full or wide listing: where recent hours are listed. */
  flowLogPaths: Map<string, Set<string>>;
  lastFullListing?: number;
  /** When the last wide or full listing started. */
  lastWideListing?: number;
  /** Blobs the last full listing saw: while few, listing everything costs about one page and finds new flow logs at once. */
  lastFullListed?: number;
  fullListingBelowBlobs: number;
  backlogBlobsPerPoll: number;
  /** Blobs per page of the full listing and its resumptions (tests: a few). Default FULL_LISTING_PAGE_BLOBS. */
  fullListingPageBlobs?: number;
  /** Blobs the last wide listing left for later (backlogBlobsPerPoll): the next poll lists wide again. */
  wideLeftOut?: LeftOut;
  /** Where the last full listing, or its last resumption, left blobs for later: the next poll lists on from there. */
  resume?: Resume;
  /** Pending blobs the last poll caught up with, set aside or found gone: a one-pass run lists again only after some. */
  resolvedLastPoll: number;
  /**
   * The last poll met work it could not do: a listing or a job failed (a 403 waited out and a sink outage included),
   * or a blob was busy with another replica or changed mid-read. Not set by what normal tailing leaves pending (an
   * append during the job, a record still open at the blob's end): the next poll at its interval reads those.
   */
  retrySoon: boolean;
  /**
   * Containers whose last full or wide listing failed: listed in that scope at every poll, whatever the poll's, until
   * one succeeds. The poll's listing still counts for the others, so one container refused for days does not make
   * every poll list all the others' retention, drop their resume token, or keep their deleted blobs.
   */
  owed: Map<string, OwedListing>;
}

interface OwedListing {
  scope: "full" | "wide";
  /** When the first failed listing of that scope started. */
  since: number;
}

/**
 * A listing that finds more unread blobs of older hours than this (a collector switched on over weeks of flow logs,
 * or back after a long stop) holds this many, counting those still pending from earlier polls (a sink outage), in
 * listing order (each flow log's oldest hours first), and leaves the rest to later polls: a full listing's are listed
 * from the page that held the first one left, a wide listing's by listing wide again. Each blob kept costs about 800
 * bytes of heap until it is read (its listing entry and the scheduler's maps): 130,000 unread blobs ran the image's
 * 128 MB heap out in one listing, at every restart. Blobs of the hours still being written are always taken, so
 * tailing goes on meanwhile.
 */
export const BACKLOG_BLOBS_PER_POLL = 5_000;

/** A process's first state: what the checkpoints say is caught up, nothing pending, every listing still to come. */
export function newPollState(caughtUp: Map<string, string>, underway: { count: number }, limits: {
  fullListingBelowBlobs?: number; backlogBlobsPerPoll?: number; fullListingPageBlobs?: number;
} = {}): PollState {
  return {
    caughtUp, pending: new Map(), caughtUpAt: new Map(), underway, flowLogPaths: new Map(),
    fullListingBelowBlobs: limits.fullListingBelowBlobs ?? 5_000,
    backlogBlobsPerPoll: limits.backlogBlobsPerPoll ?? BACKLOG_BLOBS_PER_POLL,
    fullListingPageBlobs: limits.fullListingPageBlobs,
    resolvedLastPoll: 0, retrySoon: false, owed: new Map(),
  };
}

interface LeftOut {
  blobs: number;
  /** lastModified of the oldest of them (ms), for the lag. */
  since: number;
}

/**
 * A full listing that left blobs for later goes on, in later polls, from the page that held the first one it left
 * (per container: that page's continuation token, undefined for the first page): each poll pages on until it has
 * left one again, so a backfill lists the containers about once in all, not once per BACKLOG_BLOBS_PER_POLL blobs.
 * `blobs` is the full listing's count less what the resumptions took since (or, if more, what the last one saw
 * left); `since` stays the oldest the full listing left, so the lag errs high, never low.
 */
interface Resume extends LeftOut {
  from: Map<string, string | undefined>;
}

/** Blobs left for later polls by the listings of the last poll (the pending gauge and the lag count them). */
export function blobsLeftOut(state: PollState): LeftOut {
  return {
    blobs: (state.wideLeftOut?.blobs ?? 0) + (state.resume?.blobs ?? 0),
    since: Math.min(state.wideLeftOut?.since ?? Infinity, state.resume?.since ?? Infinity),
  };
}

const LISTINGS_AT_ONCE = 8;
/**
 * A wide listing's day folders, each several pages of PREFIX_LISTING_PAGE_BLOBS for a large flow log: two at once bounds the
 * pages in flight (memory) where an hour folder, a recent listing's, is rarely more than a page.
 */
const DAY_LISTINGS_AT_ONCE = 2;
const FULL_LISTING_EVERY_MS = 24 * 3_600_000;

export type ListingScope = "full" | "wide" | "recent";

const SCOPE_WIDTH: Record<ListingScope, number> = { recent: 0, wide: 1, full: 2 };

/**
 * A full listing finds everything (new flow logs, late writes to any hour) and lets deleted blobs be forgotten, but
 * pages through the whole retention period: it runs at start-up, every 24 hours, and every poll while the
 * containers hold few blobs (about one page). A wide listing, every FLOWLOGS_FULL_LISTING_MINUTES, walks the folders
 * to find the flow logs and lists each one's last FLOWLOGS_LISTING_HORIZON_HOURS. Other polls list only the hours
 * still being written under each known flow log, so a poll's cost does not grow with retention. A full listing that
 * left blobs for later is resumed beside these (listChanged), not repeated.
 */
export function listingScope(config: CollectorConfig, state: PollState, once: boolean, now: number): ListingScope {
  const fullDue = state.lastFullListing === undefined || now - state.lastFullListing >= FULL_LISTING_EVERY_MS;
  if (state.wideLeftOut && !fullDue) return "wide";
  // One pass lists in full once; its later polls are for what that listing left.
  if (once) return state.resume && !fullDue ? "recent" : "full";
  if (fullDue || config.fullListingMinutes === 0 || state.lastWideListing === undefined ||
    (!state.resume && (state.lastFullListed ?? 0) < state.fullListingBelowBlobs)) return "full";
  if (now - state.lastWideListing < config.fullListingMinutes * 60_000) return "recent";
  return config.listingHorizonHours === 0 ? "full" : "wide";
}

/** Blobs left for later by one listing (a scope's, or the resumption's), and backlog blobs it took on. */
interface Tally {
  left: number;
  leftSince: number;
  taken: number;
}

const newTally = (): Tally => ({ left: 0, leftSince: Infinity, taken: 0 });

/** What a listing did with a blob it listed: took it on, left it for a later poll, or skipped it (caught up). */
type Noted = "taken" | "left" | "skipped";

/** Notes each blob of a listing page; whether the page left one for later. */
function notePage(refs: BlobRef[], note: (ref: BlobRef) => Noted): boolean {
  let left = false;
  for (const ref of refs) if (note(ref) === "left") left = true;
  return left;
}

/** What a listing needs of the jobs' context. */
export type ListingContext = Pick<JobContext, "metrics" | "log" | "now" | "signal">;

/**
 * Lists in the scope's extent (listingScope), and on from where the last full listing left blobs for later, and
 * returns the blobs not caught up. `resumed` counts the blobs the resumption listed.
 */
export async function listChanged(
  service: BlobServiceClient, config: CollectorConfig, context: ListingContext, state: PollState, scope: ListingScope, now: number, grace: AuthorizationGrace,
): Promise<{ candidates: Map<string, BlobRef>; listed: number; resumed?: number; listingFailure?: string }> {
  const { metrics, log } = context;
  const startedAt = context.now();
  const candidates = new Map<string, BlobRef>();
  const seen = new Set<number>(); // blobKeyBucket of every blob listed: under half the memory of the keys
  const failedContainers = new Set<string>();
  /** Containers listed in full this poll (the poll's scope, or one owed), whether or not their listing failed. */
  const listedInFull = new Set<string>();
  let listedWide = false;
  let listingError = "";
  let listed = 0;
  // Unread blobs of older hours held (pending from earlier polls, or taken on by this listing), at most
  // BACKLOG_BLOBS_PER_POLL, and those left for a later listing.
  const recentFrom = now - 3_600_000 - config.doneGraceMinutes * 60_000; // hours whose blobs may still grow
  const isBacklog = (name: string): boolean => !((blobHour(name)?.getTime() ?? -Infinity) >= recentFrom);
  let backlogHeld = 0;
  for (const ref of state.pending.values()) if (isBacklog(ref.name)) backlogHeld++;
  const fullTally = newTally(); // the full listings': what they left is resumed by later polls
  const wideTally = newTally();
  const resumeTally = newTally();
  // Per container, the page that held the first blob a full listing left for later (its continuation token).
  const resumeFrom = new Map<string, string | undefined>();
  const folders = { full: [], wide: horizonDayFolders(now, config.listingHorizonHours), recent: recentHourFolders(now, config.doneGraceMinutes) };
  // What a wide listing covered, as `<container>/<prefix>`: a pending blob in it that was not listed is gone.
  const covered = new Set<string>();
  const listingsAtOnce = (prefixes: string[], work: (prefix: string) => Promise<void>) => forEachLimited(prefixes, LISTINGS_AT_ONCE, work);
  const note = (ref: BlobRef, paths: Set<string>, tally: Tally): Noted => {
    listed++;
    // A full listing of a large estate takes minutes before any job: not a hung loop.
    metrics.lastProgress = Date.now();
    const key = blobRefKey(ref);
    seen.add(blobKeyBucket(key));
    const path = flowLogPath(ref.name);
    if (path !== undefined) paths.add(path);
    if (ref.etag && state.caughtUp.get(key) === ref.etag) {
      // Caught up with exactly this version (a read that raced an append ends here): nothing pending.
      metrics.pendingSince.delete(key);
      state.pending.delete(key);
      // Its hour and the grace are over: it grows no more, so its job size goes. A blob whose last append was read
      // within the grace gets no later job to mark it done, and would keep the entry for its whole retention.
      if (isBacklog(ref.name)) state.caughtUpAt.delete(key);
      return "skipped";
    }
    if (!state.pending.has(key) && !candidates.has(key) && isBacklog(ref.name)) {
      if (backlogHeld >= state.backlogBlobsPerPoll) {
        tally.left++;
        tally.leftSince = Math.min(tally.leftSince, ref.lastModified?.getTime() ?? Date.now());
        return "left";
      }
      backlogHeld++;
      tally.taken++;
    }
    if (!metrics.pendingSince.has(key)) metrics.pendingSince.set(key, ref.lastModified?.getTime() ?? Date.now());
    candidates.set(key, ref);
    return "taken";
  };
  // A 403 waited out within the authorization grace is not a failure (the poll's or the service's).
  const listingFailed = (container: string, error: unknown): void => {
    state.retrySoon = true;
    if (grace.excuse(isForbidden(error), `listing container ${container}`, describeError(error))) {
      log("debug", "list.failed", { container, error: describeError(error) });
    } else {
      failedContainers.add(container);
      metrics.errors++;
      listingError = `listing ${container} failed: ${describeError(error)}`;
      log("error", "list.failed", { container, error: describeError(error) });
    }
  };
  for (const container of config.containers) {
    const owed = state.owed.get(container);
    const own: ListingScope = owed && SCOPE_WIDTH[owed.scope] > SCOPE_WIDTH[scope] ? owed.scope : scope;
    if (own === "full") listedInFull.add(container);
    if (own === "wide") listedWide = true;
    const paths = new Set<string>();
    try {
      const searched = own === "wide"
        // A folder listed is a sign of life, as a blob listed is (below).
        ? await discoverFlowLogPaths(service, container, {
          forEach: listingsAtOnce, onFolder: () => { metrics.lastProgress = Date.now(); }, abortSignal: context.signal,
        })
        : state.flowLogPaths.get(container) ?? new Set<string>();
      // Every flow log found stays known, the ones with no blob in the horizon too (they may start writing), and so
      // do the ones the last full listing saw that the walk cannot reach (deeper than it goes): until the next full one.
      if (own === "wide") for (const path of [...searched, ...(state.flowLogPaths.get(container) ?? [])]) paths.add(path);
      const prefixes = own === "full" ? [undefined] : [...searched].flatMap((path) => folders[own].map((folder) => path + folder));
      const tally = own === "full" ? fullTally : wideTally;
      // Many flow logs mean many small listings: a few at a time keeps a poll's wall time short.
      let failure: { error: unknown } | undefined;
      await forEachLimited(prefixes, own === "wide" ? DAY_LISTINGS_AT_ONCE : LISTINGS_AT_ONCE, async (prefix) => {
        try {
          const pageBlobs = prefix === undefined ? state.fullListingPageBlobs : undefined;
          for await (const page of listFlowLogPages(service, container, { prefix, pageBlobs, abortSignal: context.signal })) {
            const leftOnPage = notePage(page.refs, (ref) => note(ref, paths, tally));
            // The full listing (one per container) pages on to the end, as it must to see every blob; later polls go
            // on from the first page where it left one.
            if (own === "full" && leftOnPage && !resumeFrom.has(container)) resumeFrom.set(container, page.askedWith);
          }
        } catch (error) {
          failure ??= { error };
        }
      });
      if (failure) throw failure.error;
      grace.succeeded();
      if (own === "wide") for (const prefix of prefixes) covered.add(`${container}/${prefix}`);
      if (own !== "recent") {
        state.flowLogPaths.set(container, paths);
        state.owed.delete(container);
      }
    } catch (error) {
      if (error instanceof ContainerMissingError) {
        // Nothing listed is nothing there: the full or wide listing still counts, so the others' blobs are forgotten
        // once retention deletes them, and polls go on listing only the recent hours. A container made later (Network
        // Watcher creates its own on its first write) is found by the next full or wide listing.
        log("warn", "container.missing", { container, reason: error.message });
        if (own !== "recent") {
          state.flowLogPaths.set(container, new Set());
          state.owed.delete(container);
        }
        continue;
      }
      // Stopping: the listing was cut short, not failed, and says nothing about what is there.
      if (context.signal?.aborted) return { candidates, listed };
      listingFailed(container, error);
      if (own !== "recent") state.owed.set(container, { scope: own, since: owed?.scope === own ? owed.since : startedAt });
    }
  }
  const leftOut = (tally: Tally): LeftOut | undefined => tally.left > 0 ? { blobs: tally.left, since: tally.leftSince } : undefined;
  if (scope !== "recent") state.lastWideListing = startedAt;
  if (listedWide) state.wideLeftOut = leftOut(wideTally);
  if (scope === "full") {
    state.wideLeftOut = undefined;
    state.resume = fullTally.left > 0 ? { ...leftOut(fullTally)!, from: resumeFrom } : undefined;
  } else {
    // A container owed a full listing had it now: where it left blobs for later supersedes where an older one did.
    for (const container of listedInFull) state.resume?.from.delete(container);
  }
  let resumed: number | undefined;
  if (scope !== "full" && state.resume && state.resume.from.size > 0) {
    const before = listed;
    await resumeFullListing(service, context, state, state.resume, (ref, paths) => note(ref, paths, resumeTally), listingFailed);
    if (context.signal?.aborted) return { candidates, listed };
    resumed = listed - before;
    const { resume } = state;
    state.resume = resume.from.size === 0 ? undefined : {
      from: resume.from,
      blobs: Math.max(1, resumeTally.left, resume.blobs - resumeTally.taken), // a page it goes on from held one left
      since: Math.min(resume.since, resumeTally.leftSince),
    };
  }
  if (scope !== "full" && fullTally.left > 0) {
    const resume = state.resume ?? { from: new Map<string, string | undefined>(), blobs: 0, since: Infinity };
    for (const [container, page] of resumeFrom) resume.from.set(container, page);
    state.resume = { from: resume.from, blobs: resume.blobs + fullTally.left, since: Math.min(resume.since, fullTally.leftSince) };
  }
  if (listedWide) {
    // Blobs tried every poll that retention deleted: forgotten here rather than at the next full listing.
    for (const [key, ref] of state.pending) {
      if (seen.has(blobKeyBucket(key)) || !covered.has(`${ref.container}/${dayPrefix(ref.name)}`)) continue;
      for (const map of [state.caughtUp, metrics.pendingSince, state.pending, state.caughtUpAt]) map.delete(key);
    }
  }
  if (scope === "full") {
    state.lastFullListing = startedAt;
    state.lastFullListed = listed;
    forgetUnlisted(state, metrics, seen, failedContainers, startedAt);
  }
  metrics.leftOut = blobsLeftOut(state);
  // No progress when no container could be listed (some listing errors alone leave the others' blobs moving).
  const listingFailure = failedContainers.size > 0 && failedContainers.size === config.containers.length ? listingError : undefined;
  return { candidates, listed, ...(resumed !== undefined ? { resumed } : {}), listingFailure };
}

/**
 * After a full listing, forgets the blobs it did not list (deleted by retention), so the maps do not grow for ever.
 * The keys do not say their container, so a container whose listing failed would lose its caught-up blobs too (each
 * then costs a checkpoint read when it lists again): that waits for one whose full listings have failed for a day,
 * whose deleted blobs would otherwise be kept while it fails. Its pending blobs are kept (they know their container).
 */
function forgetUnlisted(state: PollState, metrics: ListingContext["metrics"], seen: Set<number>, failed: Set<string>, startedAt: number): void {
  for (const container of failed) {
    const since = state.owed.get(container)?.since ?? startedAt;
    if (startedAt - since < FULL_LISTING_EVERY_MS) return;
  }
  const kept = new Set<string>();
  for (const [key, ref] of state.pending) if (failed.has(ref.container)) kept.add(key);
  for (const map of [state.caughtUp, metrics.pendingSince, state.pending, state.caughtUpAt]) {
    for (const key of map.keys()) if (!seen.has(blobKeyBucket(key)) && !kept.has(key)) map.delete(key);
  }
}

/**
 * Lists each container of `resume` from its page until a page leaves a blob for later (that page is where the
 * next poll goes on) or the listing ends (nothing left there: the container is done). A failed listing keeps its
 * page, unless the service refused the request as bad (400).
 */
async function resumeFullListing(
  service: BlobServiceClient, context: ListingContext, state: PollState, resume: Resume,
  note: (ref: BlobRef, paths: Set<string>) => Noted, listingFailed: (container: string, error: unknown) => void,
): Promise<void> {
  for (const [container, from] of [...resume.from]) {
    // A flow log first seen here is listed in its recent hours from now on.
    const paths = state.flowLogPaths.get(container) ?? new Set<string>();
    state.flowLogPaths.set(container, paths);
    let stoppedAt: { page: string | undefined } | undefined;
    try {
      for await (const page of listFlowLogPages(service, container, { from, pageBlobs: state.fullListingPageBlobs, abortSignal: context.signal })) {
        if (notePage(page.refs, (ref) => note(ref, paths))) {
          stoppedAt = { page: page.askedWith };
          break;
        }
      }
      if (stoppedAt) resume.from.set(container, stoppedAt.page);
      else resume.from.delete(container);
    } catch (error) {
      if (error instanceof ContainerMissingError) {
        resume.from.delete(container);
        continue;
      }
      if (context.signal?.aborted) return;
      listingFailed(container, error);
      // Refused as a bad request: the token itself may be what is refused (it is the service's own, but opaque), and
      // keeping it would fail every poll until the next full listing. The first page is always a valid place to go on from.
      if ((error as { statusCode?: number }).statusCode === 400 && from !== undefined) {
        resume.from.set(container, undefined);
        context.log("warn", "list.resume.restarted", { container, action: "listing the blobs left for later from the container's first page" });
      }
    }
  }
}
