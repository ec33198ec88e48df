// Memory bounded by the settings whatever the data, and a blob that cannot be processed does not hold up the
// others (issue 13, item 2). Child processes run the collector on the image's Node.js under its heap cap, on Azurite.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { azuriteConnectionString, imageNode } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector } from "../../collector/src/service/collector";
import { parseFlowLogText, parseRecords } from "../../collector/src/format";
import { openGeoIp } from "../../collector/src/enrich/geoIp";
import { testDatabases } from "../support/mmdbFixtures";
import { checkpointBlobName } from "../../collector/src/checkpoint/state";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";
import { azuriteCollectorConfig } from "../support/collectorConfig";

const HOUR = new Date("2026-11-20T10:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());
// The image's V8 heap cap (collector/Dockerfile: --max-old-space-size=128).
const IMAGE_HEAP_MB = 128;
// Full sizes from the issue with BIG_RECORD_TUPLES=1000000 SINGLE_PUT_MB=64; the defaults still exceed the heap cap
// several times over if held whole (text, parsed records, documents).
const BIG_RECORD_TUPLES = Number(process.env.BIG_RECORD_TUPLES ?? 300_000);
const SINGLE_PUT_MB = Number(process.env.SINGLE_PUT_MB ?? 48);

interface ChildResult {
  status: number | null;
  documents: number;
  largestWrite: number;
  deadLetters: Array<{ reason: string; blob?: string }>;
  maxRssMb: number;
  seconds: number;
}

/** Runs one `run --once` pass in a child process with a counting sink; `crashOn` makes the process exit on that blob. */
async function runChild(env: Record<string, string>, options: { heapMb?: number; crashOn?: string } = {}): Promise<ChildResult> {
  const script = `
    const { runCollector } = require(${JSON.stringify(resolve(__dirname, "../../collector/src/service/collector.ts"))});
    const { loadConfig } = require(${JSON.stringify(resolve(__dirname, "../../collector/src/service/config.ts"))});
    const crashOn = ${JSON.stringify(options.crashOn ?? null)};
    let documents = 0, largestWrite = 0;
    const deadLetters = [];
    const sink = {
      async write(batch, position) {
        // Stands in for an out-of-memory kill on this blob: the process ends with no chance to clean up.
        if (crashOn && position && position.blob === crashOn) process.exit(3);
        documents += batch.length;
        largestWrite = Math.max(largestWrite, batch.length);
        return { indexed: batch.length, duplicates: 0, deadLettered: 0, retries: 0 };
      },
      async deadLetter(entries) { for (const e of entries) deadLetters.push({ reason: e.reason, blob: e.position && e.position.blob }); },
      async close() {},
    };
    const started = Date.now();
    runCollector({ config: loadConfig(process.env), sink, once: true, writeLog: () => {} }).then(() => {
      process.stdout.write(JSON.stringify({ documents, largestWrite, deadLetters, seconds: (Date.now() - started) / 1000,
        maxRssMb: process.resourceUsage().maxRSS / 1024 }) + "\\n");
    });
  `;
  const child = spawn(imageNode(), ["--import", "tsx", "-e", script], {
    env: {
      ...process.env,
      FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
      FLOWLOGS_SINK: "stdout",
      FLOWLOGS_METRICS_PORT: "off",
      ...env,
      NODE_OPTIONS: `--max-old-space-size=${options.heapMb ?? IMAGE_HEAP_MB}`,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout!.on("data", (data) => { output += String(data); });
  const status = await new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const parsed = output.trim() ? JSON.parse(output) as Omit<ChildResult, "status"> : { documents: 0, largestWrite: 0, deadLetters: [], maxRssMb: 0, seconds: 0 };
  return { status, ...parsed };
}

test(`one record of ${BIG_RECORD_TUPLES} tuples in one block is collected under the image's ${IMAGE_HEAP_MB} MB heap cap`, { timeout: 900_000 }, async () => {
  const source = scratch.container("big-rec");
  const checkpoints = scratch.container("big-rec-cp");
  await source.create();
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: HOUR, seed: 31 });
  await writer.appendMinute({ records: 1, tuplesPerRecord: 50 });
  await writer.appendMinute({ records: 1, tuplesPerRecord: BIG_RECORD_TUPLES });
  await writer.appendMinute({ records: 2, tuplesPerRecord: 50 });
  const result = await runChild({
    FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_BATCH_DOCUMENTS: "2000",
  });
  console.log(`one record of ${BIG_RECORD_TUPLES} tuples (${(writer.length / 1048576).toFixed(1)} MB blob): ${result.documents} documents in ${result.seconds} s, peak RSS ${result.maxRssMb.toFixed(0)} MB (heap cap ${IMAGE_HEAP_MB} MB)`);
  assert.equal(result.status, 0);
  assert.equal(result.documents, writer.tuples, "exact count");
  assert.deepEqual(result.deadLetters, []);
  assert.ok(result.largestWrite <= 2000, `largest write ${result.largestWrite}: a record's documents go in batches`);
});

test(`a ${SINGLE_PUT_MB} MB blob written in one Put is collected in ranges under the ${IMAGE_HEAP_MB} MB heap cap`, { timeout: 900_000 }, async () => {
  const donors = scratch.container("single-donor");
  const source = scratch.container("single-src");
  const checkpoints = scratch.container("single-cp");
  await donors.create();
  await source.create();
  const writer = new FlowLogBlobWriter(donors, { kind: "nsg-v2", hour: HOUR, seed: 32 });
  while (writer.length < SINGLE_PUT_MB * 1048576) await writer.appendMinute({ records: 4, tuplesPerRecord: 2_500 });
  const text = await writer.blob.downloadToBuffer();
  await source.getBlockBlobClient(writer.blobName).uploadData(text, { blockSize: 256 << 20, maxSingleShotSize: 256 << 20 });
  assert.equal((await source.getBlockBlobClient(writer.blobName).getBlockList("committed")).committedBlocks?.length ?? 0, 0, "one Put");
  const result = await runChild({ FLOWLOGS_CONTAINERS: source.containerName, FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName });
  console.log(`single-Put blob of ${(text.length / 1048576).toFixed(1)} MB: ${result.documents} documents in ${result.seconds} s, peak RSS ${result.maxRssMb.toFixed(0)} MB (heap cap ${IMAGE_HEAP_MB} MB)`);
  assert.equal(result.status, 0);
  assert.equal(result.documents, writer.tuples, "exact count");
  assert.deepEqual(result.deadLetters, []);
});

test("a blob that crashes the process every time is dead-lettered after FLOWLOGS_MAX_ATTEMPTS; the blob behind it is then indexed (concurrency 1)", { timeout: 300_000 }, async () => {
  const source = scratch.container("crash-src");
  const checkpoints = scratch.container("crash-cp");
  await source.create();
  // Listed first (names sort): the poisoned blob; then a healthy one.
  const poisoned = new FlowLogBlobWriter(source, { kind: "nsg-v2", hour: HOUR, seed: 41, mac: "000D3A00000A" });
  const healthy = new FlowLogBlobWriter(source, { kind: "nsg-v2", hour: HOUR, seed: 42, mac: "000D3A00000B" });
  assert.ok(poisoned.blobName < healthy.blobName);
  await poisoned.appendMinute({ records: 1, tuplesPerRecord: 20 });
  await healthy.appendMinute({ records: 3, tuplesPerRecord: 10 });
  const env = {
    FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_CONCURRENCY: "1",
    FLOWLOGS_MAX_ATTEMPTS: "3",
  };
  // A killed process keeps its lease until it expires; breaking it stands in for waiting out FLOWLOGS_LEASE_SECONDS.
  const leaseExpires = () => checkpoints.getBlobClient(checkpointBlobName(source.containerName, poisoned.blobName)).getBlobLeaseClient().breakLease(0);
  for (let run = 1; run <= 3; run++) {
    const crashed = await runChild(env, { crashOn: poisoned.blobName, heapMb: 256 });
    assert.equal(crashed.status, 3, `run ${run} dies on the poisoned blob`);
    await leaseExpires();
  }
  const fourth = await runChild(env, { crashOn: poisoned.blobName, heapMb: 256 });
  assert.equal(fourth.status, 0);
  assert.equal(fourth.documents, healthy.tuples, "the healthy blob behind it is indexed");
  const letters = fourth.deadLetters.filter((l) => l.blob === poisoned.blobName);
  assert.equal(letters.length, 1, JSON.stringify(fourth.deadLetters));
  assert.match(letters[0].reason, /not processed after 3 tries at offset \d+ \(the process stopped while on it\)/);
  const fifth = await runChild(env, { crashOn: poisoned.blobName, heapMb: 256 });
  assert.deepEqual([fifth.status, fifth.documents, fifth.deadLetters.length], [0, 0, 0], "both blobs are caught up");
});

test("a blob whose processing fails in-process is dead-lettered after FLOWLOGS_MAX_ATTEMPTS with the last error; a sink outage costs no try", async () => {
  const source = scratch.container("fail-src");
  const checkpoints = scratch.container("fail-cp");
  await source.create();
  const failing = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: HOUR, seed: 43, mac: "000D3A00000C" });
  const healthy = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: HOUR, seed: 44, mac: "000D3A00000D" });
  await failing.appendMinute({ records: 1, tuplesPerRecord: 5 });
  const config = azuriteCollectorConfig(source.containerName, checkpoints.containerName, {
    FLOWLOGS_CONCURRENCY: "1",
    FLOWLOGS_MAX_ATTEMPTS: "2",
  });
  const sink = new RecordingSink();
  // A parser bug that throws on one blob's record (as a crash of the process would, but caught).
  const parse: typeof parseRecords = (records, first) => {
    if ((records[0] as { macAddress?: string }).macAddress === "000D3A00000C") throw new Error("parser bug on this record");
    return parseRecords(records, first);
  };
  // Meanwhile the sink refuses the healthy blob's batches for more runs than the limit: a retry saves them.
  let outageRuns = 3;
  sink.onWrite = (_documents, position) => {
    if (outageRuns > 0 && position?.blob === healthy.blobName) throw new Error("cluster unavailable");
  };
  for (let run = 1; run <= 4; run++) {
    await healthy.appendMinute({ records: 1, tuplesPerRecord: 3 });
    await runCollector({ config, sink, once: true, parse, writeLog: () => {} });
    outageRuns--;
  }
  const letters = sink.deadLetters.filter((l) => l.position?.blob === failing.blobName);
  assert.equal(letters.length, 1);
  assert.match(letters[0].reason, /not processed after 2 tries at offset \d+ \(last error: .*parser bug on this record/);
  assert.equal(sink.deadLetters.length, 1, "nothing of the healthy blob was dead-lettered during the outage");
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([healthy]), "all of the healthy blob once the sink is back");
});

