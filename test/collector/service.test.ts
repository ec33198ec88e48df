import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter, flowLogBlobName } from "../support/flowLogWriter";
import { startFaultyProxy } from "../support/faultyProxy";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";
import { forEachLimited } from "../../collector/src/service/jobBudget";
import { runCollector, type RunOptions } from "../../collector/src/service/collector";
import { describeConfig, loadConfig, type CollectorConfig } from "../../collector/src/service/config";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import type { LogEvent } from "../../collector/src/service/logger";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";

const HOUR = new Date("2026-11-20T10:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());
const service = scratch.service;

interface Setup {
  nsg: ContainerClient;
  vnet: ContainerClient;
  config: CollectorConfig;
}

async function setup(extra: Record<string, string> = {}): Promise<Setup> {
  const nsg = scratch.container("svc-nsg");
  const vnet = scratch.container("svc-vnet");
  const checkpoints = scratch.container("svc-cp");
  for (const c of [nsg, vnet]) await c.create();
  const config = loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
    FLOWLOGS_CONTAINERS: `${nsg.containerName},${vnet.containerName}`,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_SINK: "stdout",
    FLOWLOGS_METRICS_PORT: "off",
    FLOWLOGS_REPLICA_ID: "test",
    ...extra,
  });
  return { nsg, vnet, config };
}

function run(config: CollectorConfig, sink: RecordingSink, more: Partial<RunOptions> = {}) {
  const events: LogEvent[] = [];
  const done = runCollector({ config, sink, once: true, blobService: service, writeLog: () => {}, onEvent: (e) => events.push(e), ...more });
  return { events, done };
}

/**
 * The service with listings as a large estate gets them (fullListingBelowBlobs 0), each wait between polls one of
 * `steps` (the story's writes and clock moves); it stops once they are used up. Returns each poll's listing, blobs
 * listed and candidates.
 */
async function stepThrough(config: CollectorConfig, sink: RecordingSink, now: () => number, steps: Array<() => Promise<void>>) {
  const controller = new AbortController();
  const events: LogEvent[] = [];
  const summary = await runCollector({
    config, sink, blobService: service, writeLog: () => {}, onEvent: (e) => events.push(e), now, signal: controller.signal, fullListingBelowBlobs: 0,
    sleep: async () => {
      const step = steps.shift();
      if (step) await step();
      else controller.abort();
    },
  });
  const polls = events.filter((e) => e.event === "poll.end").map((e) => [e.listing, e.listed, e.candidates]);
  return { summary, events, polls };
}

test("one pass over NSG v1/v2 and VNet blobs indexes exactly one document per tuple", async () => {
  const { nsg, vnet, config } = await setup();
  const writers = [
    new FlowLogBlobWriter(nsg, { kind: "nsg-v1", hour: HOUR, seed: 1, mac: "000D3A000001" }),
    new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 2, mac: "000D3A000002" }),
    new FlowLogBlobWriter(vnet, { kind: "vnet-v4", hour: HOUR, seed: 3, mac: "000D3A000003" }),
  ];
  for (let minute = 0; minute < 5; minute++) for (const w of writers) await w.appendMinute({ records: 2 });
  const sink = new RecordingSink();
  const { done } = run(config, sink);
  const summary = await done;
  const tuples = writers.reduce((n, w) => n + w.tuples, 0);
  assert.equal(sink.documents.size, tuples);
  assert.equal(summary.metrics.indexed, tuples);
  assert.equal(summary.metrics.tuples, tuples);
  assert.equal(summary.metrics.duplicates, 0);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds(writers));
  assert.equal(summary.metrics.bytesRead, writers.reduce((n, w) => n + w.length - 14, 0));
  assert.equal(sink.closed, false, "a sink passed in is the caller's to close");
  assert.equal(summary.metrics.pendingSince.size, 0, "nothing left unread");
  assert.equal(summary.metrics.lagSeconds(), 0);

  // A second pass with nothing new reads nothing; after more minutes it reads only the new blocks.
  const again = await run(config, sink).done;
  assert.equal(again.metrics.bytesRead, 0);
  for (const w of writers) await w.appendMinute();
  const lengths = writers.map((w) => w.length);
  const third = await run(config, sink).done;
  assert.equal(sink.documents.size, writers.reduce((n, w) => n + w.tuples, 0));
  assert.equal(third.metrics.duplicates, 0);
  assert.ok(third.metrics.bytesRead < lengths.reduce((a, b) => a + b, 0) / 4, "only the new blocks were downloaded");
});

