// Tries at a position (FLOWLOGS_MAX_ATTEMPTS) count crashes on the data, not restarts during an Elasticsearch outage:
// a job killed while the sink waits out 503s, more times than there are tries, still writes every document once
// and sets nothing aside. Real Azurite (blobs, checkpoints and their leases), real Elasticsearch behind a proxy that
// answers 503 on cue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runBlobJob, type JobContext } from "../../collector/src/service/blobJob";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { ElasticsearchSink } from "../../collector/src/sink/elasticsearch";
import { deadLetterDataStream, flowDataStream } from "../../collector/src/sink/dataStreams";
import { parseFlowLogText, parseRecords } from "../../collector/src/format/parse";
import { listFlowLogBlobs } from "../../collector/src/source/listing";
import { Metrics } from "../../collector/src/service/metrics";
import type { LogEvent } from "../../collector/src/service/logger";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { esClient, esClientOptions, uniqueNamespace } from "../support/esClient";
import { startFaultyProxy, type Fault } from "../support/faultyProxy";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { azuriteCollectorConfig } from "../support/collectorConfig";
import { runCollector } from "../../collector/src/service/collector";
import { checkpointBlobName } from "../../collector/src/checkpoint/state";
import { RecordingSink } from "./serviceRecordingSink";
import { jobContext, recordingContext, tailedBlobOf } from "./blobJobWorld";
import type { Sink } from "../../collector/src/model";
import { BlobServiceClient } from "@azure/storage-blob";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";

const scratch = scratchContainers(azuriteConnectionString());
const MAX_ATTEMPTS = 5;
const tailedBlob = (name: string, seed: number, first: { records: number; tuplesPerRecord: number }) => tailedBlobOf(scratch, name, seed, first);

/**
 * A namespace with the index assets on the real Elasticsearch, a proxy in front of it that answers 503 while
 * `outage.on`, and empty source and checkpoint containers on Azurite.
 */
async function outageWorld(name: string, down: boolean) {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace(name);
  await applyIndexAssets(client, { namespace });
  const outage = { on: down };
  const proxy = await startFaultyProxy(elasticsearchUrl(), (): Fault => (outage.on ? { status: 503 } : "forward"));
  const source = scratch.container(`${name}-src`);
  await source.create();
  return { client, namespace, outage, proxy, source, checkpoints: scratch.container(`${name}-cp`) };
}

test("killed FLOWLOGS_MAX_ATTEMPTS+1 times while the sink waits on 503s, then every document once, none dead-lettered", async (t) => {
  const { client, namespace, outage, proxy, source, checkpoints } = await outageWorld("tries", true);
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 47 });
  for (let minute = 0; minute < 2; minute++) await writer.appendMinute({ records: 3, tuplesPerRecord: 4 });
  const expected = parseFlowLogText((await writer.blob.downloadToBuffer()).toString("utf8")).documents.map((d) => d.id).sort();
  const refs = [];
  for await (const ref of listFlowLogBlobs(scratch.service, source.containerName)) refs.push(ref);
  assert.equal(refs.length, 1);
  const events: LogEvent[] = [];
  const context = (run: number, sink: ElasticsearchSink): JobContext => {
    const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: `run-${run}` });
    return jobContext(source, store, sink, {
      log: (level, event, fields) => events.push({ level, event, ...fields } as LogEvent), maxAttempts: MAX_ATTEMPTS, now: Date.now,
    });
  };
  const sinkOptions = { ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace };
  try {
    await new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "setup" }).ensureContainer();
    for (let run = 1; run <= MAX_ATTEMPTS + 1; run++) {
      let waiting!: () => void;
      const waited = new Promise<void>((resolve) => { waiting = resolve; });
      // The wait between retries never ends: the job is frozen there, as a killed process is (it writes nothing more).
      const sink = new ElasticsearchSink({ ...sinkOptions, sleep: () => { waiting(); return new Promise<void>(() => {}); } });
      const job = runBlobJob(refs[0]!, context(run, sink));
      await Promise.race([waited, job.then((outcome) => { throw new Error(`run ${run} ended before the sink waited: ${JSON.stringify(outcome)}`); })]);
      await sink.close();
      // What a kill leaves: the checkpoint as stored and a lease nobody renews; breaking it stands for its expiry.
      for await (const blob of checkpoints.listBlobsFlat()) await checkpoints.getBlobClient(blob.name).getBlobLeaseClient().breakLease(0);
    }
    const stored = await new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" }).peek(refs[0]!.container, refs[0]!.name);
    assert.equal(stored?.offset, 0, "the outage let nothing through");
    assert.equal(stored?.attempt, undefined, "every try given back");
    outage.on = false;
    const sink = new ElasticsearchSink({ ...sinkOptions });
    try {
      const last = context(MAX_ATTEMPTS + 2, sink);
      const outcome = await runBlobJob(refs[0]!, last);
      assert.equal(outcome.kind, "read", JSON.stringify(outcome));
      assert.deepEqual(events.filter((e) => e.event === "blob.skip"), [], "no record set aside for running out of tries");
      assert.equal(last.metrics.indexed, expected.length);
      assert.equal(last.metrics.deadLettered, 0);
    } finally {
      await sink.close();
    }
    await client.indices.refresh({ index: [flowDataStream(namespace), deadLetterDataStream(namespace)], ignore_unavailable: true, allow_no_indices: true });
    const found = await client.search({ index: flowDataStream(namespace), size: 1000, _source: false });
    assert.deepEqual(found.hits.hits.map((hit) => hit._id).sort(), expected, "every document exactly once");
    const letters = await client.count({ index: deadLetterDataStream(namespace), ignore_unavailable: true, allow_no_indices: true });
    assert.equal(letters.count, 0, "nothing dead-lettered");
    t.diagnostic(`${expected.length} documents after ${MAX_ATTEMPTS + 1} kills during the outage; ${proxy.seen.length} requests reached the proxy`);
  } finally {
    await proxy.stop();
    await client.close();
  }
});

