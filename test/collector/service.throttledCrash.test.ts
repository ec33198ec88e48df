// A record that crashes the process (out of memory, say) after the sink waited out a throttle in the same job: the
// wait gives the try back, so a kill while Elasticsearch is down uses no try, but the try is counted again once the
// sink took the write it waited on, so the crash that follows is counted and the record is set aside after
// FLOWLOGS_MAX_ATTEMPTS crashes instead of crash-looping for ever. Real Azurite (blob, checkpoints, leases).
import { test } from "node:test";
import assert from "node:assert/strict";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { checkpointBlobName } from "../../collector/src/checkpoint/state";
import type { IdentifiedDocument, SinkResult, SourcePosition, WriteOptions } from "../../collector/src/model";
import { runBlobJob } from "../../collector/src/service/blobJob";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { jobContext, tailedBlobOf } from "./blobJobWorld";
import { RecordingSink } from "./serviceRecordingSink";

const scratch = scratchContainers(azuriteConnectionString());

/**
 * Every write waits once (the sink's onWaiting, as before a retry after a 429) and is then taken; a write past the
 * first of a job freezes for good, as a process that died on the record would (it writes nothing more).
 */
class ThrottledCrashingSink extends RecordingSink {
  readonly crashed: Promise<void>;
  private crash!: () => void;
  constructor(shared: RecordingSink, private readonly poisoned: () => boolean) {
    super(shared);
    this.crashed = new Promise<void>((resolve) => { this.crash = resolve; });
  }

  override async write(documents: IdentifiedDocument[], position?: SourcePosition, options?: WriteOptions): Promise<SinkResult> {
    if (this.poisoned() && this.writes > 0) {
      this.crash();
      return new Promise<SinkResult>(() => {});
    }
    await options?.onWaiting?.();
    return super.write(documents, position);
  }
}

test("a crash on a record after the sink waited on it (sustained throttling) is counted: set aside after FLOWLOGS_MAX_ATTEMPTS crashes, not looped on", { timeout: 60_000 }, async () => {
  const { source, checkpoints, writer, listed } = await tailedBlobOf(scratch, "throttled-crash", 63, { records: 1, tuplesPerRecord: 3 });
  const shared = new RecordingSink();
  const first = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "first" });
  await first.ensureContainer();
  const context = (store: CheckpointStore, sink: RecordingSink) => jobContext(source, store, sink, { batchDocuments: 4 });
  assert.equal((await runBlobJob(await listed(), context(first, shared))).kind, "read");
  // The poison: one record of 8 tuples, written to the sink in two batches of 4; the process dies after the first.
  await writer.appendMinute({ records: 1, tuplesPerRecord: 8 });
  let poisoned = true;
  let crashes = 0;
  for (let run = 1; run <= 6; run++) {
    const sink = new ThrottledCrashingSink(shared, () => poisoned);
    const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: `process-${run}` });
    const job = runBlobJob(await listed(), context(store, sink));
    const ended = await Promise.race([sink.crashed.then(() => undefined), job]);
    if (ended) {
      assert.equal(ended.kind, "read", JSON.stringify(ended));
      break;
    }
    crashes++;
    // What the dead process leaves: its checkpoint as stored and a lease nobody renews (broken: its expiry).
    await checkpoints.getBlobClient(checkpointBlobName(source.containerName, writer.blobName)).getBlobLeaseClient().breakLease(0);
  }
  poisoned = false;
  assert.equal(crashes, 2, "FLOWLOGS_MAX_ATTEMPTS (2) crashes, then the record set aside");
  assert.equal(shared.deadLetters.length, 1);
  assert.match(shared.deadLetters[0]!.reason, /not processed after 2 tries at offset \d+ \(the process stopped while on it\)/);
});