test("read amplification over one simulated hour of 60 appends, polled after each append", async () => {
  const { nsg, config } = await setup();
  const writer = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 42 });
  const sink = new RecordingSink();
  let downloaded = 0;
  for (let minute = 0; minute < 60; minute++) {
    await writer.appendMinute({ records: 1, tuplesPerRecord: 8 });
    downloaded += (await run(config, sink).done).metrics.bytesRead;
  }
  assert.equal(sink.documents.size, writer.tuples);
  const amplification = downloaded / writer.length;
  console.log(`read amplification over 60 appends: ${downloaded} bytes downloaded / ${writer.length} bytes final blob = ${amplification.toFixed(4)}`);
  assert.equal(downloaded, writer.length - 14, "every data byte exactly once, head and tail never");
  assert.ok(amplification < 1);
});

test("a sink failing mid-blob, then a fresh run: no loss, and the only re-deliveries are of the failed window", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_WINDOW_BYTES: "8192", FLOWLOGS_BATCH_DOCUMENTS: "50" });
  const writer = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 8 });
  for (let minute = 0; minute < 30; minute++) await writer.appendMinute({ records: 2, tuplesPerRecord: 10 });
  const store = new CheckpointStore(service.getContainerClient(config.checkpointContainer), { leaseSeconds: 15, replicaId: "peek" });

  const failing = new RecordingSink();
  failing.failAfter = 333;
  const first = run(config, failing);
  const summary = await first.done;
  assert.equal(summary.metrics.blobsFailed, 1);
  assert.ok(first.events.some((e) => e.event === "blob.failed" && /failing after 333/.test(String(e.error))));
  const checkpoint = await store.peek(nsg.containerName, writer.blobName);
  assert.ok(checkpoint && checkpoint.offset > 12 && checkpoint.offset < writer.length - 2, `checkpoint mid-blob, got ${checkpoint?.offset}`);
  assert.equal(checkpoint.etag, undefined, "not caught up");
  assert.ok(failing.documents.size >= 333 && failing.documents.size < writer.tuples);

  // "Restart": a new runner, the same destination (documents survive in Elasticsearch).
  const healthy = new RecordingSink(failing);
  const second = await run(config, healthy).done;
  assert.deepEqual(new Set(healthy.documents.keys()), await expectedIds([writer]));
  assert.equal(healthy.documents.size, writer.tuples);
  assert.equal(second.metrics.bytesRead, writer.length - 2 - checkpoint.offset, "the restart resumed at the checkpoint");
  // Re-delivered documents are those accepted after the last checkpoint: at most one window's worth.
  assert.equal(second.metrics.duplicates, 333 - documentsBefore(writer, checkpoint.records));
  assert.equal(second.metrics.indexed + second.metrics.duplicates + documentsBefore(writer, checkpoint.records), writer.tuples);
});

/** Every generated record in that test has 10 tuples. */
function documentsBefore(_writer: FlowLogBlobWriter, records: number): number {
  return records * 10;
}

/** Commits one more record as its own block just before the blob's closing `]}` block. */
async function insertBeforeTail(writer: FlowLogBlobWriter, record: unknown): Promise<void> {
  const extra = Buffer.from(`,${JSON.stringify(record)}`);
  const ids = (await writer.blob.getBlockList("committed")).committedBlocks!.map((b) => b.name);
  const extraId = Buffer.from("extra".padEnd(32, "-")).toString("base64");
  await writer.blob.stageBlock(extraId, extra, extra.length);
  await writer.blob.commitBlockList([...ids.slice(0, -1), extraId, ids[ids.length - 1]!]);
}

test("malformed blocks and rejected tuples go to dead letters with their position; neighbours are indexed", async () => {
  const { vnet, config } = await setup();
  const writer = new FlowLogBlobWriter(vnet, { kind: "vnet-v4", hour: HOUR, seed: 5 });
  await writer.appendMinute();
  // A well-formed record with one bad tuple (3 fields instead of 13) among good ones, appended below.
  const record = JSON.parse((await writer.blob.downloadToBuffer()).toString()).records[0];
  const badOffset = writer.length - 2;
  await writer.appendMalformedBlock();
  await writer.appendMinute();
  record.flowRecords.flows[0].flowGroups[0].flowTuples.push("1663146003606,10.0.0.6,bad");
  await insertBeforeTail(writer, { ...record, time: "2026-11-20T10:30:00.0000000Z" });

  const sink = new RecordingSink();
  const summary = await run(config, sink).done;
  const goodTuples = writer.tuples + record.flowRecords.flows[0].flowGroups[0].flowTuples.length - 1;
  assert.equal(sink.documents.size, goodTuples);
  assert.equal(summary.metrics.malformedBlocks, 1);
  assert.equal(summary.metrics.rejects, 1);
  assert.equal(sink.deadLetters.length, 2);
  const block = sink.deadLetters.find((d) => /not valid JSON/.test(d.reason));
  assert.equal(block?.position?.offset, badOffset);
  assert.equal(block?.position?.blob, writer.blobName);
  const tuple = sink.deadLetters.find((d) => /record 2 tuple 5:/.test(d.reason));
  assert.ok(tuple, JSON.stringify(sink.deadLetters.map((d) => d.reason)));
  assert.match(tuple.raw, /10\.0\.0\.6,bad/);
});

