// Refusals of the index or the cluster, not of the document, on the real Elasticsearch: a write-blocked or closed
// backing index or a missing default pipeline must not send the documents to the dead-letter stream (a rollover over
// `cluster.max_shards_per_node` is covered by its reason below: the limit is cluster-wide and would refuse the
// indices of the test files that run alongside). The write is retried, then fails, so the blob's checkpoint stays
// where it was; once the block is lifted the same data lands with exact counts.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { ElasticsearchSink } from "../../collector/src/sink/elasticsearch";
import { OpenSearchSink } from "../../collector/src/sink/opensearch";
import { MAX_ITEM_REASON_CHARS, bulkItemReason, classifyBulkItem } from "../../collector/src/sink/httpBulk";
import { runCollector } from "../../collector/src/service/collector";
import { loadConfig } from "../../collector/src/service/config";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import type { LogEvent } from "../../collector/src/service/logger";
import type { Sink } from "../../collector/src/model";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { esClient, esClientOptions, uniqueNamespace } from "../support/esClient";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { sampleBatch } from "../elasticsearch/sampleDocuments";

const noWait = async (): Promise<void> => {};
const scratch = scratchContainers(azuriteConnectionString());

/** A data stream with one document in it (so its backing index exists), and that backing index's name. */
async function dataStreamWithBackingIndex(client: Client, sink: Sink & { dataStream: string }): Promise<string> {
  await sink.write(sampleBatch(1, "seed"));
  return Object.keys(await client.indices.get({ index: sink.dataStream }))[0]!;
}

async function count(client: Client, index: string): Promise<number> {
  await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  return (await client.count({ index, ignore_unavailable: true, allow_no_indices: true })).count;
}

/** Breaks the data stream (its backing index, or the data stream itself); resolves to what mends it. */
type Fault = { name: string; apply(client: Client, backing: string, dataStream: string): Promise<() => Promise<unknown>>; error: RegExp };
const faults: Fault[] = [
  {
    name: "index.blocks.write",
    apply: async (client, backing) => {
      await client.indices.putSettings({ index: backing, settings: { "index.blocks.write": true } });
      return () => client.indices.putSettings({ index: backing, settings: { "index.blocks.write": false } });
    },
    error: /403 cluster_block_exception/,
  },
  {
    name: "a closed backing index",
    apply: async (client, backing) => {
      await client.indices.close({ index: backing });
      return () => client.indices.open({ index: backing, wait_for_active_shards: 1 });
    },
    error: /400 index_closed_exception/,
  },
  {
    // A 400 illegal_argument_exception like a bad field value's, but about the index's settings.
    name: "a default pipeline that does not exist",
    apply: async (client, backing) => {
      const settings = await client.indices.getSettings({ index: backing, name: "index.default_pipeline" });
      const pipeline = settings[backing]?.settings?.index?.default_pipeline;
      await client.indices.putSettings({ index: backing, settings: { "index.default_pipeline": "azure-flowlogs-deleted" } });
      return () => client.indices.putSettings({ index: backing, settings: { "index.default_pipeline": pipeline ?? null } });
    },
    error: /400 illegal_argument_exception: pipeline with id \[azure-flowlogs-deleted\] does not exist/,
  },
];

