// A job whose lease is lost (its renewals unanswered) says nothing about the data: the try it counted ahead is given
// back, after taking the lease back under its id, which Azure grants only while no other replica has leased or
// written the checkpoint since. One that did owns the checkpoint: its write is left alone. Real Azurite, with the
// lease requests answered 503 on cue by a proxy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { checkpointBlobName } from "../../collector/src/checkpoint/state";
import { runBlobJob } from "../../collector/src/service/blobJob";
import { withRequestDeadline } from "../../collector/src/source/requestDeadline";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";
import { azuriteConnectionString } from "../support/env";
import { startFaultyProxy } from "../support/faultyProxy";
import { scratchContainers } from "../support/scratchContainers";
import { recordingContext, tailedBlobOf } from "./blobJobWorld";
import { RecordingSink } from "./serviceRecordingSink";

const scratch = scratchContainers(azuriteConnectionString());
const LEASE_SECONDS = 15; // Azure's shortest: the first renewal is due after 5 s

/** A sink whose first write waits until `released` resolves; `reached` resolves when it starts waiting. */
function heldSink(released: Promise<void>) {
  const sink = new RecordingSink();
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => { reach = resolve; });
  sink.onWrite = () => {
    if (sink.writes > 1) return;
    reach();
    return released;
  };
  return { sink, reached };
}

test("a lease lost to unanswered renewals while the sink works: taken back under its id, the try is given back; the next job reads every record", { timeout: 60_000 }, async () => {
  const { source, checkpoints, writer, listed } = await tailedBlobOf(scratch, "lost-back", 61, { records: 2, tuplesPerRecord: 3 });
  await new CheckpointStore(checkpoints, { leaseSeconds: LEASE_SECONDS, replicaId: "setup" }).ensureContainer();
  const refusing = { on: false };
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ path }) =>
    (refusing.on && path.includes(`/${checkpoints.containerName}/`) && path.includes("comp=lease") ? { status: 503 } : "forward"));
  try {
    const viaFlakyLeases = BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url), { retryOptions: { maxTries: 1 } })
      .getContainerClient(checkpoints.containerName);
    let lose!: () => void;
    const lost = new Promise<void>((resolve) => { lose = resolve; });
    const store = new CheckpointStore(viaFlakyLeases, {
      leaseSeconds: LEASE_SECONDS, replicaId: "lost",
      onLeaseLost: () => { refusing.on = false; lose(); }, // storage answers again right after
    });
    // The sink goes on once the lease has also run out at Azure (no renewal reached it): taken back, not still held.
    const started = Date.now();
    const expired = lost.then(() => new Promise<void>((resolve) => setTimeout(resolve, started + LEASE_SECONDS * 1000 + 500 - Date.now())));
    const { sink, reached } = heldSink(expired);
    const job = runBlobJob(await listed(), recordingContext(source, store, sink));
    await reached;
    refusing.on = true;
    const outcome = await job;
    assert.equal(outcome.kind, "failed", JSON.stringify(outcome));
    const check = new CheckpointStore(checkpoints, { leaseSeconds: LEASE_SECONDS, replicaId: "check" });
    assert.equal((await check.peek(source.containerName, writer.blobName))?.attempt, undefined, "the try counted ahead was given back");
    const last = recordingContext(source, new CheckpointStore(checkpoints, { leaseSeconds: LEASE_SECONDS, replicaId: "next" }), sink);
    assert.equal((await runBlobJob(await listed(), last)).kind, "read");
    assert.deepEqual(sink.deadLetters, [], "nothing set aside");
    assert.equal(sink.documents.size, writer.tuples, "every tuple");
  } finally {
    await proxy.stop();
  }
});