test("a record whose brackets balance but which is not JSON is set aside; the records after it keep their numbers", async () => {
  const { vnet, config } = await setup();
  const writer = new FlowLogBlobWriter(vnet, { kind: "vnet-v4", hour: HOUR, seed: 6 });
  await writer.appendMinute();
  const record = JSON.parse((await writer.blob.downloadToBuffer()).toString()).records[0];
  const badOffset = writer.length - 2; // where the appended block's separator goes (before the `]}` tail)
  // Record 1: balanced brackets (the scanner takes it as a record), but `nope` is not JSON.
  await writer.appendMalformedBlock('{"time":"2026-11-20T10:20:00.0000000Z","category":nope}');
  // Record 2: well-formed, with one bad tuple, in the same window as record 1.
  record.flowRecords.flows[0].flowGroups[0].flowTuples.push("1663146003606,10.0.0.7,bad");
  await insertBeforeTail(writer, { ...record, time: "2026-11-20T10:30:00.0000000Z" });

  const sink = new RecordingSink();
  const summary = await run(config, sink).done;
  assert.equal(sink.documents.size, 2 * writer.tuples, "the good tuples of records 0 and 2 (a copy of record 0's)");
  assert.equal(summary.metrics.malformedBlocks, 1);
  assert.equal(summary.metrics.rejects, 1);
  const block = sink.deadLetters.find((d) => /not valid JSON/.test(d.reason));
  assert.equal(block?.position?.offset, badOffset + 1, "at the record's own `{`, after the separator");
  assert.match(block.raw, /nope/);
  const tuple = sink.deadLetters.find((d) => /tuple \d+:/.test(d.reason));
  assert.match(tuple?.reason ?? "", /^record 2 tuple /, "numbered among all records of the blob, the unreadable one included");
  assert.equal((await new CheckpointStore(service.getContainerClient(config.checkpointContainer), { leaseSeconds: 15, replicaId: "t" })
    .peek(vnet.containerName, writer.blobName))?.records, 3);
});

test("an hourly blob past its hour plus grace is marked done; a late append is still noticed", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_DONE_GRACE_MINUTES: "10" });
  const writer = new FlowLogBlobWriter(nsg, { kind: "nsg-v1", hour: HOUR, seed: 6 });
  await writer.appendMinute();
  const sink = new RecordingSink();
  const store = new CheckpointStore(service.getContainerClient(config.checkpointContainer), { leaseSeconds: 15, replicaId: "peek" });
  const duringHour = () => HOUR.getTime() + 30 * 60_000;
  await run(config, sink, { now: duringHour }).done;
  assert.equal((await store.peek(nsg.containerName, writer.blobName))?.done, undefined);
  const afterGrace = () => HOUR.getTime() + 71 * 60_000;
  const summary = await run(config, sink, { now: afterGrace }).done;
  assert.equal(summary.metrics.bytesRead, 0, "nothing new: not read");
  assert.equal(summary.metrics.blobsUnchanged, 0, "known caught up from the checkpoint listing: not even peeked");
  await writer.appendMinute();
  const late = await run(config, sink, { now: afterGrace }).done;
  assert.equal(late.metrics.blobsDone, 1);
  assert.equal((await store.peek(nsg.containerName, writer.blobName))?.done, true);
  assert.equal(sink.documents.size, writer.tuples, "the late append was read");
  const idle = await run(config, sink, { now: afterGrace }).done;
  assert.equal(idle.metrics.bytesRead, 0);
  await writer.appendMinute();
  const later = await run(config, sink, { now: afterGrace }).done;
  assert.ok(later.metrics.bytesRead > 0, "a done blob that changes is read again");
  assert.equal(sink.documents.size, writer.tuples);
});

