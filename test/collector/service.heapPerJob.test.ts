// A tailing service runs a job per blob and minute for days under a 128 MB heap: whatever a job leaves on the heap
// adds up (270 B a job would be about 390 MB a day with 1,000 blobs). Measured, the heap grows for the first few
// thousand jobs and then levels off, and what grows is V8's compiled code (collector/PERFORMANCE.md, "Heap per job in
// a long-running service"). This holds the rest to nothing per job: the program's own objects, counted by kind in
// heap snapshots around a run of caught-up jobs on one real Azurite blob, after the code has had time to warm up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { runBlobJob } from "../../collector/src/service/blobJob";
import { azuriteConnectionString } from "../support/env";
import { heapCensus, heapGrowth } from "../support/heapCensus";
import { scratchContainers } from "../support/scratchContainers";
import { scratchDir } from "../support/scratchDir";
import { jobContext, tailedBlobOf } from "./blobJobWorld";
import { RecordingSink } from "./serviceRecordingSink";

const scratch = scratchContainers(azuriteConnectionString());
const WARM_UP_JOBS = 100;
const JOBS = 300;

/** V8's own bookkeeping (object layouts, wrappers and lists of compiled code), which follows the JIT's warm-up. */
const v8Internal = (kind: string): boolean => kind.startsWith("hidden:") || kind.startsWith("object shape:");

test(`${JOBS} caught-up jobs on one blob, under the stop signal, leave none of the program's objects on the heap`, { timeout: 60_000 }, async (t) => {
  const dir = scratchDir(t, "heap-per-job-");
  const { source, checkpoints, listed } = await tailedBlobOf(scratch, "heap-per-job", 73, { records: 1, tuplesPerRecord: 2 });
  const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "heap" });
  await store.ensureContainer();
  const stop = new AbortController();
  const context = jobContext(source, store, new RecordingSink(), { keepLeases: true, signal: stop.signal });
  // Listed without its ETag, so each job leases, reads the block list and finds the blob caught up.
  const ref = { ...(await listed()), etag: undefined };
  const runJobs = async (jobs: number): Promise<void> => {
    for (let i = 0; i < jobs; i++) assert.equal((await runBlobJob(ref, context)).kind, "read");
  };
  await runJobs(WARM_UP_JOBS);
  // Both snapshots are taken before either is counted: a census held on the heap would be counted in the second.
  const before = writeHeapSnapshot(join(dir, "before.heapsnapshot"));
  await runJobs(JOBS);
  const after = writeHeapSnapshot(join(dir, "after.heapsnapshot"));
  await store.releaseKept();
  const grown = heapGrowth(heapCensus(before), heapCensus(after)).filter(({ kind }) => !v8Internal(kind));
  const listing = grown.slice(0, 8).map(({ kind, count, bytes }) => `${kind} ${count >= 0 ? "+" : ""}${count} (${bytes} B)`).join(", ");
  // Counted, not weighed: the bytes of a few backing stores (Node's list of async ids awaiting their destroy hooks,
  // arrays grown to a capacity) move by 10-30 KB between runs with the timing. Measured: at most 2 more of any kind.
  const perJob = grown.filter(({ count }) => count >= JOBS / 2);
  assert.deepEqual(perJob.map(({ kind }) => kind), [], `kinds of objects that grew by about one per job: ${listing}`);
});
