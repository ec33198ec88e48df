// poll_listing_ms_full / _wide / _recent: what one poll's listing costs once a container holds days of hourly blobs:
// everything (a full listing: start-up, daily), the folder walk plus the last 48 hours' days (a wide listing, every
// 30 minutes) and the recent hour folders under each flow log (the polls in between). Same functions the scheduler calls; blob contents do not matter to a listing, so they are tiny.
import { BlobServiceClient } from "@azure/storage-blob";
import { discoverFlowLogPaths, flowLogPath, horizonDayFolders, listFlowLogBlobs, recentHourFolders } from "../../collector/src/source/listing";
import { flowLogBlobName } from "../../test/support/flowLogWriter";
import { median, progress, report } from "./stats";

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
  await container.deleteIfExists();
}