test("/healthz and /metrics answer on 127.0.0.1 with Prometheus text while the service runs", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_METRICS_PORT: "0", FLOWLOGS_POLL_INTERVAL_SECONDS: "1" });
  const writer = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 12 });
  await writer.appendMinute({ tuplesPerRecord: 4 });
  const sink = new RecordingSink();
  const controller = new AbortController();
  let url = "";
  const listening = new Promise<void>((resolve) => {
    void run(config, sink, { once: false, signal: controller.signal, onListening: (u) => { url = u; resolve(); } }).done.then(() => { stopped = true; });
  });
  let stopped = false;
  await listening;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  // The first poll's documents are counted once the sink's write returns: read until they show (or 40 s went by).
  let metrics = "";
  for (const deadline = Date.now() + 40_000; !/^flowlogs_documents_indexed_total 4$/m.test(metrics) && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 50));
    metrics = await (await fetch(`${url}/metrics`)).text();
  }
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, "ok");
  assert.match(metrics, /^# TYPE flowlogs_documents_indexed_total counter$/m);
  assert.match(metrics, /^flowlogs_documents_indexed_total 4$/m);
  assert.match(metrics, /^flowlogs_bytes_read_total \d+$/m);
  assert.match(metrics, /^flowlogs_lag_seconds \d/m);
  assert.equal((await fetch(`${url}/nope`)).status, 404);
  controller.abort();
  for (let i = 0; i < 300 && !stopped; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(stopped, "the loop stops when aborted");
  await assert.rejects(fetch(`${url}/healthz`), "the endpoint is closed");
});

test("configuration errors name the variable and the fix", () => {
  const base = { FLOWLOGS_STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net", FLOWLOGS_SINK: "stdout" };
  assert.throws(() => loadConfig({}), /FLOWLOGS_STORAGE_ACCOUNT_URL .*FLOWLOGS_STORAGE_CONNECTION_STRING/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_STORAGE_ACCOUNT_URL: "http://acct.blob.core.windows.net" }), /FLOWLOGS_STORAGE_ACCOUNT_URL must use https/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_LEASE_SECONDS: "90" }), /FLOWLOGS_LEASE_SECONDS "90" is not a whole number from 15 to 60/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_POLL_INTERVAL_SECONDS: "soon" }), /FLOWLOGS_POLL_INTERVAL_SECONDS/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_KEEP_LEASES: "yes" }), /FLOWLOGS_KEEP_LEASES "yes" must be one of auto, on, off/);
  assert.equal(loadConfig(base).keepLeases, "auto");
  assert.equal(loadConfig(base).listingHorizonHours, 48);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_LISTING_HORIZON_HOURS: "169" }), /FLOWLOGS_LISTING_HORIZON_HOURS "169" is not a whole number from 0 to 168/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_CONTAINERS: "Bad_Name" }), /FLOWLOGS_CONTAINERS: "Bad_Name" is not a valid container name/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_SINK: "kafka" }), /FLOWLOGS_SINK "kafka" is not supported/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_SINK: "elasticsearch" }), /FLOWLOGS_ES_URL is required/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_SINK: "elasticsearch", FLOWLOGS_ES_URL: "http://es:9200", FLOWLOGS_ES_NAMESPACE: "Prod-1" }), /FLOWLOGS_ES_NAMESPACE/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_CHECKPOINT_CONTAINER: "insights-logs-flowlogflowevent" }), /must differ/);
  const es = { ...base, FLOWLOGS_SINK: "elasticsearch", FLOWLOGS_ES_URL: "https://es:9200" };
  assert.throws(() => loadConfig({ ...es, FLOWLOGS_ES_API_KEY: "k", FLOWLOGS_ES_USERNAME: "u", FLOWLOGS_ES_PASSWORD: "p" }), /either FLOWLOGS_ES_API_KEY or FLOWLOGS_ES_USERNAME/);
  assert.throws(() => loadConfig({ ...es, FLOWLOGS_ES_USERNAME: "u" }), /FLOWLOGS_ES_USERNAME and FLOWLOGS_ES_PASSWORD go together/);
  assert.throws(() => loadConfig({ ...es, FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES: "yes" }), /must be true or false/);
  const basic = loadConfig({ ...es, FLOWLOGS_ES_USERNAME: "writer", FLOWLOGS_ES_PASSWORD: "s3cret-pw", FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES: "true" });
  assert.deepEqual(basic.sink, { kind: "elasticsearch", url: "https://es:9200", namespace: "default", apiKey: undefined, basic: { username: "writer", password: "s3cret-pw" }, dedupeAcrossBackingIndices: true, caFingerprint: undefined, caFile: undefined, bulkLingerMs: 20 });
  assert.equal((loadConfig({ ...es, FLOWLOGS_ES_BULK_LINGER_MS: "0" }).sink as { bulkLingerMs: number }).bulkLingerMs, 0);
  assert.throws(() => loadConfig({ ...es, FLOWLOGS_ES_BULK_LINGER_MS: "5000" }), /FLOWLOGS_ES_BULK_LINGER_MS "5000" is not a whole number from 0 to 1000/);
  assert.ok(!JSON.stringify(describeConfig(basic)).includes("s3cret-pw"), "the password is not in the start-up description");
  const config = loadConfig({ ...base, AZURE_CLIENT_ID: "11111111-2222-3333-4444-555555555555" });
  assert.deepEqual(config.storage, { accountUrl: base.FLOWLOGS_STORAGE_ACCOUNT_URL, managedIdentityClientId: "11111111-2222-3333-4444-555555555555" });
  assert.deepEqual(config.containers, ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"]);
  assert.equal(config.checkpointContainer, "flowlogs-checkpoints");
  assert.equal(config.metricsHost, "127.0.0.1");
  assert.equal(config.fullListingMinutes, 30);
  assert.equal(loadConfig({ ...base, FLOWLOGS_FULL_LISTING_MINUTES: "0" }).fullListingMinutes, 0);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_FULL_LISTING_MINUTES: "half an hour" }), /FLOWLOGS_FULL_LISTING_MINUTES "half an hour" is not a whole number from 0 to 1440/);
});