test("records longer than FLOWLOGS_RECORD_BYTES are streamed with the same ids as whole parsing; both paths write in batches; a broken one is dead-lettered", async () => {
  const source = scratch.container("stream-src");
  await source.create();
  // The twin writes the same records without the broken one: its full text is the reference.
  const twins = scratch.container("stream-twin");
  await twins.create();
  const writer = new FlowLogBlobWriter(source, { kind: "nsg-v2", hour: HOUR, seed: 45 });
  const twin = new FlowLogBlobWriter(twins, { kind: "nsg-v2", hour: HOUR, seed: 45 });
  for (const w of [writer, twin]) {
    for (let minute = 0; minute < 4; minute++) await w.appendMinute({ records: 2, tuplesPerRecord: minute % 2 ? 300 : 4 });
    if (w === writer) await w.appendMalformedBlock(`{"time":"2026-11-20T10:05:00Z","category":"broken","pad":"${"x".repeat(9000)}"`);
    await w.appendMinute({ records: 1, tuplesPerRecord: 250 });
  }
  for (const recordBytes of [4096, 1 << 20]) {
    const checkpoints = scratch.container("stream-cp");
    const config = azuriteCollectorConfig(source.containerName, checkpoints.containerName, {
      FLOWLOGS_WINDOW_BYTES: String(Math.max(16384, recordBytes)),
      FLOWLOGS_RECORD_BYTES: String(recordBytes),
      FLOWLOGS_BATCH_DOCUMENTS: "50",
      // Knows the generated destinations (192.0.2.0/24), so the streamed path's enrichment is checked below.
      FLOWLOGS_GEOIP_DATABASE: testDatabases().city,
    });
    const sink = new RecordingSink();
    let largestWrite = 0;
    sink.onWrite = (documents) => { largestWrite = Math.max(largestWrite, documents.length); };
    const summary = await runCollector({ config, sink, once: true, writeLog: () => {} });
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([twin]));
    assert.equal(sink.documents.size, writer.tuples);
    // Streamed or whole, documents carry the same geo enrichment.
    const enrichment = { addresses: openGeoIp(config.geoip)! };
    const reference = parseFlowLogText((await twin.blob.downloadToBuffer()).toString("utf8"), enrichment).documents;
    for (const document of reference) assert.equal(sink.documents.get(document.id)?.source, document.source, document.id);
    assert.ok(reference.some((document) => document.source.includes('"geo":')), "public destinations were enriched");
    assert.equal(summary.metrics.duplicates, 0);
    assert.ok(largestWrite <= 50, `largest write ${largestWrite}`);
    assert.equal(sink.deadLetters.length, 1, JSON.stringify(sink.deadLetters.map((l) => l.reason)));
    assert.match(sink.deadLetters[0].reason, /not valid JSON/);
    // Streaming costs downloads: each long record's range is read twice (the scan with pass 1, then pass 2's tuples;
    // counted byte by byte in service.longRecord.test.ts).
    if (recordBytes === 4096) assert.ok(summary.metrics.bytesRead > writer.length, `${summary.metrics.bytesRead} bytes read for ${writer.length}`);
  }
});
