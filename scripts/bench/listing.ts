// poll_listing_ms_full / poll_listing_ms_recent: what one poll's listing costs once a container holds days of
// hourly blobs: everything (a full listing) against the recent hour folders under each flow log (the polls in
// between). Same functions the scheduler calls; blob contents do not matter to a listing, so they are tiny.
import { BlobServiceClient } from "@azure/storage-blob";
import { flowLogPath, listFlowLogBlobs, recentHourFolders } from "../../collector/src/source/listing";
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
  const full: number[] = [];
  const recent: number[] = [];
  let counts = { full: 0, recent: 0 };
  for (let i = 0; i < REPETITIONS; i++) {
    const f = await timed([undefined]);
    const r = await timed(prefixes);
    full.push(f.ms);
    recent.push(r.ms);
    counts = { full: f.listed, recent: r.listed };
  }
  report("poll_listing_ms_full", median(full), 0, `${counts.full} blobs listed, Azurite on loopback`);
  report("poll_listing_ms_recent", median(recent), 0, `${counts.recent} blobs listed under ${prefixes.length} recent hour folders`);
  await container.deleteIfExists();
}