test("a job waiting out a sink outage keeps /healthz's sign of life fresh at every wait, so a long outage is not taken for a hung loop", async () => {
  const { client, namespace, proxy, source, checkpoints } = await outageWorld("alive", true);
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 57 });
  await writer.appendMinute({ records: 2, tuplesPerRecord: 3 });
  const refs = [];
  for await (const ref of listFlowLogBlobs(scratch.service, source.containerName)) refs.push(ref);
  const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "alive" });
  await store.ensureContainer();
  const signs: Array<number | undefined> = [];
  const metrics = new Metrics();
  // Each wait between retries: what the sign of life said when it began.
  const sink = new ElasticsearchSink({
    ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace, maxRetries: 3,
    sleep: async () => { signs.push(metrics.lastProgress); metrics.lastProgress = undefined; },
  });
  try {
    const outcome = await runBlobJob(refs[0]!, jobContext(source, store, sink, { metrics, now: Date.now }));
    assert.equal(outcome.kind, "failed");
    assert.equal((outcome as { sinkUnavailable?: boolean }).sinkUnavailable, true);
    assert.equal(signs.length, 3, "three waits");
    for (const sign of signs) assert.ok(sign !== undefined && Date.now() - sign < 60_000, "each wait refreshed it");
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
});

test("a crash on a checkpoint the process wrote itself is the one try not counted: a record that kills every process is set aside after FLOWLOGS_MAX_ATTEMPTS + 1 crashes", async () => {
  const { source, checkpoints, writer, listed } = await tailedBlob("tries-mem", 48, { records: 2, tuplesPerRecord: 4 });
  const firstMinute = new Set(parseFlowLogText((await writer.blob.downloadToBuffer()).toString("utf8")).documents.map((d) => d.id));
  const sink = new RecordingSink();
  const tailing = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "tailing" });
  await tailing.ensureContainer();
  assert.equal((await runBlobJob(await listed(), recordingContext(source, tailing, sink))).kind, "read");
  await writer.appendMinute({ records: 1, tuplesPerRecord: 4 }); // the poison: every process dies on it
  const breakLease = () => checkpoints.getBlobClient(checkpointBlobName(source.containerName, writer.blobName)).getBlobLeaseClient().breakLease(0);
  let crashes = 0;
  const crashOn = async (store: CheckpointStore) => {
    const dying = new RecordingSink(sink);
    let died!: () => void;
    const dead = new Promise<void>((resolve) => { died = resolve; });
    dying.onWrite = () => { died(); return new Promise<void>(() => {}); }; // frozen for good, as a killed process is
    const job = runBlobJob(await listed(), recordingContext(source, store, dying));
    await Promise.race([dead, job.then((outcome) => { throw new Error(`the job ended: ${JSON.stringify(outcome)}`); })]);
    crashes++;
    await breakLease(); // stands for the dead process's lease expiring
    return (await new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" }).peek(source.containerName, writer.blobName))?.attempt?.count;
  };
  assert.equal(await crashOn(tailing), undefined, "the tailing process's own checkpoint: its first try was not written ahead");
  assert.equal(await crashOn(new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "restart-1" })), 1, "a new process counts");
  assert.equal(await crashOn(new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "restart-2" })), 2);
  const last = recordingContext(source, new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "restart-3" }), sink);
  assert.equal((await runBlobJob(await listed(), last)).kind, "read");
  assert.equal(crashes, 3, "FLOWLOGS_MAX_ATTEMPTS (2) + 1 crashes");
  assert.equal(sink.deadLetters.length, 1);
  assert.match(sink.deadLetters[0]!.reason, /not processed after 2 tries at offset \d+ \(the process stopped while on it\)/);
  assert.deepEqual(new Set(sink.documents.keys()), firstMinute, "the first minute once, the poison set aside");
});

