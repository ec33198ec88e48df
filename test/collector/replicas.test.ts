import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ContainerClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "../support/env";
import { azuriteCollectorEnv } from "../support/collectorConfig";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter, type FlowLogKind } from "../support/flowLogWriter";
import { runCollector } from "../../collector/src/service/collector";
import { loadConfig, type CollectorConfig } from "../../collector/src/service/config";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import type { LogEvent } from "../../collector/src/service/logger";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";

const HOUR = new Date("2026-11-20T11:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());
const service = scratch.service;

async function setup(): Promise<{ source: ContainerClient; env: Record<string, string>; config: (replica: string) => CollectorConfig }> {
  const source = scratch.container("rep-src");
  await source.create();
  const checkpoints = scratch.container("rep-cp");
  const env = azuriteCollectorEnv(source.containerName, checkpoints.containerName, {
    FLOWLOGS_LEASE_SECONDS: "15",
    FLOWLOGS_WINDOW_BYTES: "8192",
    FLOWLOGS_BATCH_DOCUMENTS: "40",
  });
  return { source, env, config: (replica) => loadConfig({ ...env, FLOWLOGS_REPLICA_ID: replica }) };
}

test("three replicas over the same containers: exact counts, no blob read by two at once", async () => {
  const { source, config } = await setup();
  const kinds: FlowLogKind[] = ["nsg-v1", "nsg-v2", "vnet-v4"];
  const writers = Array.from({ length: 12 }, (_, i) => new FlowLogBlobWriter(source, {
    kind: kinds[i % 3], hour: HOUR, seed: 100 + i, mac: `000D3A0000${String(i).padStart(2, "0")}`,
  }));
  const destination = new RecordingSink();
  const active = new Map<string, string>();
  const overlaps: string[] = [];
  const watch = (event: LogEvent) => {
    if (event.event === "blob.read.start") {
      const holder = active.get(String(event.blob));
      if (holder) overlaps.push(`${event.blob} read by ${event.replica} while ${holder} reads it`);
      active.set(String(event.blob), String(event.replica));
    }
    if (event.event === "blob.lease.released" || event.event === "blob.lease.kept") active.delete(String(event.blob));
  };
  const replicas = ["r1", "r2", "r3"];
  const runReplica = (replica: string, sink = new RecordingSink(destination)) => runCollector({
    config: config(replica), sink, once: true, blobService: service, writeLog: () => {}, onEvent: watch,
  });
  const pass = () => Promise.all(replicas.map((replica) => runReplica(replica)));
  const total = () => writers.reduce((n, w) => n + w.tuples, 0);

  // Round 0, a deterministic meeting: r1 takes its first blobs and stalls inside the sink while holding their
  // leases; r2 and r3 then make a whole pass and must skip those blobs and share the rest.
  for (const writer of writers) await writer.appendMinute({ records: 2, tuplesPerRecord: 12 });
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => { openGate = resolve; });
  let reportStalled!: () => void;
  const stalled = new Promise<void>((resolve) => { reportStalled = resolve; });
  const r1Sink = new RecordingSink(destination);
  r1Sink.onWrite = async () => { reportStalled(); await gate; };
  const r1 = runReplica("r1", r1Sink);
  await stalled;
  const [r2, r3] = await Promise.all([runReplica("r2"), runReplica("r3")]);
  openGate();
  const first = await r1;
  assert.ok(r2.metrics.blobsBusy >= 1 && r3.metrics.blobsBusy >= 1, "r2 and r3 met r1's leases");
  assert.equal(first.metrics.blobsRead + r2.metrics.blobsRead + r3.metrics.blobsRead, writers.length, "each blob read by exactly one replica");
  assert.ok(r2.metrics.blobsRead + r3.metrics.blobsRead >= writers.length - 4, "r2 and r3 shared the blobs r1 did not hold");
  assert.equal(destination.documents.size, total());

  for (let round = 1; round < 4; round++) {
    for (const writer of writers) await writer.appendMinute({ records: 2, tuplesPerRecord: 12 });
    await pass();
    assert.equal(destination.documents.size, total(), `after round ${round}`);
  }
  // Writers keep appending while the replicas read; a final pass catches up.
  const appending = (async () => {
    for (let i = 0; i < 3; i++) for (const writer of writers) await writer.appendMinute({ records: 1, tuplesPerRecord: 7 });
  })();
  await Promise.all([pass(), appending]);
  await pass();
  assert.deepEqual(overlaps, []);
  assert.deepEqual(new Set(destination.documents.keys()), await expectedIds(writers));
  assert.equal(destination.documents.size, total());
  assert.equal(destination.duplicates, 0, "no block was delivered twice");
});

