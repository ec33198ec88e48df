// The bench's warm collector (scripts/bench/imageRuntime.ts, collectWarmInChild): `collector_cpu_share_warm` means
// what it says only if one child collects the blobs twice, each pass into its own namespace with its own
// checkpoints, and this process gets its turn (Elasticsearch's CPU sample) after the first pass and before the second.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { flowDataStream } from "../../collector/src/sink/dataStreams";
import { collectWarmInChild } from "../../scripts/bench/imageRuntime";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { scratchContainers } from "../support/scratchContainers";

// The collector's sources through tsx, so the test needs no build; the bench runs the same code built (collector/dist).
const SOURCES = { dist: resolve(__dirname, "../../collector/src"), nodeArgs: ["--import", "tsx"] };

const client = esClient(elasticsearchUrl());
const scratch = scratchContainers(azuriteConnectionString());

async function flowLogs(): Promise<{ container: string; tuples: number }> {
  const source = scratch.container("warm-source");
  await source.create();
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T12:00:00Z"), seed: 5 });
  for (let minute = 0; minute < 3; minute++) await writer.appendMinute({ records: 2, tuplesPerRecord: 10 });
  return { container: source.containerName, tuples: writer.tuples };
}

async function count(namespace: string): Promise<number> {
  await client.indices.refresh({ index: flowDataStream(namespace), ignore_unavailable: true });
  return (await client.count({ index: flowDataStream(namespace), ignore_unavailable: true })).count;
}

async function warmRun(source: { container: string }, expected: number, between: () => Promise<void> = async () => {}) {
  const namespaces = { warmUp: uniqueNamespace("warmup"), measured: uniqueNamespace("warm") };
  for (const namespace of Object.values(namespaces)) await applyIndexAssets(client, { namespace });
  const run = collectWarmInChild({
    FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
    FLOWLOGS_CONTAINERS: source.container,
    FLOWLOGS_CHECKPOINT_CONTAINER: scratch.container("warm-measured").containerName,
    FLOWLOGS_SINK: "elasticsearch",
    FLOWLOGS_ES_URL: elasticsearchUrl(),
    FLOWLOGS_ES_NAMESPACE: namespaces.measured,
  }, {
    env: { FLOWLOGS_ES_NAMESPACE: namespaces.warmUp, FLOWLOGS_CHECKPOINT_CONTAINER: scratch.container("warm-up").containerName },
    beforeMeasuredPass: between,
  }, expected, SOURCES);
  return { namespaces, run };
}

test.after(() => client.close());

test("the warm collector collects every blob twice, into the warm-up namespace and then the measured one, and lets this process in between", async () => {
  const source = await flowLogs();
  const seenBetween: number[] = [];
  const { namespaces, run } = await warmRun(source, source.tuples, async () => {
    seenBetween.push(await count(namespaces.warmUp), await count(namespaces.measured));
  });
  const result = await run;
  assert.deepEqual(seenBetween, [source.tuples, 0], "between the passes: the warm-up pass done, the measured one not begun");
  assert.equal(result.warmUpDocuments, source.tuples);
  assert.equal(result.documents, source.tuples);
  assert.equal(await count(namespaces.measured), source.tuples);
  assert.ok(result.cpuSeconds > 0);
  // The measured pass's share of the main thread: read from /proc in ticks of 10 ms, so it may exceed the process's
  // figure (microseconds) by a tick.
  assert.ok(result.mainThreadCpuSeconds >= 0 && result.mainThreadCpuSeconds <= result.cpuSeconds + 0.01,
    `main thread ${result.mainThreadCpuSeconds} CPU s of the pass's ${result.cpuSeconds}`);
});

test("the warm collector throws when a pass delivers other than the expected documents", async () => {
  const source = await flowLogs();
  const { run } = await warmRun(source, source.tuples + 1);
  await assert.rejects(run, new RegExp(`delivered ${source.tuples} documents in its warm-up pass and ${source.tuples} in its measured pass, ${source.tuples + 1} expected`));
});