test("a failure in the process on a checkpoint it wrote itself is counted, with its error, up to FLOWLOGS_MAX_ATTEMPTS", async () => {
  const { source, checkpoints, writer, listed } = await tailedBlob("tries-memfail", 49, { records: 1, tuplesPerRecord: 4 });
  const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "tailing" });
  await store.ensureContainer();
  const sink = new RecordingSink();
  let poisoned = false;
  const parse: typeof parseRecords = (records, first) => {
    if (poisoned) throw new Error("parser bug on this record");
    return parseRecords(records, first);
  };
  assert.equal((await runBlobJob(await listed(), recordingContext(source, store, sink, parse))).kind, "read");
  await writer.appendMinute({ records: 1, tuplesPerRecord: 4 });
  poisoned = true;
  const check = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" });
  for (const count of [1, 2]) {
    const outcome = await runBlobJob(await listed(), recordingContext(source, store, sink, parse));
    assert.equal(outcome.kind, "failed");
    const stored = await check.peek(source.containerName, writer.blobName);
    assert.equal(stored?.attempt?.count, count, `try ${count} counted`);
    assert.match(stored?.attempt?.error ?? "", /parser bug on this record/);
  }
  assert.equal((await runBlobJob(await listed(), recordingContext(source, store, sink, parse))).kind, "read");
  assert.equal(sink.deadLetters.length, 1);
  assert.match(sink.deadLetters[0]!.reason, /not processed after 2 tries at offset \d+ \(last error: .*parser bug on this record\)/);
});

test("a failure on a record that is not the first of its window: after one failed try the job goes record by record, and only that record is set aside", async () => {
  const { source, checkpoints, writer, listed } = await tailedBlob("tries-culprit", 55, { records: 1, tuplesPerRecord: 3 });
  const sink = new RecordingSink();
  const first = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "first" });
  await first.ensureContainer();
  assert.equal((await runBlobJob(await listed(), recordingContext(source, first, sink))).kind, "read");
  const before = sink.documents.size;
  await writer.appendMinute({ records: 4, tuplesPerRecord: 3 }); // records 1-4 of the blob, in one window
  const parse: typeof parseRecords = (records, firstRecord, enrichment) => {
    if (firstRecord === 4) throw new Error("parser bug on record 4");
    return parseRecords(records, firstRecord, enrichment);
  };
  // Each job on another replica's checkpoint: its try is written ahead, as after a crash.
  for (let job = 0; job < 8 && sink.deadLetters.length === 0; job++) {
    const replica = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: `replica-${job}` });
    await runBlobJob(await listed(), recordingContext(source, replica, sink, parse));
  }
  assert.equal(sink.deadLetters.length, 1, "one record set aside");
  assert.match(sink.deadLetters[0]!.reason, /not processed after 2 tries at offset \d+ \(last error: .*parser bug on record 4\)/);
  const letter = JSON.parse(sink.deadLetters[0]!.raw) as { time: string };
  assert.ok(letter.time, "the dead letter holds the whole record");
  assert.equal(sink.documents.size - before, 9, "records 1-3 indexed, each tuple once");
  const check = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" });
  assert.equal((await check.peek(source.containerName, writer.blobName))?.offset, writer.length - 2, "caught up");
});

