// A stop (SIGTERM) while Elasticsearch refuses or hangs: the stop reaches the sink's wait between retries and its
// bulk request in flight, so the service returns within a couple of seconds, not after the sink's retries run out
// (about a minute of backoff by default, or a 60 s request timeout per try: beyond a container's 30 s kill grace).
// The job ends stopped with its checkpoint where it was, gives its try back and releases its lease; the batch the
// cluster had already acknowledged comes back as duplicates on the restart, so the counts stay exact. Real Azurite,
// real Elasticsearch behind a proxy that refuses or stalls bulk requests on cue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { checkpointBlobName } from "../../collector/src/checkpoint/state";
import { parseFlowLogText } from "../../collector/src/format/parse";
import { runCollector } from "../../collector/src/service/collector";
import { flowDataStream } from "../../collector/src/sink/dataStreams";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { azuriteCollectorConfig } from "../support/collectorConfig";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { esClient, esClientOptions, uniqueNamespace } from "../support/esClient";
import { startFaultyProxy, type Fault } from "../support/faultyProxy";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { scratchContainers } from "../support/scratchContainers";
import { STALL_HOUR, serve, until } from "./storageStall";

/**
 * How long a stop may take on a busy 2-core machine (the give-back and the release through Azurite included); far
 * below the minute of backoff or the 60 s request timeout a stop must not wait for, and a container's 30 s kill grace.
 */
const STOP_WITHIN_MS = 5_000;
const BATCH_DOCUMENTS = 4;
const scratch = scratchContainers(azuriteConnectionString());

/** Timers that keep this process alive. */
const timers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length;

/** The collector's settings for the Elasticsearch behind `url` (the test cluster's credentials, if it has any). */
function elasticsearchSettings(url: string, namespace: string): Record<string, string> {
  const { auth } = esClientOptions(url);
  return {
    FLOWLOGS_SINK: "elasticsearch", FLOWLOGS_ES_URL: url, FLOWLOGS_ES_NAMESPACE: namespace,
    ...(auth && "apiKey" in auth ? { FLOWLOGS_ES_API_KEY: auth.apiKey } : {}),
    ...(auth && "username" in auth ? { FLOWLOGS_ES_USERNAME: auth.username, FLOWLOGS_ES_PASSWORD: auth.password } : {}),
  };
}

const cases: Array<{ name: string; fault: Fault; faulted: (seen: { fault: Fault; closedAfterMs?: number }[]) => boolean }> = [
  // Past two refusals the sink is in (or past) its second wait between retries.
  { name: "answers 429 to every bulk request", fault: { status: 429 }, faulted: (seen) => seen.length >= 2 },
  { name: "never answers a bulk request", fault: "stallHead", faulted: (seen) => seen.some((r) => r.closedAfterMs === undefined) },
];

for (const { name, fault, faulted } of cases) {
  test(`a stop while Elasticsearch ${name} returns within ${STOP_WITHIN_MS} ms, gives the try back, releases the lease; the restart gives exact counts`, { timeout: 60_000 }, async (t) => {
    const label = `stopsink-${fault === "stallHead" ? "hang" : "429"}`;
    const client = esClient(elasticsearchUrl());
    const namespace = uniqueNamespace(label);
    await applyIndexAssets(client, { namespace });
    // The first bulk request goes through (acknowledged before the stop), every later one meets the fault.
    const healthy = { on: false };
    let bulks = 0;
    const proxy = await startFaultyProxy(elasticsearchUrl(), ({ path }) =>
      healthy.on || !path.startsWith("/_bulk") || bulks++ === 0 ? "forward" : fault);
    const source = scratch.container(`${label}-src`);
    await source.create();
    const checkpoints = scratch.container(`${label}-cp`);
    const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: STALL_HOUR, seed: 71 });
    await writer.appendMinute({ records: 3, tuplesPerRecord: 4 });
    const expected = parseFlowLogText((await writer.blob.downloadToBuffer()).toString("utf8")).documents.map((d) => d.id).sort();
    const config = (url: string) => azuriteCollectorConfig(source.containerName, checkpoints.containerName, {
      ...elasticsearchSettings(url, namespace), FLOWLOGS_BATCH_DOCUMENTS: String(BATCH_DOCUMENTS), FLOWLOGS_MAX_ATTEMPTS: "2",
      FLOWLOGS_POLL_INTERVAL_SECONDS: "1", FLOWLOGS_REPLICA_ID: "stopsink",
    });
    const timersBefore = timers();
    const service = serve({ config: config(proxy.url) });
    try {
      const seenFaults = () => proxy.seen.filter((r) => r.fault === fault);
      await until(`the sink to meet the fault (${JSON.stringify(fault)})`, () => faulted(seenFaults()));
      const asked = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([service.stop().then(() => true), new Promise<false>((r) => { timer = setTimeout(() => r(false), STOP_WITHIN_MS); })]);
      clearTimeout(timer);
      const took = Date.now() - asked;
      t.diagnostic(`stop took ${stopped ? `${took} ms` : `over ${STOP_WITHIN_MS} ms`}`);
      assert.ok(stopped, "the stop waited on the sink");
      const { metrics } = await service.done;
      // A wait between retries left running would keep the stopped process alive (the CLI exits when nothing is left).
      assert.equal(timers(), timersBefore, "no timer of the stopped service left running");
      assert.equal(metrics.errors, 0, "a stop is not a failure (the exit status stays 0)");
      assert.deepEqual(service.events.filter((e) => e.level === "error"), []);
      assert.ok(service.events.some((e) => e.event === "blob.stopped"), "the job ended stopped");
      assert.ok(seenFaults().every((r) => r.closedAfterMs !== undefined), "no bulk request left open");
      const stored = await new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "check" }).peek(source.containerName, writer.blobName);
      assert.equal(stored?.offset, 0, "the checkpoint did not move past what was not acknowledged");
      assert.equal(stored?.attempt, undefined, "no try left counted");
      const lease = (await checkpoints.getBlobClient(checkpointBlobName(source.containerName, writer.blobName)).getProperties()).leaseState;
      assert.equal(lease, "available", "the lease released");

      healthy.on = true;
      const restart = await runCollector({ config: config(proxy.url), once: true, writeLog: () => {} });
      assert.equal(restart.metrics.duplicates, BATCH_DOCUMENTS, "the batch acknowledged before the stop comes back as duplicates");
      assert.equal(restart.metrics.indexed, expected.length - BATCH_DOCUMENTS);
      await client.indices.refresh({ index: flowDataStream(namespace) });
      const found = await client.search({ index: flowDataStream(namespace), size: 1000, _source: false });
      assert.deepEqual(found.hits.hits.map((hit) => hit._id).sort(), expected, "every document exactly once");
    } finally {
      await proxy.stop();
      await service.done.catch(() => undefined);
      await client.close();
    }
  });
}