for (const kind of ["elasticsearch", "opensearch"] as const) {
  for (const fault of faults) {
    test(`${kind} sink, ${fault.name}: retried, then the write fails; nothing dead-lettered; lifted, exact counts`, async () => {
      const client = esClient(elasticsearchUrl());
      const namespace = uniqueNamespace("block");
      await applyIndexAssets(client, { namespace });
      const waits: number[] = [];
      const options = { ...esClientOptions(elasticsearchUrl()), namespace, maxRetries: 3, sleep: async (ms: number) => { waits.push(ms); } };
      const sink = kind === "elasticsearch" ? new ElasticsearchSink(options) : new OpenSearchSink(options);
      let lift: (() => Promise<unknown>) | undefined;
      try {
        const backing = await dataStreamWithBackingIndex(client, sink);
        lift = await fault.apply(client, backing, sink.dataStream);
        const batch = sampleBatch(500, "blocked");
        const written = sink.write(batch);
        await written.catch(() => undefined);
        await lift();
        lift = undefined;
        await assert.rejects(written, (error: Error) => {
          assert.match(error.message, /gave up writing 500 document\(s\) to logs-azure\.flowlogs-block\w+ after 3 retries/);
          assert.match(error.message, fault.error);
          return true;
        });
        assert.equal(waits.length, 3, "backed off between the tries");
        assert.equal(await count(client, sink.deadLetterDataStream), 0, "no dead letter");
        assert.deepEqual(await sink.write(batch), { indexed: 500, duplicates: 0, deadLettered: 0, retries: 0 });
        assert.equal(await count(client, sink.dataStream), 501);
        assert.equal(await count(client, sink.deadLetterDataStream), 0);
      } finally {
        await lift?.().catch(() => undefined);
        await sink.close();
        await client.close();
      }
    });
  }
}

test("the service under a write block: the blob fails, its checkpoint does not move; lifted, exact counts", async () => {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace("svcblock");
  await applyIndexAssets(client, { namespace });
  const source = scratch.container("blk-src");
  await source.create();
  const checkpoints = scratch.container("blk-cp");
  const config = loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
    FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_ES_URL: elasticsearchUrl(),
    FLOWLOGS_ES_NAMESPACE: namespace,
    FLOWLOGS_METRICS_PORT: "off",
  });
  const sink = new ElasticsearchSink({ ...esClientOptions(elasticsearchUrl()), namespace, maxRetries: 2, sleep: noWait });
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 5 });
  try {
    const backing = await dataStreamWithBackingIndex(client, sink);
    for (let minute = 0; minute < 5; minute++) await writer.appendMinute({ records: 2, tuplesPerRecord: 50 });
    await client.indices.putSettings({ index: backing, settings: { "index.blocks.write": true } });
    const events: LogEvent[] = [];
    const blocked = await runCollector({ config, sink, once: true, writeLog: () => {}, onEvent: (e) => events.push(e) });
    assert.equal(blocked.metrics.blobsFailed, 1);
    assert.equal(blocked.metrics.deadLettered, 0);
    assert.match(String(events.find((e) => e.event === "blob.failed")?.error), /cluster_block_exception/);
    const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "probe" });
    assert.equal((await store.peek(source.containerName, writer.blobName))?.offset ?? 0, 0, "checkpoint not advanced");
    assert.equal(await count(client, sink.deadLetterDataStream), 0);

    await client.indices.putSettings({ index: backing, settings: { "index.blocks.write": false } });
    const lifted = await runCollector({ config, sink, once: true, writeLog: () => {} });
    assert.equal(lifted.metrics.indexed, writer.tuples);
    assert.equal(await count(client, sink.dataStream), writer.tuples + 1);
    assert.equal(await count(client, sink.deadLetterDataStream), 0);
  } finally {
    await sink.close();
    await client.close();
  }
});