test("logs are one JSON object per line and never carry the connection string or API key", async () => {
  const { nsg, config } = await setup();
  const writer = new FlowLogBlobWriter(nsg, { kind: "nsg-v1", hour: HOUR, seed: 13 });
  await writer.appendMinute();
  const lines: string[] = [];
  const withSecret: CollectorConfig = { ...config, sink: { kind: "elasticsearch", url: "https://es.example:9200", apiKey: "c2VjcmV0LWFwaS1rZXk=", namespace: "default", dedupeAcrossBackingIndices: false, bulkLingerMs: 20 } };
  await runCollector({ config: withSecret, sink: new RecordingSink(), once: true, blobService: service, writeLog: (l) => lines.push(l) });
  const text = lines.join("");
  assert.ok(lines.length >= 4);
  for (const line of text.trimEnd().split("\n")) assert.equal(typeof JSON.parse(line).event, "string");
  assert.ok(!text.includes("AccountKey"), "no storage key in logs");
  assert.ok(!text.includes("c2VjcmV0LWFwaS1rZXk="), "no API key in logs");
  assert.match(text, /"event":"blob.read.end"/);
});

test("a blob deleted mid-read is reported, its checkpoint forgotten, and the pass continues with the others", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_WINDOW_BYTES: "4096", FLOWLOGS_CONCURRENCY: "1" });
  const doomed = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 14, mac: "000D3A0000AA" });
  const kept = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 15, mac: "000D3A0000BB" });
  for (let i = 0; i < 10; i++) for (const w of [doomed, kept]) await w.appendMinute({ records: 2, tuplesPerRecord: 10 });
  const sink = new RecordingSink();
  let deleted = false;
  sink.onWrite = async (_documents, position) => {
    if (!deleted && position?.blob === doomed.blobName) {
      deleted = true;
      await doomed.blob.delete();
    }
  };
  const store = new CheckpointStore(service.getContainerClient(config.checkpointContainer), { leaseSeconds: 15, replicaId: "peek" });
  const { events, done } = run(config, sink);
  const summary = await done;
  assert.ok(deleted);
  assert.equal(summary.metrics.blobsGone, 1);
  assert.ok(events.some((e) => e.event === "blob.gone" && e.blob === doomed.blobName));
  assert.equal(await store.peek(nsg.containerName, doomed.blobName), undefined, "checkpoint forgotten");
  assert.equal((await store.peek(nsg.containerName, kept.blobName))?.offset, kept.length - 2, "the other blob was read to the end");
  const keptIds = await expectedIds([kept]);
  for (const id of keptIds) assert.ok(sink.documents.has(id));
});

test("a restart lists the checkpoints once: caught-up blobs are not even peeked, grown and unread ones are read", async () => {
  const { nsg, vnet, config } = await setup();
  const writers = [
    new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 21, mac: "000D3A000021" }),
    new FlowLogBlobWriter(nsg, { kind: "nsg-v1", hour: HOUR, seed: 22, mac: "000D3A000022" }),
    new FlowLogBlobWriter(vnet, { kind: "vnet-v4", hour: HOUR, seed: 23, mac: "000D3A000023" }),
  ];
  for (const w of writers) await w.appendMinute({ records: 2 });
  const sink = new RecordingSink();
  const first = run(config, sink);
  await first.done;
  assert.ok(first.events.some((e) => e.event === "checkpoints.listed" && e.caughtUp === 0));

  // New runners stand for restarts: no in-memory state survives, only the checkpoint container.
  const fresh = new FlowLogBlobWriter(vnet, { kind: "vnet-v4", hour: HOUR, seed: 24, mac: "000D3A000024" });
  await fresh.appendMinute({ records: 1 });
  await writers[0]!.appendMinute({ records: 1 });
  const second = run(config, sink);
  const summary = await second.done;
  assert.ok(second.events.some((e) => e.event === "checkpoints.listed" && e.caughtUp === 3));
  const pollEnd = second.events.find((e) => e.event === "poll.end");
  assert.equal(pollEnd?.candidates, 2, "only the grown blob and the new one are candidates");
  assert.equal(summary.metrics.blobsUnchanged, 0, "no checkpoint was read for the unchanged blobs");
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([...writers, fresh]));
  assert.equal(summary.metrics.duplicates, 0);
});

