// poll_listing_ms_full / _wide / _recent: what one poll's listing costs once a container holds days of hourly blobs:
// everything (a full listing: start-up, daily), the folder walk plus the last 48 hours' days (a wide listing, every
// 30 minutes) and the recent hour folders under each flow log (the polls in between). Same functions the scheduler calls; blob contents do not matter to a listing, so they are tiny.
// backfill_*: the scheduler's own listings (pollListing.ts) over the same blobs as a backlog, every blob a poll takes
// on counted as read at once: how many polls, and how many blobs listed per blob of the backlog.
import { BlobServiceClient } from "@azure/storage-blob";
import { discoverFlowLogPaths, flowLogPath, horizonDayFolders, listFlowLogBlobs, recentHourFolders } from "../../collector/src/source/listing";
import { flowLogBlobName } from "../../test/support/flowLogWriter";
import { median, progress, report } from "./stats";
import { loadConfig } from "../../collector/src/service/config";
import { blobsLeftOut, listChanged, listingScope, newPollState } from "../../collector/src/service/pollListing";
import { Metrics } from "../../collector/src/service/metrics";
import { AuthorizationGrace } from "../../collector/src/service/authorizationGrace";

const DAYS = 10;
const NICS = 25;
const REPETITIONS = 5;

export async function benchListing(connectionString: string): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const container = service.getContainerClient("bench-listing");
  await container.createIfNotExists();
  const now = Date.UTC(2026, 10, 20, 10, 5);
  const names: string[] = [];
  for (let hour = 0; hour < DAYS * 24; hour++) {
    for (let nic = 0; nic < NICS; nic++) {
      const mac = `000D3A${String(nic).padStart(6, "0")}`;
      names.push(flowLogBlobName({ kind: "nsg-v2", hour: new Date(now - hour * 3_600_000), mac }));
    }
  }
  progress(`listing: uploading ${names.length} blobs (${DAYS} days x 24 h x ${NICS} NICs)`);
  for (let i = 0; i < names.length; i += 32) {
    await Promise.all(names.slice(i, i + 32).map((name) => container.getBlockBlobClient(name).upload("{}", 2)));
  }
  const paths = [...new Set(names.map((name) => flowLogPath(name)!))];
  const prefixes = paths.flatMap((path) => recentHourFolders(now, 15).map((folder) => path + folder));
  const timed = async (prefixList: Array<string | undefined>): Promise<{ ms: number; listed: number }> => {
    const started = process.hrtime.bigint();
    let listed = 0;
    for (const prefix of prefixList) for await (const _ of listFlowLogBlobs(service, container.containerName, prefix)) listed++;
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, listed };
  };
  const wideListing = async (): Promise<{ ms: number; listed: number }> => {
    const started = process.hrtime.bigint();
    const found = await discoverFlowLogPaths(service, container.containerName);
    const days = await timed([...found].flatMap((path) => horizonDayFolders(now, 48).map((folder) => path + folder)));
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, listed: days.listed };
  };
  const full: number[] = [];
  const wide: number[] = [];
  const recent: number[] = [];
  let counts = { full: 0, wide: 0, recent: 0 };
  for (let i = 0; i < REPETITIONS; i++) {
    const f = await timed([undefined]);
    const w = await wideListing();
    const r = await timed(prefixes);
    full.push(f.ms);
    wide.push(w.ms);
    recent.push(r.ms);
    counts = { full: f.listed, wide: w.listed, recent: r.listed };
  }
  report("poll_listing_ms_full", median(full), 0, `${counts.full} blobs listed, Azurite on loopback`);
  report("poll_listing_ms_wide", median(wide), 0, `${counts.wide} blobs listed: the folder walk to ${paths.length} flow log(s), then 48 hours' days`);
  report("poll_listing_ms_recent", median(recent), 0, `${counts.recent} blobs listed under ${prefixes.length} recent hour folders`);
  await benchBackfill(connectionString, container.containerName, now);
  await container.deleteIfExists();
}

/** Blobs of past hours a poll takes on here: the bench's 6,000 blobs make a backlog of a dozen polls. */
const BACKFILL_BLOBS_PER_POLL = 500;

async function benchBackfill(connectionString: string, container: string, now: number): Promise<void> {
  const config = loadConfig({ FLOWLOGS_STORAGE_CONNECTION_STRING: connectionString, FLOWLOGS_CONTAINERS: container, FLOWLOGS_SINK: "stdout" });
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const log = () => {};
  const context = { metrics: new Metrics(), log, now: () => now, signal: undefined };
  const grace = new AuthorizationGrace(now, 0, log);
  const state = newPollState(new Map(), { count: 0 }, { backlogBlobsPerPoll: BACKFILL_BLOBS_PER_POLL });
  let polls = 0;
  let listed = 0;
  let read = 0;
  let fullListed = 0;
  do {
    const scope = listingScope(config, state, false, now);
    const result = await listChanged(service, config, context, state, scope, now, grace);
    if (scope === "full") fullListed = result.listed;
    listed += result.listed;
    // Every job succeeds at once: the blob is caught up with the version listed.
    for (const [key, ref] of result.candidates) {
      state.caughtUp.set(key, ref.etag!);
      state.pending.delete(key);
      context.metrics.pendingSince.delete(key);
      read++;
    }
    polls++;
  } while (blobsLeftOut(state).blobs > 0 && polls < 1_000);
  report("backfill_polls", polls, 0, `${read} blobs read, ${BACKFILL_BLOBS_PER_POLL} taken per poll, ${fullListed} in the full listing`);
  report("backfill_blobs_listed_per_blob", listed / read, 2,
    `every poll's listings over the backfill: the full one, then each poll's recent hours and its 1-2 pages of 1,000 from where the last left off, for 500 taken; listing everything each poll: ${polls}`);
}