test("classification: index- and cluster-level refusals are retried, only document-level ones are refused", () => {
  const item = (status: number, type: string, cause?: string) => ({ status, error: { type, reason: "r", ...(cause ? { caused_by: { type: cause, reason: "c" } } : {}) } });
  assert.equal(classifyBulkItem(item(403, "cluster_block_exception")), "retry");
  assert.equal(classifyBulkItem(item(429, "cluster_block_exception")), "retry");
  assert.equal(classifyBulkItem(item(400, "index_closed_exception")), "retry");
  assert.equal(classifyBulkItem(item(403, "security_exception")), "retry");
  assert.equal(classifyBulkItem(item(401, "security_exception")), "retry");
  assert.equal(classifyBulkItem(item(400, "illegal_argument_exception", "circuit_breaking_exception")), "retry");
  assert.equal(classifyBulkItem(item(404, "index_not_found_exception")), "missing-template");
  assert.equal(classifyBulkItem(item(400, "document_parsing_exception", "illegal_argument_exception")), "refused");
  assert.equal(classifyBulkItem(item(400, "mapper_parsing_exception")), "refused");
  assert.equal(classifyBulkItem(item(400, "strict_dynamic_mapping_exception")), "refused");
  // Types shared by the document's own faults and the set-up's: told apart by the reason.
  const said = (status: number, type: string, reason: string, cause?: { type: string; reason: string }) =>
    classifyBulkItem({ status, error: { type, reason, ...(cause ? { caused_by: cause } : {}) } });
  assert.equal(said(400, "illegal_argument_exception", "pipeline with id [geoip] does not exist"), "retry");
  assert.equal(said(400, "illegal_state_exception", "pipeline with id [geoip] could not be loaded, caused by [no enrich index]"), "retry");
  assert.equal(said(400, "illegal_state_exception", "Pipeline processor configured for non-existent pipeline [inner]"), "retry");
  // Elasticsearch 9.2.4's answer to a write whose lazy rollover would pass cluster.max_shards_per_node, as it came.
  assert.equal(said(400, "validation_exception", "Validation Failed: 1: this action would add [2] shards, but this cluster currently has [8]/[8] " +
    "maximum normal shards open; for more information, see https://www.elastic.co/docs/deploy-manage/production-guidance/optimize-performance/" +
    "size-shards?version=9.2#troubleshooting-max-shards-open;"), "retry");
  assert.equal(said(400, "ingest_processor_exception", "wrapped", { type: "illegal_argument_exception", reason: "pipeline with id [x] does not exist" }), "retry");
  assert.equal(said(400, "illegal_argument_exception", "field [source.port] of type [long] cannot be [not-a-port]"), "refused");
  assert.equal(said(400, "illegal_argument_exception", "field [source.ip] not present as part of path [source.ip]"), "refused");
  assert.equal(said(400, "illegal_state_exception", "the field [message] does not exist, pipeline with id [x] does not exist"), "refused");
  assert.equal(said(400, "validation_exception", "Validation Failed: 1: id is too long, must be no longer than 512 bytes"), "refused");
  assert.equal(said(400, "document_parsing_exception", "failed to parse", { type: "illegal_argument_exception", reason: "this action would add [2] shards" }), "refused");
  assert.equal(classifyBulkItem({ status: 409 }), "duplicate");
  assert.equal(classifyBulkItem({ status: 201 }), "created");
});

test("an item's reason is kept whole up to MAX_ITEM_REASON_CHARS, then cut with its length, never inside a surrogate pair", () => {
  const short = { status: 400, error: { type: "document_parsing_exception", reason: "failed to parse", caused_by: { type: "illegal_argument_exception", reason: "bad ip" } } };
  assert.equal(bulkItemReason(short), "document_parsing_exception: failed to parse (illegal_argument_exception: bad ip)");
  const head = "script_exception: runtime error (illegal_argument_exception: ";
  const long = { status: 400, error: { type: "script_exception", reason: "runtime error", caused_by: { type: "illegal_argument_exception", reason: "r".repeat(10_000) } } };
  const bounded = bulkItemReason(long);
  assert.equal(bounded, `${head}${"r".repeat(MAX_ITEM_REASON_CHARS - head.length)}… (${head.length + 10_001} characters)`);
  // A pair straddling the cut goes whole to the part left out.
  const emoji = { status: 400, error: { type: "x", reason: `${"a".repeat(MAX_ITEM_REASON_CHARS - 4)}\u{1F600}${"b".repeat(50)}` } };
  const cut = bulkItemReason(emoji);
  assert.equal(cut, `x: ${"a".repeat(MAX_ITEM_REASON_CHARS - 4)}… (${MAX_ITEM_REASON_CHARS + 51} characters)`);
  assert.ok(!cut.includes("\ud83d"), "no lone surrogate");
});