test("between wide listings only the recent hour folders of known flow logs are listed; a late write to an old hour waits for the next wide listing", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_FULL_LISTING_MINUTES: "30" });
  const OLD = new Date(HOUR.getTime() - 5 * 3_600_000);
  const old = [1, 2, 3].map((i) => new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: OLD, seed: 30 + i, mac: `000D3A00003${i}` }));
  const current = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 40, mac: "000D3A000040" });
  for (const w of [...old, current]) await w.appendMinute({ records: 1 });
  let clock = HOUR.getTime() + 30 * 60_000;
  const sink = new RecordingSink();
  let lateTuples = 0;
  let afterRecentPoll: Set<string> | undefined;
  // Each "sleep" between polls is a step of the story; the clock only moves here.
  const steps: Array<() => Promise<void>> = [
    async () => {
      await current.appendMinute({ records: 1 });
      const before = old[0]!.tuples;
      await old[0]!.appendMinute({ records: 1 }); // late write to an hour five hours back
      lateTuples = old[0]!.tuples - before;
      clock += 60_000;
    },
    async () => {
      afterRecentPoll = new Set(sink.documents.keys());
      clock += 30 * 60_000;
    },
  ];
  const { polls } = await stepThrough(config, sink, () => clock, steps);
  assert.deepEqual(polls, [["full", 4, 4], ["recent", 1, 1], ["wide", 4, 1]]);
  const all = await expectedIds([...old, current]);
  assert.equal(afterRecentPoll?.size, all.size - lateTuples, "the recent poll read the current hour, not the late write");
  assert.deepEqual(new Set(sink.documents.keys()), all, "the next wide listing found the late write");
});

test("a wide listing walks the folders to new flow logs and lists the horizon's days only; older late writes wait for the daily full listing", async () => {
  const { nsg, vnet, config } = await setup({ FLOWLOGS_FULL_LISTING_MINUTES: "30", FLOWLOGS_LISTING_HORIZON_HOURS: "24" });
  const hoursBack = (hours: number) => new Date(HOUR.getTime() - hours * 3_600_000);
  // One flow log (NSG-A) with an hour in each of the last five days: the horizon's day folders hold two of them.
  const days = [0, 20, 40, 60, 80].map((back, i) => new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: hoursBack(back), seed: 80 + i, nsgName: "NSG-A", mac: `000D3A00008${i}` }));
  for (const w of days) await w.appendMinute({ records: 1 });
  let clock = HOUR.getTime() + 10 * 60_000;
  const sink = new RecordingSink();
  // Written after the first (full) listing: two new flow logs, one NSG (9 folders down) and one VNet; a late write
  // within the horizon (20 hours back) and one before it (60 hours back).
  const newNsg = new FlowLogBlobWriter(nsg, { kind: "nsg-v1", hour: HOUR, seed: 90, nsgName: "NSG-B", resourceGroup: "RG-OTHER", mac: "000D3A000090" });
  const newVnet = new FlowLogBlobWriter(vnet, { kind: "vnet-v4", hour: hoursBack(1), seed: 91, flowLogName: "NEW-FLOWLOG", mac: "000D3A000091" });
  let lateBeforeHorizon = 0;
  const afterPoll: number[] = [];
  const steps: Array<() => Promise<void>> = [
    async () => {
      afterPoll.push(sink.documents.size);
      await newNsg.appendMinute({ records: 1 });
      await newVnet.appendMinute({ records: 1 });
      await days[1]!.appendMinute({ records: 1 });
      const before = days[3]!.tuples;
      await days[3]!.appendMinute({ records: 1 });
      lateBeforeHorizon = days[3]!.tuples - before;
      clock += 31 * 60_000;
    },
    async () => {
      afterPoll.push(sink.documents.size);
      clock += 24 * 3_600_000;
    },
  ];
  const { polls } = await stepThrough(config, sink, () => clock, steps);
  // Wide: NSG-A's two days in the horizon (today, yesterday: 0 and 20 hours back) and the two new flow logs.
  assert.deepEqual(polls, [["full", 5, 5], ["wide", 4, 3], ["full", 7, 1]]);
  const all = await expectedIds([...days, newNsg, newVnet]);
  assert.equal(afterPoll[1], all.size - lateBeforeHorizon, "the wide listing read the new flow logs and the late write within the horizon, not the one before it");
  assert.deepEqual(new Set(sink.documents.keys()), all, "the daily full listing found the late write before the horizon");
});

