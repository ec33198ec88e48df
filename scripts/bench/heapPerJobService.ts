// The measured process of scripts/bench/heapPerJob.ts: the collector's jobs on a heap of their own. The script keeps
// Azurite and the blob writers (their block ids) in its own process; here are only the collector, this file and the
// IPC channel. Type-only imports and plain requires, so the image's Node.js runs this file as it is (its own type
// stripping, no loader) against collector/dist; under --import tsx the same file runs the collector's sources.
import type { BlobServiceClient as BlobServiceClientType } from "@azure/storage-blob";
import type * as CheckpointStoreModule from "../../collector/src/checkpoint/store";
import type * as ParseModule from "../../collector/src/format/parse";
import type { Sink } from "../../collector/src/model";
import type * as BlobJobModule from "../../collector/src/service/blobJob";
import type * as CollectorModule from "../../collector/src/service/collector";
import type * as ConfigModule from "../../collector/src/service/config";
import type * as MetricsModule from "../../collector/src/service/metrics";
import type * as ListingModule from "../../collector/src/source/listing";

/** What the script passes (JSON, first argument). `modules`: collector/dist, or collector/src under tsx. */
export interface HeapRunSettings {
  modules: string;
  mode: "caught-up" | "append";
  connectionString: string;
  source: string;
  checkpoints: string;
  rounds: number;
  snapshots?: string;
}

/** Sent after every round's reading; the script answers (once it has appended the next minute, in append mode). */
export interface HeapSample {
  round: number;
  heapUsed: number;
}

const { join } = require("node:path") as typeof import("node:path");
const { writeHeapSnapshot } = require("node:v8") as typeof import("node:v8");
const { BlobServiceClient } = require("@azure/storage-blob") as typeof import("@azure/storage-blob");

const settings = JSON.parse(process.argv[2]!) as HeapRunSettings;
const collector = <T>(module: string): T => require(join(settings.modules, module)) as T;
const HOUR = new Date("2026-11-20T10:00:00Z");
/** Inside the blobs' hour (heapPerJob.ts writes them for it): they are tailed, never done. */
const NOW = (): number => HOUR.getTime() + 10 * 60_000;
const quarters = [0, 1, 2, 3, 4].map((q) => Math.round((settings.rounds * q) / 4));

/** A sink that takes every document (the heap figure is the collector's, not a cluster client's). */
const countingSink: Sink = {
  async write(batch) { return { indexed: batch.length, duplicates: 0, deadLettered: 0, retries: 0 }; },
  async deadLetter() {},
  async close() {},
};

/** The heap after two forced collections, to the script; resolves on its answer. */
function sample(round: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  gc();
  const reading: HeapSample = { round, heapUsed: process.memoryUsage().heapUsed };
  if (settings.snapshots && quarters.includes(round)) {
    process.stderr.write(`bench: snapshot ${writeHeapSnapshot(join(settings.snapshots, `heap-${settings.mode}-${round}.heapsnapshot`))}\n`);
  }
  return new Promise((answered) => {
    process.once("message", () => answered());
    process.send!(reading);
  });
}

/** Each round a job per blob, each finding its blob caught up (listed without ETag: the block list is read). */
async function caughtUpRounds(): Promise<void> {
  const { CheckpointStore } = collector<typeof CheckpointStoreModule>("checkpoint/store");
  const { runBlobJob } = collector<typeof BlobJobModule>("service/blobJob");
  const { Metrics } = collector<typeof MetricsModule>("service/metrics");
  const { parseRecords } = collector<typeof ParseModule>("format/parse");
  const { listFlowLogBlobs } = collector<typeof ListingModule>("source/listing");
  const service: BlobServiceClientType = BlobServiceClient.fromConnectionString(settings.connectionString);
  const store = new CheckpointStore(service.getContainerClient(settings.checkpoints), { leaseSeconds: 15, replicaId: "heap" });
  await store.ensureContainer();
  const context = {
    container: service.getContainerClient(settings.source), store, sink: countingSink, parse: parseRecords, metrics: new Metrics(), log: () => {},
    windowBytes: 4 * 1024 * 1024, recordBytes: 1024 * 1024, batchDocuments: 2_000, maxAttempts: 3, doneGraceMinutes: 10,
    now: NOW, keepLeases: true,
  };
  const refs = [];
  for await (const ref of listFlowLogBlobs(service, settings.source)) refs.push({ ...ref, etag: undefined });
  for (const ref of refs) await runBlobJob(ref, context); // the first read of each blob
  for (let round = 0; round <= settings.rounds; round++) {
    await sample(round);
    if (round === settings.rounds) break;
    for (const ref of refs) {
      const outcome = await runBlobJob(ref, context);
      if (outcome.kind !== "read") throw new Error(`a caught-up job ended ${outcome.kind}`);
    }
  }
  await store.releaseKept();
}

/** The service's own loop: between polls the script appends a minute to every blob, and the next poll reads them all. */
async function appendRounds(): Promise<void> {
  const { runCollector } = collector<typeof CollectorModule>("service/collector");
  const { loadConfig } = collector<typeof ConfigModule>("service/config");
  const config = loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: settings.connectionString, FLOWLOGS_CONTAINERS: settings.source,
    FLOWLOGS_CHECKPOINT_CONTAINER: settings.checkpoints, FLOWLOGS_SINK: "stdout", FLOWLOGS_METRICS_PORT: "off",
    FLOWLOGS_LEASE_SECONDS: "15", FLOWLOGS_GEOIP: "off",
  });
  const stop = new AbortController();
  let round = 0;
  await runCollector({
    config, sink: countingSink, enrichment: null, signal: stop.signal, writeLog: () => {}, now: NOW,
    sleep: async () => {
      await sample(round);
      if (round++ === settings.rounds) stop.abort();
    },
  });
}

// What ran, for the reader of the figures: tsx (the sources) would show here, with its loader on this heap.
process.stderr.write(`bench: measured process: Node.js ${process.version} ${process.execArgv.join(" ")} NODE_OPTIONS=${process.env.NODE_OPTIONS ?? ""} modules ${settings.modules}\n`);
(settings.mode === "caught-up" ? caughtUpRounds() : appendRounds()).then(() => process.disconnect(), (error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
