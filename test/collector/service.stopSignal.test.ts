// The stop signal lives as long as the service, and every blob job follows it: a job must hang nothing on it that
// outlives the job. A signal made with AbortSignal.any([lease lost, stop]) is registered on the stop signal as a
// dependant, and on the image's Node.js (22.23.2) each one left about 180 bytes on the heap that no collection
// reclaimed (2,000 caught-up jobs on Azurite: 472-611 bytes a job against 294-407 with the job's own controller): a
// job per blob and minute, for days, runs a 128 MB heap out. Real Azurite blob, each job a remembered lease.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { runBlobJob } from "../../collector/src/service/blobJob";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { jobContext, tailedBlobOf } from "./blobJobWorld";
import { RecordingSink } from "./serviceRecordingSink";

const scratch = scratchContainers(azuriteConnectionString());
const JOBS = 50;

/** The signals Node.js registered on `signal` as following it (AbortSignal.any), where this Node.js keeps them. */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((symbol) => symbol.description === "kDependantSignals");
  return key ? ((signal as unknown as Record<symbol, { size?: number } | undefined>)[key]?.size ?? 0) : 0;
}

test(`${JOBS} jobs under the service's stop signal leave no listener and no dependant signal on it`, { timeout: 60_000 }, async () => {
  const { source, checkpoints, listed } = await tailedBlobOf(scratch, "stop-signal", 71, { records: 1, tuplesPerRecord: 2 });
  const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "signal" });
  await store.ensureContainer();
  const stop = new AbortController();
  const context = jobContext(source, store, new RecordingSink(), { keepLeases: true, signal: stop.signal });
  // Listed without its ETag, so each job reads the block list under its signal and finds the blob caught up.
  const ref = { ...(await listed()), etag: undefined };
  assert.equal((await runBlobJob(ref, context)).kind, "read");
  for (let i = 0; i < JOBS; i++) assert.equal((await runBlobJob(ref, context)).kind, "read");
  assert.equal(getEventListeners(stop.signal, "abort").length, 0, "listeners left on the stop signal");
  assert.equal(dependants(stop.signal), 0, "signals left following the stop signal");
  await store.releaseKept();
});
