// A stop that comes between a job's windows, or while it waits for room to read (jobBudget.ts), is a stop like one
// that cuts a request short: reported as blob.stopped, the try given back, and not counted as a blob read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { runBlobJob } from "../../collector/src/service/blobJob";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { jobContext, tailedBlobOf } from "./blobJobWorld";
import { RecordingSink } from "./serviceRecordingSink";

const scratch = scratchContainers(azuriteConnectionString());

test("a stop while a job waits for room to read: blob.stopped, try given back, nothing read, the next job reads every tuple", { timeout: 60_000 }, async () => {
  const { source, checkpoints, writer, listed } = await tailedBlobOf(scratch, "stop-wait", 31, { records: 3, tuplesPerRecord: 4 });
  const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "stopping" });
  await store.ensureContainer();
  const controller = new AbortController();
  const events: string[] = [];
  const sink = new RecordingSink();
  const context = jobContext(source, store, sink, {
    signal: controller.signal,
    log: (_level, event) => { events.push(event); },
    reserveFor: async () => { controller.abort(); }, // the stop comes while the job waits to grow its reservation
  });
  const outcome = await runBlobJob(await listed(), context);
  assert.equal(outcome.kind, "stopped", JSON.stringify(outcome));
  assert.ok(events.includes("blob.stopped") && !events.includes("blob.read.end"), events.join(", "));
  assert.equal(context.metrics.blobsRead, 0);
  assert.equal(sink.documents.size, 0);
  const check = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" });
  assert.equal((await check.peek(source.containerName, writer.blobName))?.attempt, undefined, "the try counted ahead was given back");
  const next = await runBlobJob(await listed(), jobContext(source, new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "next" }), sink));
  assert.equal(next.kind, "read");
  assert.equal(sink.documents.size, writer.tuples, "every tuple");
});
