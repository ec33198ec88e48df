// What a long-running service's heap keeps per blob job: a fixed set of tailed blobs on Azurite, many rounds of jobs,
// and the heap after forced collections once per round. A figure that keeps rising with the jobs would run the
// image's 128 MB heap out in days (a job per blob and minute); one that levels off is warm-up or bounded state.
//   node --import tsx scripts/bench/heapPerJob.ts [--mode caught-up|append] [--blobs 20] [--rounds 400] [--snapshots DIR]
//   node --import tsx scripts/bench/heapPerJob.ts --before A.heapsnapshot --after B.heapsnapshot
// --mode caught-up: runBlobJob on each blob, listed without its ETag, so each job leases, reads the block list and
//   finds it caught up (what a review measured). append: the service's poll loop (runCollector), each round appending
//   one minute to every blob first, so every poll runs a job per blob that reads and delivers it. The append figures
//   include this script's own writers, which keep every block id they committed (about 75 bytes per append).
// --snapshots DIR: heap snapshots at the quarters (V8 collects more in them than forced collections do: a figure
//   taken just after one is lower). --before/--after list what grew between two, by kind of object, V8's compiled code left out.
// Runs itself again on the image's Node.js with its memory flags and --expose-gc when started otherwise.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { runBlobJob } from "../../collector/src/service/blobJob";
import { runCollector } from "../../collector/src/service/collector";
import { loadConfig } from "../../collector/src/service/config";
import { Metrics } from "../../collector/src/service/metrics";
import { parseRecords } from "../../collector/src/format/parse";
import { listFlowLogBlobs } from "../../collector/src/source/listing";
import type { Sink } from "../../collector/src/model";
import { startAzurite } from "../../test/support/azurite";
import { FlowLogBlobWriter } from "../../test/support/flowLogWriter";
import { heapCensus, heapGrowth } from "../../test/support/heapCensus";
import { readCommandLine } from "../commandLine";
import { ensureImageNode, imageNodeVersion } from "../image-node";
import { imageMemoryEnvironment, imageNodeFlags } from "./imageRuntime";
import { progress, report } from "./stats";

const USAGE = "usage: node --import tsx scripts/bench/heapPerJob.ts [--mode caught-up|append] [--blobs 20] [--rounds 400] [--snapshots DIR]\n" +
  "       node --import tsx scripts/bench/heapPerJob.ts --before A.heapsnapshot --after B.heapsnapshot";
const HOUR = new Date("2026-11-20T10:00:00Z");
/** Inside the blobs' hour: they are tailed, never done. */
const NOW = (): number => HOUR.getTime() + 10 * 60_000;

/** A sink that takes every document (the heap figure is the collector's, not a cluster client's). */
const countingSink: Sink = {
  async write(batch) { return { indexed: batch.length, duplicates: 0, deadLettered: 0, retries: 0 }; },
  async deadLetter() {},
  async close() {},
};

async function main(): Promise<number> {
  const values = readCommandLine({
    mode: { type: "string", default: "caught-up" }, blobs: { type: "string", default: "20" }, rounds: { type: "string", default: "400" },
    snapshots: { type: "string" }, before: { type: "string" }, after: { type: "string" }, help: { type: "boolean" },
  }, USAGE);
  if (typeof values === "number") return values;
  if (values.before || values.after) return compare(values.before, values.after);
  const blobs = Number(values.blobs);
  const rounds = Number(values.rounds);
  if (!(blobs >= 1) || !(rounds >= 4) || !["caught-up", "append"].includes(values.mode)) {
    console.error(`--blobs must be at least 1, --rounds at least 4, --mode caught-up or append\n${USAGE}`);
    return 2;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc || process.version !== `v${imageNodeVersion()}`) return onImageNode();
  const azurite = await startAzurite();
  try {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const source = service.getContainerClient("heap-source");
    const checkpoints = service.getContainerClient("heap-checkpoints");
    await source.create();
    const writers: FlowLogBlobWriter[] = [];
    for (let i = 0; i < blobs; i++) {
      const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: HOUR, seed: i + 1, mac: `000D3A${i.toString(16).padStart(6, "0").toUpperCase()}` });
      await writer.appendMinute({ records: 1, tuplesPerRecord: 2 });
      writers.push(writer);
    }
    const heap: number[] = [];
    const quarters = [0, 1, 2, 3, 4].map((q) => Math.round((rounds * q) / 4));
    const sample = (round: number): void => {
      gc();
      gc();
      heap.push(process.memoryUsage().heapUsed);
      if (round % 10 === 0) progress(`round ${round}: heapUsed ${(heap[round]! / 1024).toFixed(0)} KiB`);
      if (values.snapshots && quarters.includes(round)) progress(`snapshot ${writeHeapSnapshot(join(values.snapshots, `heap-${values.mode}-${round}.heapsnapshot`))}`);
    };
    if (values.mode === "caught-up") await caughtUpRounds(service, source, checkpoints, rounds, sample);
    else await appendRounds(azurite.connectionString, source, checkpoints, writers, rounds, sample);
    report("jobs", rounds * blobs, 0);
    for (let q = 1; q <= 4; q++) {
      const [from, to] = [quarters[q - 1]!, quarters[q]!];
      report(`heap_bytes_per_job_rounds_${from}_${to}`, (heap[to]! - heap[from]!) / ((to - from) * blobs), 0);
    }
    report("heap_used_kib_by_quarter", 0, 0, quarters.map((r) => `${r}: ${(heap[r]! / 1024).toFixed(0)}`).join(", "));
    return 0;
  } finally {
    await azurite.stop();
  }
}