test("three replicas in service mode, listing only the recent hours between full listings, while Azure appends: exact counts", async () => {
  const { source, env } = await setup();
  const config = (replica: string) => loadConfig({ ...env, FLOWLOGS_REPLICA_ID: replica, FLOWLOGS_FULL_LISTING_MINUTES: "30" });
  const kinds: FlowLogKind[] = ["nsg-v1", "nsg-v2", "vnet-v4"];
  const current = Array.from({ length: 6 }, (_, i) => new FlowLogBlobWriter(source, {
    kind: kinds[i % 3], hour: HOUR, seed: 200 + i, mac: `000D3A0001${String(i).padStart(2, "0")}`,
  }));
  const old = Array.from({ length: 3 }, (_, i) => new FlowLogBlobWriter(source, {
    kind: kinds[i % 3], hour: new Date(HOUR.getTime() - 3 * 3_600_000), seed: 300 + i, mac: `000D3A0002${String(i).padStart(2, "0")}`,
  }));
  for (const writer of [...current, ...old]) await writer.appendMinute({ records: 2, tuplesPerRecord: 9 });
  let clock = HOUR.getTime() + 20 * 60_000;
  const controller = new AbortController();
  // Between rounds (every replica has polled once): Azure appends to the current hour; once, late, to an old hour;
  // then the clock passes the full-listing interval so the late write is found. Three idle rounds follow: a replica
  // that met another's lease retries, and each round at least one of the (at most three) contenders finishes.
  // The clock moves a minute a round; the 15 s leases that finished jobs kept (only while polls are further apart
  // than leases last) would run out meanwhile on Azure's clock, which this test does not move: broken here, as lapsed.
  const lapseKeptLeases = async (): Promise<void> => {
    const checkpoints = service.getContainerClient(env.FLOWLOGS_CHECKPOINT_CONTAINER!);
    for await (const blob of checkpoints.listBlobsFlat()) {
      if (blob.properties.leaseState === "leased") await checkpoints.getBlobClient(blob.name).getBlobLeaseClient().breakLease(0);
    }
  };
  const betweenRounds = async (round: number): Promise<void> => {
    clock += 60_000;
    await lapseKeptLeases();
    if (round <= 4) for (const writer of current) await writer.appendMinute({ records: 1, tuplesPerRecord: 6 });
    if (round === 2) await old[1]!.appendMinute({ records: 1, tuplesPerRecord: 5 });
    if (round === 5) clock += 31 * 60_000;
    if (round === 9) controller.abort();
  };
  const replicas = ["s1", "s2", "s3"];
  let arrived = 0;
  let round = 0;
  let release!: () => void;
  let next = new Promise<void>((resolve) => { release = resolve; });
  const barrier = async (): Promise<void> => {
    const wait = next;
    if (++arrived === replicas.length) {
      arrived = 0;
      await betweenRounds(++round);
      const open = release;
      next = new Promise<void>((resolve) => { release = resolve; });
      open();
    }
    await wait;
  };
  const destination = new RecordingSink();
  const events: LogEvent[] = [];
  const results = await Promise.all(replicas.map((replica) => runCollector({
    config: config(replica), sink: new RecordingSink(destination), blobService: service, writeLog: () => {},
    onEvent: (e) => events.push(e), now: () => clock, signal: controller.signal, fullListingBelowBlobs: 0, sleep: barrier,
  })));
  const listings = new Set(events.filter((e) => e.event === "poll.end").map((e) => e.listing));
  assert.deepEqual(listings, new Set(["full", "recent", "wide"]), "every kind of poll ran");
  assert.ok(events.some((e) => e.event === "blob.lease.kept"), "finished jobs kept their leases (polls 60 s apart, leases 15 s)");
  assert.deepEqual(new Set(destination.documents.keys()), await expectedIds([...current, ...old]));
  assert.equal(destination.duplicates, 0, "no block was delivered twice");
  assert.equal(results.reduce((n, r) => n + r.metrics.indexed, 0), destination.documents.size);
  for (const result of results) assert.equal(result.metrics.pendingSince.size, 0, "every replica ends with nothing pending");
});