test("a flow log deeper than the folder walk reaches, known from the full listing, is still listed between wide listings", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_FULL_LISTING_MINUTES: "30" });
  // Five folders more than an NSG's nine: 14 down, beyond the walk's 12.
  const deep = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 320, resourceGroup: "RG/A/B/C/D/E", mac: "000D3A000320" });
  await deep.appendMinute({ records: 1 });
  let clock = HOUR.getTime() + 10 * 60_000;
  const sink = new RecordingSink();
  const { polls } = await stepThrough(config, sink, () => clock, [
    async () => { clock += 31 * 60_000; },
    async () => { await deep.appendMinute({ records: 1 }); clock += 60_000; },
  ]);
  assert.deepEqual(polls, [["full", 1, 1], ["wide", 0, 0], ["recent", 1, 1]]);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([deep]));
});

test("listings page small enough for the heap: 1,000 blobs a page in full, 250 under a prefix, and a wide listing's day folders two at a time", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_FULL_LISTING_MINUTES: "30", FLOWLOGS_LISTING_HORIZON_HOURS: "48" });
  // Three flow logs with a day folder each for the three days of the horizon (nine prefixes), one of them 300 blobs.
  const day = (back: number) => new Date(HOUR.getTime() - back * 24 * 3_600_000);
  const writers = ["NSG-P", "NSG-Q", "NSG-R"].flatMap((nsgName, i) => [0, 1, 2].map((back) =>
    new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: day(back), seed: 300 + i * 3 + back, nsgName, mac: `000D3A0003${i}${back}` })));
  for (const w of writers) await w.appendMinute({ records: 1 });
  const bulk = Array.from({ length: 300 }, (_, n) => flowLogBlobName({ kind: "nsg-v2", hour: day(1), nsgName: "NSG-P", mac: `000D3A01${String(n).padStart(4, "0")}` }));
  await forEachLimited(bulk, 16, async (name) => { await nsg.getBlockBlobClient(name).upload("{}", 2); });
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, () => "forward");
  try {
    const blobService = BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url));
    let clock = HOUR.getTime() + 10 * 60_000;
    const controller = new AbortController();
    const steps = [async () => { clock += 31 * 60_000; }, async () => controller.abort()];
    const events: LogEvent[] = [];
    await runCollector({
      config, sink: new RecordingSink(), blobService, writeLog: () => {}, onEvent: (e) => events.push(e), now: () => clock,
      signal: controller.signal, fullListingBelowBlobs: 0, sleep: () => steps.shift()!(),
    });
    assert.deepEqual(events.filter((e) => e.event === "poll.end").map((e) => [e.listing, e.listed]), [["full", 309], ["wide", 309]]);
    const listings = proxy.seen.filter((r) => r.method === "GET" && /[?&]comp=list/.test(r.path) && r.path.includes(nsg.containerName));
    const flat = listings.filter((r) => !/[?&]delimiter=/.test(r.path));
    const pageSize = (r: { path: string }) => Number(new URL(r.path, "http://x").searchParams.get("maxresults"));
    const full = flat.filter((r) => !/[?&]prefix=/.test(r.path));
    const days = flat.filter((r) => /[?&]prefix=/.test(r.path));
    assert.deepEqual([...new Set(full.map(pageSize))], [1000]);
    assert.deepEqual([...new Set(days.map(pageSize))], [250]);
    assert.equal(days.length, 10, "nine day folders, the 301-blob one in two pages");
    // In flight when each one arrived: the requests from their arrival to their answer's end.
    assert.ok(days.every((r) => r.closedAfterMs !== undefined));
    const inFlightAtMost = Math.max(...days.map((r) => days.filter((o) => o.arrivedAt <= r.arrivedAt && r.arrivedAt < o.arrivedAt + o.closedAfterMs!).length));
    assert.ok(inFlightAtMost <= 2, `at most two day folders listed at once (saw ${inFlightAtMost})`);
  } finally {
    await proxy.stop();
  }
});