test("a lease lost to another replica that took the checkpoint over: no give-back, the new owner's checkpoint and try count stay as it wrote them", { timeout: 60_000 }, async () => {
  const { source, checkpoints, writer, listed } = await tailedBlobOf(scratch, "lost-over", 62, { records: 2, tuplesPerRecord: 3 });
  await new CheckpointStore(checkpoints, { leaseSeconds: LEASE_SECONDS, replicaId: "setup" }).ensureContainer();
  let lose!: () => void;
  const lost = new Promise<void>((resolve) => { lose = resolve; });
  const store = new CheckpointStore(checkpoints, { leaseSeconds: LEASE_SECONDS, replicaId: "first", onLeaseLost: () => lose() });
  const { sink, reached } = heldSink(lost);
  const job = runBlobJob(await listed(), recordingContext(source, store, sink));
  // The renewal timer does not hold the process open (unref'd): this keeps the test's event loop alive until it fires.
  const awake = setInterval(() => {}, 1_000);
  await reached;
  // The first replica's lease ends (broken here, as an expiry would) and another replica takes it and counts its try.
  await checkpoints.getBlobClient(checkpointBlobName(source.containerName, writer.blobName)).getBlobLeaseClient().breakLease(0);
  const owner = await new CheckpointStore(checkpoints, { leaseSeconds: LEASE_SECONDS, replicaId: "owner" }).tryAcquire(source.containerName, writer.blobName);
  assert.ok(owner, "the other replica took the lease");
  const counted = owner.checkpoint.attempt!;
  assert.equal(counted.count, 1, "the first replica's try, counted ahead");
  await owner.save({ ...owner.checkpoint, attempt: { ...counted, count: 2 } });
  assert.equal((await job).kind, "failed");
  const stored = await new CheckpointStore(checkpoints, { leaseSeconds: LEASE_SECONDS, replicaId: "check" }).peek(source.containerName, writer.blobName);
  assert.equal(stored?.updatedBy, "owner", "the new owner's write stands");
  assert.deepEqual(stored?.attempt, { ...counted, count: 2 });
  await owner.release();
  clearInterval(awake);
});

test("renewals that get no answer at all: the job is told its lease is lost by the time it could run out at Azure, before another replica can take the blob", { timeout: 60_000 }, async () => {
  const { source, checkpoints, writer, listed } = await tailedBlobOf(scratch, "lost-stall", 62, { records: 2, tuplesPerRecord: 3 });
  await new CheckpointStore(checkpoints, { leaseSeconds: LEASE_SECONDS, replicaId: "setup" }).ensureContainer();
  const stalling = { on: false };
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ path }) =>
    (stalling.on && path.includes(`/${checkpoints.containerName}/`) && path.includes("comp=lease") ? "stallHead" : "forward"));
  try {
    // As in production: the collector's deadline per try (45 s, the SDK's 4 tries), far longer than the lease.
    const stalled = withRequestDeadline(BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url))
      .getContainerClient(checkpoints.containerName), 45_000);
    let lostAt: number | undefined;
    let lostReason = "";
    const store = new CheckpointStore(stalled, { leaseSeconds: LEASE_SECONDS, replicaId: "a", onLeaseLost: (_name, reason) => { lostAt = Date.now(); lostReason = reason; } });
    let release!: () => void;
    const { sink, reached } = heldSink(new Promise<void>((resolve) => { release = resolve; }));
    const job = runBlobJob(await listed(), recordingContext(source, store, sink));
    await reached;
    stalling.on = true;
    const other = new CheckpointStore(checkpoints, { leaseSeconds: LEASE_SECONDS, replicaId: "b" });
    let taken;
    while (!(taken = await other.tryAcquire(source.containerName, writer.blobName))) await new Promise((resolve) => setTimeout(resolve, 250));
    const takenAt = Date.now();
    assert.ok(lostAt !== undefined && lostAt <= takenAt, `told ${lostAt === undefined ? "never" : `${takenAt - lostAt} ms before`} the other replica took the lease`);
    assert.match(lostReason, /no renewal answered within the lease's 15 s/);
    release();
    assert.equal((await job).kind, "failed");
    await taken.release();
  } finally {
    await proxy.stop();
  }
});