test("source reads Azure Storage does not answer (503s to block lists and downloads, for more jobs than the tries) use no try: then every document once, nothing set aside", async () => {
  const { source, checkpoints, writer, listed } = await tailedBlob("tries-source503", 53, { records: 1, tuplesPerRecord: 4 });
  const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "tailing" });
  await store.ensureContainer();
  const sink = new RecordingSink();
  assert.equal((await runBlobJob(await listed(), recordingContext(source, store, sink))).kind, "read");
  await writer.appendMinute({ records: 2, tuplesPerRecord: 4 });
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method, path }) =>
    (method === "GET" && path.includes(`/${source.containerName}/`) ? { status: 503 } : "forward"));
  try {
    const unanswered = BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url), { retryOptions: { maxTries: 1 } })
      .getContainerClient(source.containerName);
    const check = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" });
    // The tailing replica's remembered checkpoint (no try written ahead) and other replicas' (a try written ahead,
    // then given back), more jobs than jobContext's 2 tries.
    for (const [job, replica] of ["tailing", "other-1", "tailing", "other-2", "other-3"].entries()) {
      const jobStore = replica === "tailing" ? store : new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: replica });
      const outcome = await runBlobJob(await listed(), recordingContext(unanswered, jobStore, sink));
      assert.equal(outcome.kind, "failed", `job ${job}`);
      assert.match((outcome as { error: string }).error, /^HTTP 503/, `job ${job}: the status leads the error`);
      assert.equal((await check.peek(source.containerName, writer.blobName))?.attempt, undefined, `job ${job}: no try used`);
    }
    assert.ok(proxy.seen.filter((seen) => seen.status === undefined && seen.method === "GET").length >= 5, "the reads were refused");
  } finally {
    await proxy.stop();
  }
  assert.equal((await runBlobJob(await listed(), recordingContext(source, store, sink))).kind, "read");
  assert.equal(sink.documents.size, writer.tuples, "every tuple once");
  assert.deepEqual(sink.deadLetters, [], "nothing set aside");
});

test("a checkpoint write Azure Storage does not take (503) gives the try back when the give-back gets through: then every document once, nothing set aside", async () => {
  const { source, checkpoints, writer, listed } = await tailedBlob("tries-cp503", 56, { records: 1, tuplesPerRecord: 3 });
  await new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "setup" }).ensureContainer();
  await writer.appendMinute({ records: 2, tuplesPerRecord: 3 });
  const container = encodeURIComponent(checkpoints.containerName);
  let uploads = 0;
  // Per job: the try written ahead gets through, the progress write is answered 503, the give-back gets through.
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method, path }) =>
    (method === "PUT" && path.includes(`/${container}/`) && !path.includes("comp=") && uploads++ === 1 ? { status: 503 } : "forward"));
  const sink = new RecordingSink();
  const check = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" });
  try {
    const flaky = BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url), { retryOptions: { maxTries: 1 } })
      .getContainerClient(checkpoints.containerName);
    for (let job = 0; job < 3; job++) { // more than jobContext's 2 tries
      uploads = 0;
      const outcome = await runBlobJob(await listed(), recordingContext(source, new CheckpointStore(flaky, { leaseSeconds: 15, replicaId: `flaky-${job}` }), sink));
      assert.equal(outcome.kind, "failed", `job ${job}`);
      assert.match((outcome as { error: string }).error, /^HTTP 503/);
      assert.equal((await check.peek(source.containerName, writer.blobName))?.attempt, undefined, `job ${job}: the try given back`);
    }
  } finally {
    await proxy.stop();
  }
  assert.equal((await runBlobJob(await listed(), recordingContext(source, new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "healthy" }), sink))).kind, "read");
  assert.deepEqual(sink.deadLetters, [], "nothing set aside");
  assert.equal(sink.documents.size, writer.tuples, "every tuple once");
});

test("jobs from a listing older than the checkpoint (another replica caught the blob up) use no try: the next good record is read, not set aside", async () => {
  const { source, checkpoints, writer, listed } = await tailedBlob("tries-stale", 54, { records: 1, tuplesPerRecord: 3 });
  const stale = await listed(); // a replica lists here ...
  await writer.appendMinute({ records: 1, tuplesPerRecord: 3 }); // ... Azure appends ...
  const sink = new RecordingSink();
  const first = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "first" });
  await first.ensureContainer();
  assert.equal((await runBlobJob(await listed(), recordingContext(source, first, sink))).kind, "read"); // ... another catches up
  const check = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" });
  const caughtUp = await check.peek(source.containerName, writer.blobName);
  // More stale jobs than jobContext's 2 tries, from other replicas (a try written ahead): with the listing's ETag,
  // and without one (a blob planned again on its own).
  for (const [job, ref] of [stale, { ...stale, etag: undefined }, stale, { ...stale, etag: undefined }].entries()) {
    const replica = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: `stale-${job}` });
    assert.equal((await runBlobJob(ref, recordingContext(source, replica, sink))).kind, "read", `stale job ${job}`);
    const stored = await check.peek(source.containerName, writer.blobName);
    assert.equal(stored?.attempt, undefined, `stale job ${job}: no try left counted`);
    assert.equal(stored?.offset, caughtUp?.offset);
  }
  await writer.appendMinute({ records: 2, tuplesPerRecord: 3 });
  const next = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "next" });
  assert.equal((await runBlobJob(await listed(), recordingContext(source, next, sink))).kind, "read");
  assert.deepEqual(sink.deadLetters, [], "nothing set aside");
  assert.equal(sink.documents.size, writer.tuples, "every tuple once");
});

