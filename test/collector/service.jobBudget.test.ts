// The service's job budget on Azurite (collector/src/service/jobBudget.ts): blobs whose new data is unknown are read
// FLOWLOGS_CONCURRENCY at a time, as always; once this process has caught them up, a minute's append is known to be
// small and more of those jobs run together. Counts stay exact.
import { test } from "node:test";
import assert from "node:assert/strict";
import { azuriteConnectionString } from "../support/env";
import { azuriteCollectorEnv } from "../support/collectorConfig";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector } from "../../collector/src/service/collector";
import { loadConfig } from "../../collector/src/service/config";
import { SMALL_JOBS_PER_SLOT } from "../../collector/src/service/jobBudget";
import type { LogEvent } from "../../collector/src/service/logger";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";

const HOUR = new Date("2026-11-20T11:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());

test("service: unknown new data FLOWLOGS_CONCURRENCY blobs at a time; known small appends more at once, within the cap; exact counts", async () => {
  const source = scratch.container("budget-src");
  await source.create();
  const checkpoints = scratch.container("budget-cp");
  const concurrency = 2;
  const config = loadConfig(azuriteCollectorEnv(source.containerName, checkpoints.containerName, {
    FLOWLOGS_CONCURRENCY: String(concurrency), FLOWLOGS_WINDOW_BYTES: String(1 << 20), FLOWLOGS_LEASE_SECONDS: "15",
  }));
  const writers = Array.from({ length: 16 }, (_, i) => new FlowLogBlobWriter(source, {
    kind: "vnet-v4", hour: HOUR, seed: 500 + i, mac: `000D3A0003${String(i).padStart(2, "0")}`,
  }));
  for (const writer of writers) await writer.appendMinute({ records: 2, tuplesPerRecord: 10 });
  // Jobs reading at once, per poll: from each read's start to its end.
  let reading = 0;
  let poll = 0;
  const most: number[] = [0];
  const onEvent = (event: LogEvent) => {
    if (event.event === "blob.read.start") most[poll] = Math.max(most[poll] ?? 0, ++reading);
    if (event.event === "blob.read.end") reading--;
    if (event.event === "poll.end") most[++poll] = 0;
  };
  const controller = new AbortController();
  let clock = HOUR.getTime() + 10 * 60_000;
  const sleep = async (): Promise<void> => {
    clock += 60_000;
    if (poll >= 4) return controller.abort();
    for (const writer of writers) await writer.appendMinute({ records: 2, tuplesPerRecord: 10 });
  };
  const sink = new RecordingSink();
  const run = await runCollector({
    config, sink, blobService: scratch.service, writeLog: () => {}, onEvent, now: () => clock, signal: controller.signal, sleep,
  });
  assert.equal(reading, 0);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds(writers), "every tuple, each once");
  assert.equal(sink.duplicates, 0);
  assert.equal(run.metrics.indexed, sink.documents.size);
  assert.equal(most[0], concurrency, `first poll (nothing caught up here yet): ${concurrency} at a time`);
  const tailing = most.slice(1, 4);
  console.log(`most blobs read at once, per poll: ${most.slice(0, 4).join(", ")} (FLOWLOGS_CONCURRENCY ${concurrency})`);
  assert.ok(tailing.every((n) => n > concurrency && n <= concurrency * SMALL_JOBS_PER_SLOT),
    `tailing polls: more than ${concurrency}, at most ${concurrency * SMALL_JOBS_PER_SLOT} at once (${tailing.join(", ")})`);
});
