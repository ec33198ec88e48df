// The Azure requests one tailing job costs, counted by a forwarding proxy in front of the real Azurite: every poll
// of the service pays them once per changed blob (scripts/bench/tailingCpu.ts), so one more is a cost per minute
// per NIC. The sequence is asserted exactly, with the documents, so a saved request cannot cost correctness.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { startFaultyProxy, type FaultyProxy } from "../support/faultyProxy";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector } from "../../collector/src/service/collector";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";
import type { LogEvent } from "../../collector/src/service/logger";
import { azuriteCollectorConfig } from "../support/collectorConfig";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { checkpointBlobName } from "../../collector/src/checkpoint/state";

const scratch = scratchContainers(azuriteConnectionString());

/** `GET checkpoint blob`, `PUT checkpoint lease`, `GET source blocklist`... (`+ If-Match` when conditional). */
function kind(seen: { method: string; path: string; ifMatch?: string; status?: number }, source: string): string {
  const url = new URL(seen.path, "http://proxy");
  const target = url.pathname.split("/")[2] === source ? "source" : "checkpoint";
  const what = `${seen.method} ${target} ${url.searchParams.get("comp") ?? url.searchParams.get("restype") ?? "blob"}`;
  return url.searchParams.get("comp") === "lease" && seen.ifMatch ? `${what} If-Match -> ${seen.status}` : what;
}

function tailingConfig(source: string, checkpoints: string) {
  return azuriteCollectorConfig(source, checkpoints, {
    FLOWLOGS_REPLICA_ID: "test",
  });
}

/** Source and checkpoint containers on Azurite, a client that reaches them through a counting proxy, and a config. */
async function proxiedStorage(name: string, body: (storage: {
  source: ContainerClient; proxy: FaultyProxy; viaProxy: BlobServiceClient; config: ReturnType<typeof tailingConfig>;
}) => Promise<void>): Promise<void> {
  const source = scratch.container(`${name}-src`);
  const checkpoints = scratch.container(`${name}-cp`);
  await source.create();
  const endpoint = new URL(scratch.service.url);
  const proxy = await startFaultyProxy(endpoint.origin, () => "forward");
  try {
    const viaProxy = BlobServiceClient.fromConnectionString(azuriteConnectionString().replace(endpoint.origin, proxy.url));
    await body({ source, proxy, viaProxy, config: tailingConfig(source.containerName, checkpoints.containerName) });
  } finally {
    await proxy.stop();
  }
}

test("a job on a grown blob whose checkpoint another process wrote: lease, read, count the try, block list, one ranged read, one write, release; no create-if-missing upload", () => proxiedStorage("req", async ({ source, proxy, viaProxy, config }) => {
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 31, mac: "000D3A000031" });
  const sink = new RecordingSink();
  const pass = () => runCollector({ config, sink, once: true, blobService: viaProxy, writeLog: () => {} });
  await writer.appendMinute({ records: 2 });
  await pass();
  await writer.appendMinute({ records: 2 });
  const from = proxy.seen.length;
  const summary = await pass();
  assert.deepEqual(proxy.seen.slice(from).map((seen) => kind(seen, source.containerName)), [
    "PUT checkpoint container", // ensureContainer (start-up)
    "GET checkpoint list", // caught-up ETags (start-up)
    "GET source list",
    "GET checkpoint blob", // peek: the checkpoint exists, its ETag is older than the listed one
    "PUT checkpoint lease", // acquire
    "GET checkpoint blob", // the checkpoint under the lease
    "PUT checkpoint blob", // the try, counted before reading
    "GET source blocklist",
    "GET source blob", // the new minute, one ranged read
    "PUT checkpoint blob", // after the sink took the last (here: only) window, caught up: with the ETag
    "PUT checkpoint lease", // release
  ]);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
  assert.equal(sink.documents.size, writer.tuples);
  assert.equal(summary.metrics.duplicates, 0);
  assert.equal(summary.metrics.blobsRead, 1);
}));