/** Each round a job per blob, each finding its blob caught up (listed without ETag: the block list is read). */
async function caughtUpRounds(service: BlobServiceClient, source: ContainerClient, checkpoints: ContainerClient, rounds: number, sample: (round: number) => void): Promise<void> {
  const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "heap" });
  await store.ensureContainer();
  const context = {
    container: source, store, sink: countingSink, parse: parseRecords, metrics: new Metrics(), log: () => {},
    windowBytes: 4 * 1024 * 1024, recordBytes: 1024 * 1024, batchDocuments: 2_000, maxAttempts: 3, doneGraceMinutes: 10,
    now: NOW, keepLeases: true,
  };
  const refs = [];
  for await (const ref of listFlowLogBlobs(service, source.containerName)) refs.push({ ...ref, etag: undefined });
  for (const ref of refs) await runBlobJob(ref, context); // the first read of each blob
  for (let round = 0; round <= rounds; round++) {
    sample(round);
    if (round === rounds) break;
    for (const ref of refs) {
      const outcome = await runBlobJob(ref, context);
      if (outcome.kind !== "read") throw new Error(`a caught-up job ended ${outcome.kind}`);
    }
  }
  await store.releaseKept();
}

/** The service's own loop: each round appends a minute to every blob, and the next poll reads them all. */
async function appendRounds(
  connectionString: string, source: ContainerClient, checkpoints: ContainerClient, writers: FlowLogBlobWriter[], rounds: number, sample: (round: number) => void,
): Promise<void> {
  const config = loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: connectionString, FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName, FLOWLOGS_SINK: "stdout", FLOWLOGS_METRICS_PORT: "off",
    FLOWLOGS_LEASE_SECONDS: "15", FLOWLOGS_GEOIP: "off",
  });
  const stop = new AbortController();
  let round = 0;
  await runCollector({
    config, sink: countingSink, enrichment: null, signal: stop.signal, writeLog: () => {}, now: NOW,
    sleep: async () => {
      sample(round);
      if (round++ === rounds) return stop.abort();
      for (const writer of writers) await writer.appendMinute({ records: 1, tuplesPerRecord: 2 });
    },
  });
}

/** What grew between two snapshots, largest first. */
function compare(before: string | undefined, after: string | undefined): number {
  if (!before || !after) {
    console.error(`--before and --after name two snapshot files\n${USAGE}`);
    return 2;
  }
  const grown = heapGrowth(heapCensus(before), heapCensus(after));
  for (const { kind, count, bytes } of grown.slice(0, 20)) console.log(`${bytes} B\t${count >= 0 ? "+" : ""}${count}\t${kind}`);
  return 0;
}

/** The image's Node.js, its memory settings (collector/Dockerfile) and --expose-gc, with the same arguments. */
async function onImageNode(): Promise<number> {
  const node = await ensureImageNode({ log: progress });
  const { NODE_OPTIONS, ...memory } = imageMemoryEnvironment();
  const child = spawnSync(node, [...imageNodeFlags(), "--expose-gc", "--import", "tsx", __filename, ...process.argv.slice(2)], {
    stdio: "inherit", env: { ...process.env, ...memory, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} ${NODE_OPTIONS ?? ""}`.trim() },
  });
  return child.status ?? 1;
}

main().then((code) => { process.exitCode = code; }, (error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
