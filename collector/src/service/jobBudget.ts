// How many blob jobs run at once (#12). A job whose new data is unknown or large may hold a download window of
// FLOWLOGS_WINDOW_BYTES and a write, so at most FLOWLOGS_CONCURRENCY of those run together, as always: that bounds
// memory. A tailing job's new data is known before it starts, from the listed length and where this process last
// caught the blob up: about a minute of one NIC, tens of KB. Such a job reserves what its data needs from the same
// budget, so up to SMALL_JOBS_PER_SLOT times as many run together, and their documents share fewer, larger bulk
// requests (Elasticsearch spent 20-25 % less CPU per document on 1,760 documents per request than on 440:
// scripts/bench/bulkSize.ts). The scheduler starts jobs in the order given; it only decides when.
// A listing can be minutes old when its job starts (jobs queued behind an Elasticsearch outage, a backfill), and
// the blob has grown since: before its first download a job learns its real new data from the block list and grows
// its reservation to match, waiting if need be. Without that, jobs reserving a minute's append could each hold a
// whole window, SMALL_JOBS_PER_SLOT times the memory the budget stands for.

/** Where this process last caught a blob up: the checkpoint's offset and the blob version (creation time) it read. */
export interface CaughtUpAt {
  offset: number;
  createdOn?: string;
}

/** Small jobs per FLOWLOGS_CONCURRENCY slot at most (Azure requests in flight grow with them). */
export const SMALL_JOBS_PER_SLOT = 4;
/**
 * Bytes reserved per byte of new data: the download itself and the documents' bulk lines written from it (about 5.6
 * bytes per byte of VNet input), with room for a minute's append landing between the listing and the read.
 */
export const RESERVED_PER_NEW_BYTE = 8;
/** The least a job reserves, for its fixed costs (lease, checkpoint, requests). */
export const MIN_RESERVATION = 64 * 1024;

/**
 * Bytes of the budget (FLOWLOGS_CONCURRENCY × FLOWLOGS_WINDOW_BYTES) a job on this listed blob reserves: a whole
 * slot unless its new data is known, i.e. this process caught up the same blob version (same creation time) at an
 * offset the listed length has not fallen below.
 */
export function jobReservation(listed: { contentLength?: number; createdOn?: Date }, caughtUp: CaughtUpAt | undefined, windowBytes: number): number {
  if (caughtUp === undefined || listed.contentLength === undefined) return windowBytes;
  // Re-created (read again from the start) or shorter than where it was read to (replaced): not known to be small.
  if (caughtUp.createdOn !== undefined && listed.createdOn?.toISOString() !== caughtUp.createdOn) return windowBytes;
  const newBytes = listed.contentLength - caughtUp.offset;
  if (newBytes < 0) return windowBytes;
  return reservationForNewBytes(newBytes, windowBytes);
}

/** What a job reserves for `newBytes` of new data: at least its fixed costs, at most a whole window. */
export function reservationForNewBytes(newBytes: number, windowBytes: number): number {
  return Math.min(windowBytes, Math.max(MIN_RESERVATION, RESERVED_PER_NEW_BYTE * newBytes));
}

/**
 * Raises a running job's reservation to `cost` (nothing to do when it holds as much). A reservation that does not fit
 * is given back while the job waits, ahead of jobs not yet started, so jobs waiting to grow never hold up each other;
 * the job is not counted in `running.count` meanwhile (it writes nothing while it waits).
 */
export type GrowReservation = (cost: number) => Promise<void>;

/**
 * Runs `work` on every item, in order, starting the next one while the reservations of the jobs running plus its
 * own fit `budget` and fewer than `maxJobs` run (one job always may, whatever it reserves). A job may grow its
 * reservation once it knows its real size (GrowReservation); no job starts while one waits to. `running.count`
 * follows the jobs under way (the sink's shared requests wait for that many writers). The first failure stops new
 * starts; it is thrown once the jobs already running have ended.
 */
export async function forEachWithinBudget<T>(
  items: readonly T[], budget: number, maxJobs: number, reservation: (item: T) => number,
  work: (item: T, grow: GrowReservation) => Promise<void>, running: { count: number } = { count: 0 },
): Promise<void> {
  let reserved = 0;
  let failure: { error: unknown } | undefined;
  const underway = new Set<Promise<void>>();
  const growing: Array<{ cost: number; granted: () => void }> = [];
  const fits = (cost: number): boolean => reserved === 0 || reserved + cost <= budget;
  const grantGrowing = (): void => {
    while (growing.length > 0 && fits(growing[0]!.cost)) {
      const next = growing.shift()!;
      reserved += next.cost;
      running.count++;
      next.granted();
    }
  };
  for (const item of items) {
    const cost = reservation(item);
    while (underway.size > 0 && (growing.length > 0 || reserved + cost > budget || underway.size >= maxJobs) && !failure) {
      await Promise.race(underway);
    }
    if (failure) break;
    let held = cost;
    reserved += held;
    running.count++;
    const grow: GrowReservation = async (wanted) => {
      if (wanted <= held) return;
      reserved -= held;
      held = 0;
      running.count--;
      await new Promise<void>((granted) => {
        growing.push({ cost: wanted, granted });
        grantGrowing();
      });
      held = wanted;
    };
    const job: Promise<void> = work(item, grow)
      .catch((error: unknown) => { failure ??= { error }; })
      .finally(() => {
        reserved -= held;
        running.count--;
        underway.delete(job);
        grantGrowing();
      });
    underway.add(job);
  }
  await Promise.all(underway);
  if (failure) throw failure.error;
}

/** At most `limit` items' `work` at once, started in order: forEachWithinBudget with nothing reserved. */
export function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  return forEachWithinBudget(items, Infinity, limit, () => 0, work);
}
