// Soak: Azure keeps appending to five flow-log blobs while one `run` service (a child process) is SIGKILLed at 20
// seeded random points and restarted each time, and a second replica runs all along. At the end the data stream
// holds exactly the tuples written, each once (every expected id, nothing else), and no dead letter. It prints how
// many kills landed in the middle of a blob job (a read/write not finished) and in the middle of an append.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { FlowLogDataset } from "../support/dataset";
import { mulberry32 } from "../support/flowLogWriter";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { expectedIds } from "../collector/serviceRecordingSink";
import { deadLetterDataStream } from "../../collector/src/sink/dataStreams";
import { stopChildrenAndWorld } from "./collectorChildren";
import { childState, countDocuments, createWorld, logEvents, spawnCollector, waitFor, type CollectorChild, type E2eWorld } from "./e2eSupport";

const KILLS = 20;
const MINUTES = 40;
const SEED = 20261201;

let world: E2eWorld | undefined;
const children: CollectorChild[] = [];
after(() => stopChildrenAndWorld(children, world));

/** Blob jobs a collector had started and not finished when its log ends (it was killed inside them). */
function openJobs(stderr: string): number {
  const open = new Set<string>();
  for (const event of logEvents(stderr)) {
    const key = `${event.container}/${event.blob}`;
    if (event.event === "blob.read.start") open.add(key);
    else if (["blob.read.end", "blob.failed", "blob.gone", "blob.changed"].includes(event.event)) open.delete(key);
  }
  return open.size;
}

test(`soak: ${KILLS} SIGKILLs at seeded random points while Azure appends, a second replica all along: exact counts, no duplicate`, async (t) => {
  assert.ok(azuriteConnectionString() && elasticsearchUrl(), "the runner started Azurite and Elasticsearch");
  world = await createWorld("soak");
  const dataset = new FlowLogDataset(world.service, {
    nsgContainer: world.nsg.containerName, vnetContainer: world.vnet.containerName, recordsPerMinute: 2,
  });
  await dataset.appendMinutes(2);
  // Small windows and batches: many checkpoints per blob, so a kill often lands inside a job.
  // The steady replica works on one blob at a time, so the one that is killed has blobs of its own to be cut in.
  const env = (replica: string, concurrency = 2) => world!.env({
    FLOWLOGS_WINDOW_BYTES: "4096", FLOWLOGS_BATCH_DOCUMENTS: "20", FLOWLOGS_CONCURRENCY: String(concurrency),
    FLOWLOGS_LOG_LEVEL: "info", FLOWLOGS_REPLICA_ID: replica,
  });
  const steady = spawnCollector(env("steady", 1));
  children.push(steady);

  // Azure's side: a minute appended to every blob about every 1.5 s until MINUTES are written.
  let appending = false;
  let stopAppending = false;
  const appender = (async () => {
    while (dataset.minutesWritten < MINUTES && !stopAppending) {
      appending = true;
      await dataset.appendMinutes(1);
      appending = false;
      await new Promise((r) => setTimeout(r, 1_500));
    }
  })();

  const random = mulberry32(SEED);
  let midJob = 0;
  let midAppend = 0;
  let cutJobs = 0;
  try {
    for (let kill = 1; kill <= KILLS; kill++) {
      const doomed = spawnCollector(env(`doomed-${kill}`));
      children.push(doomed);
      // The kill point: a seeded delay after the service has listed its checkpoints (it is up and polling).
      // Its log is kept to the last 200,000 characters, which a busy start can pass before this looks (once in CI,
      // 60 s of waiting for a line already gone): whether the event was logged is kept apart.
      await waitFor(`doomed-${kill} to start`, async () => doomed.logged("checkpoints.listed"), 120_000, 50, () => childState(doomed));
      await new Promise((r) => setTimeout(r, Math.round(200 + random() * 2_800)));
      const open = openJobs(doomed.stderr());
      if (appending) midAppend++;
      doomed.child.kill("SIGKILL");
      const { signal } = await doomed.exited;
      assert.equal(signal, "SIGKILL", `doomed-${kill} was killed, not exited:\n${doomed.stderr().slice(-2000)}`);
      if (open > 0) midJob++;
      cutJobs += open;
    }
  } finally {
    stopAppending = dataset.minutesWritten >= MINUTES;
    await appender;
  }
  if (dataset.minutesWritten < MINUTES) await dataset.appendMinutes(MINUTES - dataset.minutesWritten);
  const total = dataset.tuples;

  // The last restart, as after every kill; the dead processes' leases expire after FLOWLOGS_LEASE_SECONDS (15).
  const last = spawnCollector(env("restarted"));
  children.push(last);
  // Up and polling before the end is judged (and before SIGTERM, which a process still booting would not handle).
  await waitFor("the restarted service to start", async () => last.logged("poll.end"), 120_000, 50, () => childState(last));
  await waitFor("both replicas to catch up", async () => (await world!.count()) >= total, 180_000, 500);
  for (const survivor of [steady, last]) {
    survivor.child.kill("SIGTERM");
    const { code, signal } = await survivor.exited;
    assert.equal(code, 0, `stopped cleanly on SIGTERM (signal ${signal}, ${survivor.stderr().length} bytes of log):\n${survivor.stderr().slice(-2000)}`);
  }

  assert.equal(await world.count(), total, "exactly the tuples written");
  const hits = await world.es.search({ index: world.dataStream, size: 10_000, _source: false });
  const ids = hits.hits.hits.map((hit) => hit._id!);
  assert.equal(new Set(ids).size, ids.length, "no id twice");
  assert.deepEqual(new Set(ids), await expectedIds(dataset.writers), "every tuple written, each once");
  assert.equal(await countDocuments(world.es, deadLetterDataStream(world.namespace)), 0, "no dead letter");
  const stops = [steady, last].map((c) => logEvents(c.stderr()).find((e) => e.event === "collector.stop"));
  const line = `soak: ${KILLS} kills, ${midJob} mid-job (${cutJobs} blob jobs cut), ${midAppend} mid-append; ` +
    `${dataset.minutesWritten} minutes x ${dataset.writers.length} blobs = ${total} tuples, ${total} documents, 0 duplicates, 0 dead letters; ` +
    `survivors indexed ${stops.map((s) => s?.indexed).join(" + ")} and absorbed ${stops.map((s) => s?.duplicates).join(" + ")} re-sent documents as 409s`;
  t.diagnostic(line);
  console.log(line);
});