test("tailing on remembered checkpoints through a 503 phase: shared bulk requests wait it out, no try is used, every document once", async () => {
  const { client, namespace, outage, proxy, source, checkpoints } = await outageWorld("tailout", false);
  const hour = new Date("2026-11-20T10:00:00Z");
  const writers = [0, 1, 2, 3].map((nic) => new FlowLogBlobWriter(source, { kind: "vnet-v4", hour, seed: 60 + nic, mac: `000D3A0000F${nic}` }));
  const appendMinute = () => Promise.all(writers.map((writer) => writer.appendMinute({ records: 2, tuplesPerRecord: 5 })));
  await appendMinute();
  const controller = new AbortController();
  const bulk503s = () => proxy.seen.filter((seen) => seen.path.includes("_bulk") && typeof seen.fault === "object").length;
  let backAfter = 0;
  const steps: Array<() => Promise<void>> = [
    async () => {
      await appendMinute();
      outage.on = true;
      // Back once two bulk requests were refused: the jobs of the poll wait out the outage in the sink.
      const watch = setInterval(() => { if (bulk503s() >= 2) { backAfter = bulk503s(); outage.on = false; clearInterval(watch); } }, 20);
    },
    async () => { await appendMinute(); },
    async () => controller.abort(),
  ];
  try {
    const summary = await runCollector({
      config: azuriteCollectorConfig(source.containerName, checkpoints.containerName, {
        FLOWLOGS_SINK: "elasticsearch", FLOWLOGS_ES_URL: proxy.url, FLOWLOGS_ES_NAMESPACE: namespace,
      }),
      writeLog: () => {}, signal: controller.signal, sleep: () => steps.shift()!(),
      now: () => Date.parse("2026-11-20T10:10:00Z"), // within the blobs' hour: they are tailed
    });
    const tuples = writers.reduce((sum, writer) => sum + writer.tuples, 0);
    assert.ok(backAfter >= 2, "the outage happened and ended");
    assert.ok(summary.metrics.retries > 0, "it was waited out");
    assert.deepEqual(summary.metrics.checkpointLeases, { created: 4, read: 0, remembered: 8, stale: 0 }, "the first minute on checkpoints it created, the minutes after on remembered ones");
    assert.equal(summary.metrics.indexed, tuples, "each tuple newly indexed once");
    await client.indices.refresh({ index: flowDataStream(namespace) });
    assert.equal((await client.count({ index: flowDataStream(namespace) })).count, tuples, "exactly the tuples written");
    const check = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" });
    for (const writer of writers) {
      const stored = await check.peek(source.containerName, writer.blobName);
      assert.equal(stored?.offset, writer.length - 2, "caught up");
      assert.equal(stored?.attempt, undefined, "no try used by the outage");
    }
  } finally {
    await proxy.stop();
    await client.close();
  }
});