test("a blob's first job costs 8 requests: the lease on the condition of the ETag the checkpoint's create answered replaces the read under it, and a blob whose hour is over is marked done by the caught-up write", () => proxiedStorage("req-first", async ({ source, proxy, viaProxy, config }) => {
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T09:00:00Z"), seed: 33, mac: "000D3A000033" });
  await writer.appendMinute({ records: 2 });
  await writer.appendMinute({ records: 2 });
  const sink = new RecordingSink();
  const summary = await runCollector({
    config, sink, once: true, blobService: viaProxy, writeLog: () => {},
    now: () => Date.parse("2026-11-20T12:00:00Z"), // past the hour and its grace: Azure appends no more
  });
  assert.deepEqual(proxy.seen.map((seen) => kind(seen, source.containerName)), [
    "PUT checkpoint container", // ensureContainer (start-up)
    "GET checkpoint list", // caught-up ETags (start-up)
    "GET source list",
    "GET checkpoint blob", // peek: no checkpoint yet (404)
    "PUT checkpoint blob", // created, If-None-Match: *
    "PUT checkpoint lease If-Match -> 201", // on the condition of the ETag the create answered: not read again
    "PUT checkpoint blob", // the try, counted before reading (a crash on the first records counts: service.bounded.test.ts)
    "GET source blocklist",
    "GET source blob",
    "PUT checkpoint blob", // caught up, with the ETag, and done: one write
    "PUT checkpoint lease", // release
  ]);
  assert.equal(proxy.seen[3]!.status, 404);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
  assert.equal(sink.documents.size, writer.tuples);
  assert.deepEqual(summary.metrics.checkpointLeases, { created: 1, read: 0, remembered: 0, stale: 0 });
  assert.equal(summary.metrics.blobsDone, 1);
  const stored = await new CheckpointStore(scratch.service.getContainerClient(config.checkpointContainer), { leaseSeconds: 15, replicaId: "check" })
    .peek(source.containerName, writer.blobName);
  assert.equal(stored?.done, true);
  assert.equal(stored?.offset, writer.length - 2, "up to the tail `]}`");
  assert.equal(stored?.etag, (await source.getBlockBlobClient(writer.blobName).getProperties()).etag?.replace(/"/g, ""));
}));

test("while the service tails, a blob whose checkpoint it wrote last costs 4 requests: the lease on the condition of that checkpoint's ETag replaces the peek and the read, no try is written ahead, and the lease is kept for the next job, not released; another replica's write in between is noticed (412) and read", () => proxiedStorage("req-tail", async ({ source, proxy, viaProxy, config }) => {
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T11:00:00Z"), seed: 32, mac: "000D3A000032" });
  const sink = new RecordingSink();
  const controller = new AbortController();
  const marks: number[] = [];
  let thirdMinute = -1;
  const other = new RecordingSink(); // a second replica, straight to Azurite (its requests are not counted)
  const steps: Array<() => Promise<void>> = [
    async () => { await writer.appendMinute({ records: 2 }); marks.push(proxy.seen.length); },
    async () => {
      thirdMinute = (await writer.appendMinute({ records: 2 })).tuples;
      const otherReplica = () => runCollector({
        config: { ...config, replicaId: "other" }, sink: other, once: true, blobService: scratch.service, writeLog: () => {},
        now: () => Date.parse("2026-11-20T11:10:00Z"),
      });
      // The lease this replica kept after its job still holds the blob: the other replica finds it busy.
      assert.equal((await otherReplica()).metrics.blobsBusy, 1);
      assert.equal(other.documents.size, 0);
      // As if the kept lease had run out (at most FLOWLOGS_LEASE_SECONDS after the job): the other replica reads.
      await scratch.service.getContainerClient(config.checkpointContainer)
        .getBlockBlobClient(checkpointBlobName(source.containerName, writer.blobName)).getBlobLeaseClient().breakLease(0);
      await otherReplica();
      marks.push(proxy.seen.length);
    },
    async () => { await writer.appendMinute({ records: 2 }); marks.push(proxy.seen.length); },
    async () => { await writer.appendMinute({ records: 2 }); marks.push(proxy.seen.length); },
    async () => controller.abort(),
  ];
  const events: LogEvent[] = [];
  await writer.appendMinute({ records: 2 });
  const summary = await runCollector({
    config, sink, blobService: viaProxy, writeLog: () => {}, onEvent: (e) => events.push(e), signal: controller.signal,
    sleep: () => steps.shift()!(), now: () => Date.parse("2026-11-20T11:10:00Z"), // within the blob's hour: tailing
  });
  marks.push(proxy.seen.length);
  const poll = (n: number) => proxy.seen.slice(marks[n], marks[n + 1]).map((seen) => kind(seen, source.containerName));
  const remembered = [
    "GET source list",
    "PUT checkpoint lease If-Match -> 201", // acquire, on the condition of the ETag this replica wrote last
    // no try written ahead: no crash can hide behind a checkpoint this process wrote (service.tries.test.ts)
    "GET source blocklist",
    "GET source blob",
    "PUT checkpoint blob", // caught up
    // no release: the lease is kept, and the next job takes it again under the same id (checkpoint/store.ts)
  ];
  assert.deepEqual(proxy.seen.slice(0, marks[0]).map((seen) => kind(seen, source.containerName)), [
    "PUT checkpoint container", // ensureContainer (start-up)
    "GET checkpoint list", // caught-up ETags (start-up)
    "GET source list",
    "GET checkpoint blob", // peek: no checkpoint yet (404)
    "PUT checkpoint blob", // created, If-None-Match: *
    "PUT checkpoint lease If-Match -> 201", // on the condition of the ETag the create answered
    "PUT checkpoint blob", // the try, counted before reading
    "GET source blocklist",
    "GET source blob",
    "PUT checkpoint blob", // caught up
    // no release: the hour is not over, so the blob may grow and the lease is kept for the next job
  ], "the first minute: a blob's first job before its hour is over, 7 requests");
  assert.deepEqual(poll(0), remembered, "the second minute");
  assert.deepEqual(poll(1), [
    "GET source list",
    "PUT checkpoint lease If-Match -> 412", // the other replica wrote since: no lease, nothing read
    "GET checkpoint blob", // peek: the other replica caught up with this very ETag
  ], "the third minute, already read by the other replica");
  assert.deepEqual(poll(2), [
    "GET source list",
    "GET checkpoint blob", // peek (nothing remembered any more)
    "PUT checkpoint lease",
    "GET checkpoint blob",
    "PUT checkpoint blob",
    "GET source blocklist",
    "GET source blob",
    "PUT checkpoint blob",
  ], "the fourth minute: the usual path, the lease kept");
  assert.deepEqual(poll(3), [...remembered, "PUT checkpoint lease"], "the fifth minute: remembered again; the stop releases the kept lease");
  const all = await expectedIds([writer]);
  const both = new Set([...sink.documents.keys(), ...other.documents.keys()]);
  assert.deepEqual(both, all, "every tuple, by one replica or the other");
  assert.equal(sink.documents.size + other.documents.size, writer.tuples, "none twice");
  assert.equal(other.documents.size, thirdMinute, "the other replica read exactly the third minute");
  assert.equal(events.filter((e) => e.event === "checkpoint.damaged").length, 0);
  assert.deepEqual(summary.metrics.checkpointLeases, { created: 1, read: 1, remembered: 2, stale: 1 }, "first minute on the checkpoint it created, fourth read, second and fifth remembered");
  assert.match(summary.metrics.render(), /flowlogs_checkpoint_leases_total\{checkpoint="stale"\} 1/);
}));

test("a finished job releases its lease when leases outlast the wait between polls (FLOWLOGS_KEEP_LEASES=auto), or when told to (off)", async () => {
  for (const label of ["auto", "off"] as const) {
    await proxiedStorage(`req-rel-${label}`, async ({ source, proxy, viaProxy, config }) => {
      const settings = label === "auto" ? { pollIntervalSeconds: config.leaseSeconds } : { keepLeases: label };
      const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T11:00:00Z"), seed: 34, mac: "000D3A000034" });
      await writer.appendMinute({ records: 2 });
      const controller = new AbortController();
      const marks: number[] = [];
      const steps = [
        async () => { await writer.appendMinute({ records: 2 }); marks.push(proxy.seen.length); },
        async () => { marks.push(proxy.seen.length); controller.abort(); },
      ];
      const events: LogEvent[] = [];
      const sink = new RecordingSink();
      await runCollector({
        config: { ...config, ...settings }, sink, blobService: viaProxy, writeLog: () => {}, onEvent: (e) => events.push(e),
        signal: controller.signal, sleep: () => steps.shift()!(), now: () => Date.parse("2026-11-20T11:10:00Z"),
      });
      const second = proxy.seen.slice(marks[0], marks[1]).map((seen) => kind(seen, source.containerName));
      assert.deepEqual(second.slice(-1), ["PUT checkpoint lease"], `${label}: the tailing job ends with the release`);
      assert.equal(second.length, 6, `${label}: listing and 5 requests`);
      assert.equal(events.filter((e) => e.event === "blob.lease.kept").length, 0, label);
      assert.equal(sink.documents.size, writer.tuples, label);
    });
  }
});