test("while the containers hold few blobs every poll lists in full, so a new flow log is found at once", async () => {
  const { nsg, vnet, config } = await setup({ FLOWLOGS_FULL_LISTING_MINUTES: "30" });
  const first = new FlowLogBlobWriter(nsg, { kind: "nsg-v1", hour: HOUR, seed: 50 });
  await first.appendMinute({ records: 1 });
  const clock = HOUR.getTime() + 10 * 60_000;
  const sink = new RecordingSink();
  const controller = new AbortController();
  const newcomer = new FlowLogBlobWriter(vnet, { kind: "vnet-v4", hour: HOUR, seed: 51 });
  const steps: Array<() => Promise<void>> = [async () => { await newcomer.appendMinute({ records: 1 }); }, async () => controller.abort()];
  const events: LogEvent[] = [];
  await runCollector({
    config, sink, blobService: service, writeLog: () => {}, onEvent: (e) => events.push(e), now: () => clock,
    signal: controller.signal, sleep: () => steps.shift()!(),
  });
  assert.deepEqual(events.filter((e) => e.event === "poll.end").map((e) => e.listing), ["full", "full"]);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([first, newcomer]));
});

test("a blob left unfinished outside the recent hours is tried again on the next poll, not only at the next full listing", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_FULL_LISTING_MINUTES: "30", FLOWLOGS_WINDOW_BYTES: "4096", FLOWLOGS_BATCH_DOCUMENTS: "20" });
  const backlog = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: new Date(HOUR.getTime() - 24 * 3_600_000), seed: 60 });
  for (let minute = 0; minute < 10; minute++) await backlog.appendMinute({ records: 2, tuplesPerRecord: 10 });
  const sink = new RecordingSink();
  sink.failAfter = 50; // the destination fails mid-blob during the first poll
  const { summary, polls } = await stepThrough(config, sink, () => HOUR.getTime() + 60_000, [async () => { sink.failAfter = undefined; }]);
  assert.deepEqual(polls, [["full", 1, 1], ["recent", 0, 1]]);
  assert.equal(summary.metrics.blobsFailed, 1);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([backlog]));
  assert.equal(summary.metrics.pendingSince.size, 0, "nothing left pending");
});

test("with polls five minutes apart, a poll that leaves a blob unfinished is followed by another a minute later, not five", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_POLL_INTERVAL_SECONDS: "300", FLOWLOGS_WINDOW_BYTES: "4096", FLOWLOGS_BATCH_DOCUMENTS: "20" });
  const writer = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 62 });
  await writer.appendMinutes(5, { records: 2, tuplesPerRecord: 10 });
  const sink = new RecordingSink();
  sink.failAfter = 50; // a sink outage during the first poll
  const waits: number[] = [];
  const controller = new AbortController();
  const steps: Array<() => Promise<void>> = [async () => { sink.failAfter = undefined; }, async () => { await writer.appendMinutes(5, { records: 2, tuplesPerRecord: 10 }); }];
  const summary = await runCollector({
    config, sink, blobService: service, writeLog: () => {}, now: () => HOUR.getTime() + 10 * 60_000, signal: controller.signal,
    sleep: async (ms) => {
      waits.push(ms);
      const step = steps.shift();
      if (step) await step();
      else controller.abort();
    },
  });
  assert.deepEqual(waits, [60_000, 300_000, 300_000], "the retry after the outage, then the interval after each poll that finished everything");
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
  assert.equal(summary.metrics.pendingSince.size, 0);
});

test("a blob that grew between the listing and its read is not left pending once a listing shows it caught up (lag gauge); that race, normal tailing, does not shorten the poll interval", async () => {
  const { nsg, config } = await setup({ FLOWLOGS_CONCURRENCY: "1", FLOWLOGS_POLL_INTERVAL_SECONDS: "300" });
  const first = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 70, mac: "000D3A000070" });
  const second = new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour: HOUR, seed: 71, mac: "000D3A000071" });
  for (const w of [first, second]) await w.appendMinute({ records: 1 });
  const sink = new RecordingSink();
  let appended = false;
  sink.onWrite = async (_documents, position) => {
    // While the first blob is written, Azure appends to the second, already listed with its old ETag.
    if (!appended && position?.blob === first.blobName) {
      appended = true;
      await second.appendMinute({ records: 1 });
    }
  };
  const controller = new AbortController();
  const steps: Array<() => Promise<void>> = [async () => undefined, async () => controller.abort()];
  const events: LogEvent[] = [];
  const waits: number[] = [];
  const summary = await runCollector({
    config, sink, blobService: service, writeLog: () => {}, onEvent: (e) => events.push(e), now: () => HOUR.getTime() + 10 * 60_000,
    signal: controller.signal, sleep: (ms) => { waits.push(ms); return steps.shift()!(); },
  });
  assert.ok(appended);
  assert.deepEqual(waits, [300_000, 300_000], "no job failed: the configured interval after each poll");
  assert.deepEqual(events.filter((e) => e.event === "poll.end").map((e) => e.candidates), [2, 0], "the second poll finds both caught up");
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([first, second]));
  assert.equal(summary.metrics.pendingSince.size, 0);
  assert.equal(summary.metrics.lagSeconds(), 0);
});
