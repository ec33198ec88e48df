// A stop (SIGTERM) while Azure Storage stalls: the stop reaches the storage request under way (listing, lease, block
// list, download), so the service returns within a couple of seconds, not after the request's tries run out
// (4 x FLOWLOGS_STORAGE_TIMEOUT_MS, here 10 s each, 45 s by default: longer than a container's kill grace). The job
// gives its try back and releases its lease, so a stop during a stall never brings a good record closer to being set
// aside. Real Azurite behind a proxy that stalls on cue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { azuriteConnectionString } from "../support/env";
import type { Fault } from "../support/faultyProxy";
import { scratchContainers } from "../support/scratchContainers";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { checkpointBlobName } from "../../collector/src/checkpoint/state";
import { RecordingSink } from "./serviceRecordingSink";
import { serve, stallWorld, type RequestKind } from "./storageStall";

/** Far above the stop's bound: a stop that waits for a stalled try's deadline fails the test. */
const DEADLINE_MS = 10_000;
/**
 * How long a stop may take on a busy 2-core machine (the give-back and the release through Azurite included): half
 * the stalled try's deadline, so a stop that waits for it still fails. About 100-300 ms here when idle.
 */
const STOP_WITHIN_MS = DEADLINE_MS / 2;
const scratch = scratchContainers(azuriteConnectionString());

const cases: Array<{ kind: RequestKind; fault: Fault; job: boolean }> = [
  { kind: "listing", fault: "stallHead", job: false },
  { kind: "lease", fault: "stallHead", job: false },
  { kind: "download", fault: "stallHead", job: true },
  { kind: "download", fault: "stallBody", job: true },
];

for (const { kind, fault, job } of cases) {
  test(`a stop while a ${kind} request stalls (${fault}) returns within ${STOP_WITHIN_MS} ms${job ? ", gives the job's try back and releases its lease" : ""}`, { timeout: 60_000 }, async (t) => {
    const { proxy, blobService, config, writer, source, checkpoints } = await stallWorld(scratch, `stop-${kind}-${fault}`.toLowerCase(),
      (seen) => (seen === kind ? fault : undefined), { deadlineMs: DEADLINE_MS });
    await writer.appendMinute({ records: 3, tuplesPerRecord: 4 });
    const service = serve({ config, sink: new RecordingSink(), blobService });
    try {
      const stalled = () => proxy.seen.some((r) => r.fault === fault && r.closedAfterMs === undefined);
      for (const deadline = Date.now() + 20_000; !stalled();) {
        assert.ok(Date.now() < deadline, `no ${kind} request stalled`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const asked = Date.now();
      const stopped = await Promise.race([service.stop().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), STOP_WITHIN_MS))]);
      const took = Date.now() - asked;
      t.diagnostic(`stop took ${stopped ? `${took} ms` : `over ${STOP_WITHIN_MS} ms`}`);
      assert.ok(stopped, `the stop waited on the stalled ${kind} request`);
      const { metrics } = await service.done;
      assert.equal(metrics.errors, 0, "a stop is not a failure (the exit status stays 0)");
      assert.deepEqual(service.events.filter((e) => e.level === "error"), []);
      const name = checkpointBlobName(source.containerName, writer.blobName);
      const stored = await new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" }).peek(source.containerName, writer.blobName).catch(() => undefined);
      assert.equal(stored?.attempt, undefined, "no try left counted");
      if (job) {
        assert.ok(service.events.some((e) => e.event === "blob.read.start"), "the job had counted its try and started reading");
        assert.equal((await checkpoints.getBlobClient(name).getProperties()).leaseState, "available", "the lease released");
      }
    } finally {
      await proxy.stop();
      await service.done.catch(() => undefined);
    }
  });
}
