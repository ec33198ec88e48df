// The scheduler's memory of caught-up blobs against the heap (service/rememberedBlobs.ts): warned once, while there
// is time to give the collector more memory, and shown as a gauge.
import { test } from "node:test";
import assert from "node:assert/strict";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector } from "../../collector/src/service/collector";
import { azuriteCollectorConfig } from "./azuriteCollectorConfig";
import { BYTES_PER_REMEMBERED_BLOB, rememberedBlobsWarning } from "../../collector/src/service/rememberedBlobs";
import type { LogEvent } from "../../collector/src/service/logger";
import { RecordingSink } from "./serviceRecordingSink";

const scratch = scratchContainers(azuriteConnectionString());
/** The image's heap limit: 128 MB old generation and three 8 MB semi-spaces (test/infra/collector-heap.test.ts). */
const IMAGE_HEAP = 152 * 1048576;

test("remembered blobs: no warning while they take under a third of the heap; then one naming the count, the estimate, what fits and the fix", () => {
  assert.equal(rememberedBlobsWarning(0, IMAGE_HEAP), undefined);
  assert.equal(rememberedBlobsWarning(440_000, IMAGE_HEAP), undefined, "50 MB of 152");
  const warning = rememberedBlobsWarning(450_000, IMAGE_HEAP);
  assert.deepEqual({ ...warning, action: undefined }, { blobs: 450_000, estimatedMb: 51, heapLimitMb: 152, action: undefined });
  assert.match(warning!.action, /^about 664000 blobs of retention fit this heap; .*collector\.memoryGb in the Pulumi stack.*--max-old-space-size in NODE_OPTIONS/);
  // 2 GB in the Pulumi stack: a 1,152 MB old generation (infra/components/collectorHeap.ts).
  assert.equal(rememberedBlobsWarning(3_000_000, 1176 * 1048576), undefined);
});

test("remembered blobs on a service: warned once when a poll's blobs pass a third of the heap, at start-up after a restart, never on a heap that holds them; the gauge counts them", async () => {
  const source = scratch.container("mem-blobs");
  const checkpoints = scratch.container("mem-blobs-cp");
  await source.create();
  const writers = [1, 2, 3].map((seed) =>
    new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed, mac: `000D3A00000${seed}` }));
  for (const writer of writers) await writer.appendMinute({ records: 1 });
  const config = azuriteCollectorConfig(source, checkpoints);
  // Three blobs take 360 bytes: a heap of 1,000 is outgrown at a third, one of 1,200 is not.
  const small = 1_000;
  assert.ok(3 * BYTES_PER_REMEMBERED_BLOB >= small / 3 && 3 * BYTES_PER_REMEMBERED_BLOB < 1_200 / 3);
  const run = async (heapLimitBytes: number) => {
    const events: LogEvent[] = [];
    const summary = await runCollector({
      config, sink: new RecordingSink(), once: true, blobService: scratch.service, writeLog: () => {}, onEvent: (e) => events.push(e), heapLimitBytes,
    });
    const order = events.map((e) => e.event).filter((e) => e === "checkpoints.listed" || e === "memory.blobs" || e === "poll.end");
    return { summary, events, order };
  };

  const first = await run(small);
  assert.deepEqual(first.order, ["checkpoints.listed", "poll.end", "memory.blobs"], "nothing remembered at start-up; the poll caught up with three");
  const warning = first.events.find((e) => e.event === "memory.blobs")!;
  assert.equal(warning.level, "warn");
  assert.equal(warning.blobs, 3);
  assert.match(String(warning.action), /collector\.memoryGb/);
  assert.equal(first.summary.metrics.blobsRemembered, 3);
  assert.match(first.summary.metrics.render(), /^flowlogs_blobs_remembered 3$/m);

  const restarted = await run(small);
  assert.deepEqual(restarted.order, ["checkpoints.listed", "memory.blobs", "poll.end"], "a restart knows at once, and says it once");

  const roomy = await run(1_200);
  assert.deepEqual(roomy.order, ["checkpoints.listed", "poll.end"]);
  assert.equal(roomy.summary.metrics.blobsRemembered, 3);
});