test("a replica killed mid-blob loses its lease when it expires; another takes over with exact counts", async () => {
  const { source, env, config } = await setup();
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: HOUR, seed: 77 });
  for (let minute = 0; minute < 20; minute++) await writer.appendMinute({ records: 2, tuplesPerRecord: 10 });
  const dir = mkdtempSync(join(tmpdir(), "replica-"));
  const idsFile = join(dir, "ids.ndjson");
  // The child stores ids in a file (the "cluster" survives the crash), then hangs after 150 documents.
  const script = `
    const { appendFileSync } = require("node:fs");
    const { runCollector } = require(${JSON.stringify(resolve(__dirname, "../../collector/src/service/collector.ts"))});
    const { loadConfig } = require(${JSON.stringify(resolve(__dirname, "../../collector/src/service/config.ts"))});
    let accepted = 0;
    setInterval(() => {}, 1000);
    const sink = {
      async write(documents) {
        for (const d of documents) {
          if (accepted === 150) { process.stdout.write("HUNG\\n"); await new Promise(() => {}); }
          appendFileSync(${JSON.stringify(idsFile)}, d.id + "\\n");
          accepted++;
        }
        return { indexed: documents.length, duplicates: 0, deadLettered: 0, retries: 0 };
      },
      async deadLetter() {}, async close() {},
    };
    runCollector({ config: loadConfig({ ...process.env, FLOWLOGS_REPLICA_ID: "doomed" }), sink, once: true, writeLog: () => {} });
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  try {
    await new Promise<void>((done, fail) => {
      child.stdout!.on("data", (data) => { if (String(data).includes("HUNG")) done(); });
      child.once("exit", () => fail(new Error("the child replica exited before hanging")));
    });
    const hungAt = Date.now();
    const store = new CheckpointStore(service.getContainerClient(env.FLOWLOGS_CHECKPOINT_CONTAINER), { leaseSeconds: 15, replicaId: "probe" });
    const saved = await store.peek(source.containerName, writer.blobName);
    assert.ok(saved && saved.offset > 12, "the doomed replica saved progress before hanging");
    // Past the lease duration the hung replica still holds the blob: its renewals keep the lease.
    await new Promise((r) => setTimeout(r, 16_000 - (Date.now() - hungAt)));
    assert.equal(await store.tryAcquire(source.containerName, writer.blobName), undefined, "lease renewed while alive");
    child.kill("SIGKILL");
    await exited;
    const killedAt = Date.now();

    const survivor = new RecordingSink();
    for (const id of readFileSync(idsFile, "utf8").trim().split("\n")) survivor.documents.set(id, undefined as never);
    const before = survivor.documents.size;
    assert.equal(before, 150);
    let takenOverAfter = -1;
    for (let attempt = 0; attempt < 40; attempt++) {
      const result = await runCollector({ config: config("survivor"), sink: survivor, once: true, blobService: service, writeLog: () => {} });
      if (result.metrics.blobsRead === 1) {
        takenOverAfter = Date.now() - killedAt;
        // Only the documents after the doomed replica's checkpoint were delivered again.
        assert.equal(result.metrics.indexed + result.metrics.duplicates, writer.tuples - saved.records * 10);
        break;
      }
      assert.equal(result.metrics.blobsBusy, 1);
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(takenOverAfter >= 0, "another replica took over after the lease expired");
    assert.deepEqual(new Set(survivor.documents.keys()), await expectedIds([writer]));
    assert.equal(survivor.documents.size, writer.tuples);
    console.log(`takeover ${takenOverAfter} ms after the kill (lease 15 s)`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
