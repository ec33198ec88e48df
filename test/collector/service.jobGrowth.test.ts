// A tailing job's reservation comes from a listing that may be minutes old when the job starts (queued behind an
// Elasticsearch outage or a backfill); the blob has grown since. Before its first download the job grows its
// reservation to its real new data (collector/src/service/jobBudget.ts), so jobs that each find a whole window to
// read run FLOWLOGS_CONCURRENCY at a time, not SMALL_JOBS_PER_SLOT times as many. Real Azurite; a proxy holds each
// job's block list until its blob has grown, and slows the source downloads so overlapping ones can be counted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";
import { azuriteConnectionString } from "../support/env";
import { azuriteCollectorEnv } from "../support/collectorConfig";
import { startFaultyProxy, type Fault } from "../support/faultyProxy";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector } from "../../collector/src/service/collector";
import { loadConfig } from "../../collector/src/service/config";
import { RESERVED_PER_NEW_BYTE } from "../../collector/src/service/jobBudget";
import type { LogEvent } from "../../collector/src/service/logger";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";

const HOUR = new Date("2026-11-20T11:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());
const WINDOW = 1 << 20;

/** Most intervals open at once among `[from, to)`. */
function mostAtOnce(intervals: Array<[number, number]>): number {
  const edges = intervals.flatMap(([from, to]): Array<[number, number]> => [[from, 1], [to, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step));
  return most;
}

test("service: tailing jobs whose blobs grew after the listing grow their reservations before downloading; FLOWLOGS_CONCURRENCY whole windows at once; exact counts", { timeout: 120_000 }, async () => {
  const source = scratch.container("growth-src");
  await source.create();
  const checkpoints = scratch.container("growth-cp");
  const concurrency = 2;
  const writers = Array.from({ length: 12 }, (_, i) => new FlowLogBlobWriter(source, {
    kind: "vnet-v4", hour: HOUR, seed: 700 + i, mac: `000D3A0004${String(i).padStart(2, "0")}`,
  }));
  for (const writer of writers) await writer.appendMinute({ records: 2, tuplesPerRecord: 10 });
  const byBlob = new Map(writers.map((writer) => [`/${source.containerName}/${writer.blobName}`, writer]));
  let poll = 0;
  const grown = new Set<string>();
  let grownBytes = 0;
  // Paths are /<account>/<container>/<blob>?<query>.
  const sourceBlob = (path: string): FlowLogBlobWriter | undefined => byBlob.get(decodeURIComponent(path.split("?")[0]!).replace(/^\/[^/]+/, ""));
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method, path }): Fault => {
    const writer = sourceBlob(path);
    if (!writer || method !== "GET" || poll !== 1) return "forward";
    if (path.includes("comp=blocklist") && !grown.has(writer.blobName)) {
      grown.add(writer.blobName);
      // Several minutes of a busy NIC land between the listing and the job: far more than the listing showed.
      const before = writer.blob.getProperties().then((p) => p.contentLength ?? 0);
      return { forwardAfter: before.then(async (length) => {
        await writer.appendMinute({ records: 12, tuplesPerRecord: 200 });
        grownBytes = Math.max(grownBytes, ((await writer.blob.getProperties()).contentLength ?? 0) - length);
      }) };
    }
    if (!path.includes("comp=")) return { forwardAfter: new Promise((resolve) => setTimeout(resolve, 150)) };
    return "forward";
  });
  try {
    const config = loadConfig(azuriteCollectorEnv(source.containerName, checkpoints.containerName, {
      FLOWLOGS_CONCURRENCY: String(concurrency), FLOWLOGS_WINDOW_BYTES: String(WINDOW), FLOWLOGS_LEASE_SECONDS: "15",
    }));
    const controller = new AbortController();
    let clock = HOUR.getTime() + 10 * 60_000;
    const sleep = async (): Promise<void> => {
      clock += 60_000;
      if (poll >= 2) return controller.abort();
      // The listing of the next poll sees a small append: a minute's, as while tailing.
      for (const writer of writers) await writer.appendMinute({ records: 1, tuplesPerRecord: 5 });
    };
    const onEvent = (event: LogEvent) => {
      if (event.event === "poll.end") poll++;
    };
    const sink = new RecordingSink();
    const run = await runCollector({
      config, sink, writeLog: () => {}, onEvent, now: () => clock, signal: controller.signal, sleep,
      blobService: BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url)),
    });
    assert.equal(grown.size, writers.length, "every blob grew between its listing and its job");
    assert.ok(grownBytes * RESERVED_PER_NEW_BYTE >= WINDOW, `each grew by enough to need a whole window (${grownBytes} bytes)`);
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds(writers), "every tuple, each once");
    assert.equal(sink.duplicates, 0);
    assert.equal(run.metrics.indexed, sink.documents.size);
    const downloads = proxy.seen.filter((entry) => entry.method === "GET" && sourceBlob(entry.path) && !entry.path.includes("comp=") && entry.arrivedAt >= 0)
      .map((entry): [number, number] => [entry.arrivedAt, entry.arrivedAt + (entry.closedAfterMs ?? Infinity)]);
    const tailing = downloads.slice(-writers.length);
    const most = mostAtOnce(tailing);
    console.log(`downloads of the grown blobs at once: at most ${most} (FLOWLOGS_CONCURRENCY ${concurrency})`);
    assert.ok(most <= concurrency, `at most ${concurrency} whole-window downloads at once, found ${most}`);
  } finally {
    await proxy.stop();
  }
});