test("a blob re-created while its checkpoint points into the old one: a first record that fails every time is set aside after the tries, the rest read", async () => {
  const { source, checkpoints, writer, listed } = await tailedBlob("tries-replaced", 71, { records: 3, tuplesPerRecord: 4 });
  const sink = new RecordingSink();
  const first = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "first" });
  await first.ensureContainer();
  assert.equal((await runBlobJob(await listed(), recordingContext(source, first, sink))).kind, "read");
  await writer.replace({ records: 3, tuplesPerRecord: 2 });
  // The new blob's first record fails in the process every time; its tries used to be counted at the old offset.
  const parse: typeof parseRecords = (records, firstRecord, enrichment) => {
    if (firstRecord === 0) throw new Error("parser bug on record 0 of the new blob");
    return parseRecords(records, firstRecord, enrichment);
  };
  const outcomes: string[] = [];
  for (let job = 0; job < 6 && sink.deadLetters.length === 0; job++) {
    // A new process each time (nothing remembered), as after crashes or on other replicas.
    const replica = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: `replica-${job}` });
    outcomes.push((await runBlobJob(await listed(), recordingContext(source, replica, sink, parse))).kind);
  }
  // The first job counted its try at the old offset before it found the blob new; the next two count at the new one.
  assert.deepEqual(outcomes, ["failed", "failed", "failed", "read"], "maxAttempts (2) tries at the new position, then set aside");
  assert.equal(sink.deadLetters.length, 1);
  assert.match(sink.deadLetters[0]!.reason, /not processed after 2 tries at offset \d+ \(last error: .*parser bug on record 0 of the new blob\)/);
  const stored = await first.peek(source.containerName, writer.blobName);
  assert.equal(stored?.etag !== undefined && stored.attempt === undefined, true, "caught up with the new blob");
});

test("tries used up on a blob's first record, then the blob re-created: they were the old version's, so the new first record is read, not set aside", async () => {
  const { source, checkpoints, writer, listed } = await tailedBlob("tries-recreated", 73, { records: 3, tuplesPerRecord: 4 });
  const sink = new RecordingSink();
  const failing: typeof parseRecords = (records, firstRecord, enrichment) => {
    if (firstRecord === 0) throw new Error("parser bug on record 0 of the old blob");
    return parseRecords(records, firstRecord, enrichment);
  };
  const outcomes: string[] = [];
  for (let job = 0; job < 2; job++) {
    const replica = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: `old-${job}` });
    outcomes.push((await runBlobJob(await listed(), recordingContext(source, replica, sink, failing))).kind);
  }
  assert.deepEqual(outcomes, ["failed", "failed"], "every try at offset 0 used (maxAttempts 2)");
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // creation times have whole seconds (RFC 1123)
  await writer.replace({ records: 2, tuplesPerRecord: 3 });
  const replica = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "new" });
  assert.equal((await runBlobJob(await listed(), recordingContext(source, replica, sink))).kind, "read");
  assert.deepEqual(sink.deadLetters, [], "nothing of the new version set aside");
  const expected = parseFlowLogText((await writer.blob.downloadToBuffer()).toString("utf8")).documents.map((d) => d.id).sort();
  assert.deepEqual([...sink.documents.keys()].sort(), expected);
});

test("stops that land while the count-ahead write's answer is on its way give the try back: a good record is not set aside", { timeout: 60_000 }, async () => {
  const { source, checkpoints, writer, listed } = await tailedBlob("tries-stopcount", 81, { records: 2, tuplesPerRecord: 3 });
  const sink = new RecordingSink();
  const first = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "first" });
  await first.ensureContainer();
  assert.equal((await runBlobJob(await listed(), recordingContext(source, first, sink))).kind, "read");
  await writer.appendMinute({ records: 2, tuplesPerRecord: 3 });
  // Azure applies the count-ahead write; its answer never comes back, and the stop arrives meanwhile.
  const lose = { on: true };
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method }) =>
    (method === "PUT" && lose.on ? { loseAnswerIf: (body, status) => status < 300 && body.includes('"attempt"') } : "forward"));
  const proxied = BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url)).getContainerClient(checkpoints.containerName);
  try {
    for (let restart = 1; restart <= 2; restart++) {
      const store = new CheckpointStore(proxied, { leaseSeconds: 15, replicaId: `process-${restart}` });
      const stop = new AbortController();
      const lostBefore = proxy.seen.filter((request) => request.answerLost).length;
      const job = runBlobJob(await listed(), jobContext(source, store, sink, { signal: stop.signal }));
      while (proxy.seen.filter((request) => request.answerLost).length === lostBefore) await new Promise((resolve) => setTimeout(resolve, 20));
      stop.abort();
      assert.equal((await job).kind, "stopped");
      assert.equal((await first.peek(source.containerName, writer.blobName))?.attempt, undefined, `stop ${restart}: the try was given back`);
    }
    lose.on = false;
    const last = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "after" });
    assert.equal((await runBlobJob(await listed(), recordingContext(source, last, sink))).kind, "read");
    assert.deepEqual(sink.deadLetters, [], "nothing set aside");
    assert.equal(sink.documents.size, writer.tuples);
  } finally {
    await proxy.stop();
  }
});
