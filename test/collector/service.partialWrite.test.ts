// A write that fails part-way: the sink had the first of its bulk requests created, then gave up on the next. The
// documents it had created are in the cluster, so they count as indexed when the write fails; the job gives its try
// back, the range is read again, and they come back as 409s (duplicates). Without that, flowlogs_documents_indexed_total
// stays short of what the cluster holds by every document of a failed write's earlier requests. Real Azurite, real
// Elasticsearch behind a proxy that answers 503 on cue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCollector } from "../../collector/src/service/collector";
import type { LogEvent } from "../../collector/src/service/logger";
import { ElasticsearchSink } from "../../collector/src/sink/elasticsearch";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { esClientOptions } from "../support/esClient";
import { startFaultyProxy } from "../support/faultyProxy";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { createWorld, waitFor } from "../e2e/e2eSupport";
import { until } from "./storageStall";

const REQUEST_DOCUMENTS = 20;

test("a write whose second bulk request fails after the first was created counts the first as indexed, then as duplicates when read again: indexed equals what the cluster holds", async () => {
  assert.ok(azuriteConnectionString(), "the runner started Azurite");
  const world = await createWorld("partial");
  let bulks = 0;
  // The first bulk request is created; the second fails both its tries (maxRetries 1), which fails the write; then
  // the cluster answers again.
  const proxy = await startFaultyProxy(elasticsearchUrl(), ({ path }) => {
    if (!path.includes("_bulk")) return "forward";
    bulks++;
    return bulks === 2 || bulks === 3 ? { status: 503 } : "forward";
  });
  const sink = new ElasticsearchSink({
    ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace: world.namespace,
    maxBatchDocuments: REQUEST_DOCUMENTS, maxRetries: 1, sleep: async () => undefined,
  });
  const writer = new FlowLogBlobWriter(world.vnet, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 61 });
  await writer.appendMinute({ records: 3, tuplesPerRecord: 20 }); // 60 documents: three requests in one write
  const events: LogEvent[] = [];
  const controller = new AbortController();
  const service = runCollector({ config: world.config(), sink, signal: controller.signal, writeLog: () => {}, onEvent: (e) => events.push(e) });
  try {
    await waitFor("every document in the cluster", async () => (await world.count()) === writer.tuples, 60_000, 250);
    // The poll that wrote the last of them has ended, so its counts are in.
    const polls = events.filter((e) => e.event === "poll.end").length;
    await until("the poll after it ended", () => events.filter((e) => e.event === "poll.end").length > polls);
  } finally {
    controller.abort();
  }
  const { metrics } = await service;
  await sink.close();
  await proxy.stop();
  await world.cleanup();
  assert.equal(bulks >= 4, true, `the write failed once and was written again (${bulks} bulk requests)`);
  assert.equal(events.filter((e) => e.event === "blob.failed").length, 1, "the failed write failed its job once");
  assert.equal(metrics.indexed, writer.tuples, "indexed: every document the cluster holds, the failed write's first request's too");
  assert.equal(metrics.duplicates, REQUEST_DOCUMENTS, "its first request's documents came back as duplicates");
  assert.equal(metrics.deadLettered, 0);
});
