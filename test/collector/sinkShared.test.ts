// Concurrent writes sharing `_bulk` requests (collector/src/sink/bulkCoalescer.ts), on the real Elasticsearch, with
// both sinks that share the bulk code (the OpenSearch sink speaks plain `_bulk`, which Elasticsearch answers too).
// A loopback proxy counts the requests and injects 503/429 phases. Each write must still get exactly its own
// documents' outcomes: counts, dead letters with its position, retries, onWaiting, failure.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { ElasticsearchSink } from "../../collector/src/sink/elasticsearch";
import { OpenSearchSink } from "../../collector/src/sink/opensearch";
import { identifiedDocument } from "../../collector/src/ecs";
import type { IdentifiedDocument, SinkResult, SourcePosition } from "../../collector/src/model";
import { runCollector } from "../../collector/src/service/collector";
import { azuriteCollectorConfig } from "../support/collectorConfig";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { esClient, esClientOptions, uniqueNamespace } from "../support/esClient";
import { startFaultyProxy, type Fault, type FaultyProxy } from "../support/faultyProxy";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { sampleBatch } from "../elasticsearch/sampleDocuments";
import { parseFlowLogText } from "../../collector/src/format";
import { StoppedWriteError } from "../../collector/src/sink/stoppedWrite";
import { until } from "./storageStall";

const scratch = scratchContainers(azuriteConnectionString());
const KINDS = ["elasticsearch", "opensearch"] as const;
type Kind = (typeof KINDS)[number];

const at = (blob: string): SourcePosition => ({ container: "insights-logs-flowlogflowevent", blob, offset: 4096 });

function bulkRequests(proxy: FaultyProxy): number {
  return proxy.seen.filter((seen) => seen.path.includes("_bulk")).length;
}

async function count(client: Client, index: string): Promise<number> {
  await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  return (await client.count({ index, ignore_unavailable: true, allow_no_indices: true })).count;
}

async function setUp(kind: Kind, label: string, faults: () => Fault, options: Record<string, unknown>) {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace(label);
  await applyIndexAssets(client, { namespace });
  const proxy = await startFaultyProxy(elasticsearchUrl(), faults);
  const sinkOptions = { ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace, ...options };
  const sink = kind === "elasticsearch" ? new ElasticsearchSink(sinkOptions) : new OpenSearchSink(sinkOptions);
  const stop = async (): Promise<void> => {
    await sink.close();
    await proxy.stop();
    await client.close();
  };
  return { client, proxy, sink, namespace, stop };
}

const clean = (indexed: number, extra: Partial<SinkResult> = {}): SinkResult => ({ indexed, duplicates: 0, deadLettered: 0, retries: 0, ...extra });

/** Writes without sharing, straight to the engine (what is already there before a test's writes). */
async function seed(namespace: string, documents: IdentifiedDocument[]): Promise<void> {
  const sink = new ElasticsearchSink({ ...esClientOptions(elasticsearchUrl()), namespace });
  try {
    assert.equal((await sink.write(documents)).indexed, documents.length);
  } finally {
    await sink.close();
  }
}

for (const kind of KINDS) {
  test(`${kind} sink: four concurrent writes share one bulk request, and each result counts its own documents`, async () => {
    // A linger far longer than the test: the request goes because all four writers joined, not because time passed.
    const { client, proxy, sink, namespace, stop } = await setUp(kind, "shared", () => "forward", { lingerMs: 60_000, writers: 4 });
    try {
      const batches = [sampleBatch(10, "a"), sampleBatch(20, "b"), sampleBatch(30, "c"), sampleBatch(40, "d")];
      await seed(namespace, batches[1]!.slice(0, 3));
      const results = await Promise.all(batches.map((batch, k) => sink.write(batch, at(`blob-${k}`))));
      assert.deepEqual(results, [clean(10), clean(17, { duplicates: 3 }), clean(30), clean(40)]);
      assert.equal(bulkRequests(proxy), 1, "one request for the four writes");
      assert.equal(await count(client, sink.dataStream), 100);
    } finally {
      await stop();
    }
  });

  test(`${kind} sink: a shared request stays within maxBatchDocuments, and a linger sends what joined in time`, async () => {
    const { client, proxy, sink, stop } = await setUp(kind, "bounded", () => "forward", { lingerMs: 60_000, writers: 4, maxBatchDocuments: 15 });
    try {
      // 7 + 7 fit in 15, a third 7 does not: two requests of two writes each.
      const batches = [1, 2, 3, 4].map((k) => sampleBatch(7, `bounded${k}`));
      const results = await Promise.all(batches.map((batch) => sink.write(batch)));
      assert.deepEqual(results, batches.map(() => clean(7)));
      assert.equal(bulkRequests(proxy), 2);
      assert.equal(await count(client, sink.dataStream), 28);
    } finally {
      await stop();
    }
    const lingering = await setUp(kind, "linger", () => "forward", { lingerMs: 200, writers: 4 });
    try {
      // Two writers of four: nobody else joins, the linger sends them together.
      const started = Date.now();
      const results = await Promise.all([sampleBatch(5, "l1"), sampleBatch(6, "l2")].map((batch) => lingering.sink.write(batch)));
      assert.deepEqual(results, [clean(5), clean(6)]);
      assert.equal(bulkRequests(lingering.proxy), 1);
      assert.ok(Date.now() - started >= 190, "sent when the linger ran out");
    } finally {
      await lingering.stop();
    }
  });

  test(`${kind} sink: one write's refused document is dead-lettered as its own, with its position; the other write's all land`, async () => {
    const { client, proxy, sink, stop } = await setUp(kind, "ownrefusal", () => "forward", { lingerMs: 60_000, writers: 2 });
    try {
      const good = sampleBatch(5, "good");
      const other = sampleBatch(4, "other");
      const bad = identifiedDocument("bad-shared-port", { ...other[0]!.doc, source: { ...other[0]!.doc.source, port: "not-a-port" as unknown as number } });
      const [first, second] = await Promise.all([sink.write(good, at("good-blob")), sink.write([...other.slice(0, 2), bad, ...other.slice(2)], at("bad-blob"))]);
      assert.deepEqual(first, clean(5));
      assert.deepEqual(second, clean(4, { deadLettered: 1 }));
      assert.equal(bulkRequests(proxy), 2, "one shared request, then the dead letter");
      assert.equal(await count(client, sink.dataStream), 9);
      assert.equal(await count(client, sink.deadLetterDataStream), 1);
      const letters = await client.search<any>({ index: sink.deadLetterDataStream });
      assert.equal(letters.hits.hits.length, 1);
      const letter = letters.hits.hits[0]!._source!;
      assert.equal(letter.deadletter.document_id, "bad-shared-port");
      assert.deepEqual({ container: letter.deadletter.container, blob: letter.deadletter.blob, offset: letter.deadletter.offset }, at("bad-blob"));
      assert.match(letter.error.message, /^400 document_parsing_exception: .*\[source\.port\]/);
    } finally {
      await stop();
    }
  });

  test(`${kind} sink: a 503 then a 429 on a shared request: each write's onWaiting before each wait, every document indexed once`, async () => {
    const faults: Fault[] = [{ status: 503 }, { status: 429 }];
    const steps: string[] = [];
    const { client, proxy, sink, stop } = await setUp(kind, "sharedwait", () => faults.shift() ?? "forward", {
      lingerMs: 60_000, writers: 3, maxRetries: 5, sleep: async () => { steps.push("sleep"); },
    });
    try {
      const batches = [sampleBatch(3, "w1"), sampleBatch(4, "w2"), sampleBatch(5, "w3")];
      const results = await Promise.all(batches.map((batch, k) => sink.write(batch, undefined, { onWaiting: () => { steps.push(`onWaiting ${k}`); } })));
      assert.deepEqual(results, [clean(3, { retries: 2 }), clean(4, { retries: 2 }), clean(5, { retries: 2 })]);
      const waited = ["onWaiting 0", "onWaiting 1", "onWaiting 2", "sleep"];
      assert.deepEqual(steps, [...waited, ...waited]);
      assert.deepEqual(proxy.seen.map((seen) => seen.fault), [{ status: 503 }, { status: 429 }, "forward"], "the three writes went as one request, three times");
      assert.equal(await count(client, sink.dataStream), 12);
    } finally {
      await stop();
    }
  });

  test(`${kind} sink: a write whose onWaiting fails is failed alone; the retry carries only the other write's documents`, async () => {
    const faults: Fault[] = [{ status: 503 }];
    const { client, proxy, sink, stop } = await setUp(kind, "waitfails", () => faults.shift() ?? "forward", {
      lingerMs: 60_000, writers: 2, maxRetries: 3, sleep: async () => {},
    });
    try {
      const [failing, other] = await Promise.allSettled([
        sink.write(sampleBatch(3, "f1"), undefined, { onWaiting: () => { throw new Error("checkpoint store unreachable"); } }),
        sink.write(sampleBatch(4, "f2"), undefined, { onWaiting: () => {} }),
      ]);
      assert.equal(failing.status, "rejected");
      assert.match(String((failing as PromiseRejectedResult).reason), /checkpoint store unreachable/);
      assert.deepEqual(other, { status: "fulfilled", value: clean(4, { retries: 1 }) });
      assert.equal(bulkRequests(proxy), 2);
      assert.equal(await count(client, sink.dataStream), 4, "the failed write's documents were not sent again");
    } finally {
      await stop();
    }
  });

  test(`${kind} sink: a write stopped while its shared request waits to be retried fails alone at once; the retry carries only the other write's documents`, async () => {
    const faults: Fault[] = [{ status: 429 }];
    let waiting!: () => void;
    const waited = new Promise<void>((resolve) => { waiting = resolve; });
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    const { client, proxy, sink, stop } = await setUp(kind, "stopwait", () => faults.shift() ?? "forward", {
      lingerMs: 60_000, writers: 2, maxRetries: 3, sleep: () => { waiting(); return released; },
    });
    try {
      const stopping = new AbortController();
      const stopped = sink.write(sampleBatch(3, "s1"), undefined, { signal: stopping.signal });
      const other = sink.write(sampleBatch(4, "s2"));
      await waited;
      stopping.abort();
      await assert.rejects(stopped, StoppedWriteError, "the stopped write ends during the wait");
      release();
      assert.deepEqual(await other, clean(4, { retries: 1 }));
      assert.equal(bulkRequests(proxy), 2);
      assert.equal(await count(client, sink.dataStream), 4, "the stopped write's documents were not sent again");
    } finally {
      release();
      await stop();
    }
  });

  test(`${kind} sink: a write stopped with its request in flight ends at once, and the request is closed`, async () => {
    const { proxy, sink, stop } = await setUp(kind, "stophang", () => "stallHead", { lingerMs: 60_000, writers: 1, maxRetries: 3 });
    try {
      const stopping = new AbortController();
      const stopped = sink.write(sampleBatch(3, "h1"), undefined, { signal: stopping.signal });
      await until("the bulk request to reach the proxy", () => bulkRequests(proxy) === 1);
      stopping.abort();
      await assert.rejects(stopped, StoppedWriteError);
      await until("the stalled request to be closed", () => proxy.seen[0]!.closedAfterMs !== undefined, 2_000);
      assert.equal(bulkRequests(proxy), 1, "not sent again");
    } finally {
      await stop();
    }
  });

  test(`${kind} sink: when retries run out on a shared request, each write fails with its own count and nothing is claimed`, async () => {
    const { client, sink, stop } = await setUp(kind, "sharedgaveup", () => ({ status: 503 }), {
      lingerMs: 60_000, writers: 2, maxRetries: 2, sleep: async () => {},
    });
    try {
      const outcomes = await Promise.allSettled([sink.write(sampleBatch(3, "x1")), sink.write(sampleBatch(6, "x2"))]);
      assert.deepEqual(outcomes.map((o) => o.status), ["rejected", "rejected"]);
      assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /gave up writing 3 document\(s\) to logs-azure\.flowlogs-sharedgaveup\w* after 2 retries: last error HTTP 503/);
      assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /gave up writing 6 document\(s\) to .* after 2 retries/);
      assert.equal(await count(client, sink.dataStream), 0);
    } finally {
      await stop();
    }
  });
}

test("elasticsearch sink: a shared request in flight is not aborted while one of its writes still waits for it", async () => {
  let arrived!: () => void;
  const inFlight = new Promise<void>((resolve) => { arrived = resolve; });
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => { answer = resolve; });
  const { client, proxy, sink, stop } = await setUp("elasticsearch", "stopflight", () => { arrived(); return { forwardAfter: answered }; }, {
    lingerMs: 60_000, writers: 2, maxRetries: 3,
  });
  try {
    const stopping = new AbortController();
    const stopped = sink.write(sampleBatch(3, "t1"), undefined, { signal: stopping.signal });
    const other = sink.write(sampleBatch(4, "t2"));
    await inFlight;
    stopping.abort();
    await assert.rejects(stopped, StoppedWriteError);
    answer();
    assert.deepEqual(await other, clean(4), "the one request answered the other write: no retry");
    assert.equal(bulkRequests(proxy), 1);
    // The stopped write's documents were in the request the cluster applied: a re-read finds them duplicates.
    assert.equal(await count(client, sink.dataStream), 7);
  } finally {
    answer();
    await stop();
  }
});

/**
 * A fresh namespace, a proxy in front of Elasticsearch deciding each request, a source container, and the service's
 * settings (Elasticsearch through the proxy, four jobs at a time, plus `settings`).
 */
async function serviceThroughProxy(label: string, decide: Parameters<typeof startFaultyProxy>[1], settings: Record<string, string> = {}) {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace(`svc${label}`);
  await applyIndexAssets(client, { namespace });
  const proxy = await startFaultyProxy(elasticsearchUrl(), decide);
  const source = scratch.container(`${label}-src`);
  await source.create();
  const checkpoints = scratch.container(`${label}-cp`);
  const config = azuriteCollectorConfig(source.containerName, checkpoints.containerName, {
    FLOWLOGS_SINK: "elasticsearch", FLOWLOGS_ES_URL: proxy.url, FLOWLOGS_ES_NAMESPACE: namespace, FLOWLOGS_CONCURRENCY: "4", ...settings,
  });
  return { client, namespace, proxy, source, config };
}

test("the service tailing several blobs at once sends their documents in shared bulk requests, with exact counts", async () => {
  const { client, namespace, proxy, source, config } = await serviceThroughProxy("shared", () => "forward", {
    // Long enough that on a loaded machine the jobs of a round still meet; each request goes when four have joined.
    FLOWLOGS_ES_BULK_LINGER_MS: "1000",
  });
  const writers = Array.from({ length: 8 }, (_, nic) => new FlowLogBlobWriter(source, {
    kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 40 + nic, mac: `000D3AF88${String(200 + nic)}`,
  }));
  try {
    for (const writer of writers) await writer.appendMinute({ records: 2, tuplesPerRecord: 55 });
    const tuples = writers.reduce((n, w) => n + w.tuples, 0);
    const { metrics } = await runCollector({ config, once: true, writeLog: () => {} });
    assert.equal(metrics.indexed, tuples);
    assert.equal(metrics.duplicates, 0);
    assert.equal(metrics.blobsRead, 8);
    const requests = bulkRequests(proxy);
    assert.ok(requests <= 4, `8 jobs' documents went in ${requests} bulk requests, expected at most 4`);
    assert.equal(await count(client, `logs-azure.flowlogs-${namespace}`), tuples);
  } finally {
    await proxy.stop();
    await client.close();
  }
});

test("bodies written into reused memory, under retried and shared requests: every document stored is exactly the one parsed from its blob", async () => {
  let bulks = 0;
  // Every third bulk request refused whole (503): the same body is sent again, later, while others are written.
  const { client, namespace, proxy, source, config } = await serviceThroughProxy("reuse",
    ({ path }) => (path.includes("_bulk") && bulks++ % 3 === 1 ? { status: 503 } : "forward"));
  // Twelve blobs for four jobs at a time: later jobs write into the memory of requests sent before them.
  const writers = Array.from({ length: 12 }, (_, nic) => new FlowLogBlobWriter(source, {
    kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 140 + nic, mac: `000D3AF99${String(200 + nic)}`,
  }));
  try {
    for (const writer of writers) await writer.appendMinute({ records: 3, tuplesPerRecord: 250 });
    const expected = new Map<string, unknown>();
    for (const writer of writers) {
      const { documents } = parseFlowLogText((await writer.blob.downloadToBuffer()).toString("utf8"));
      for (const document of documents) expected.set(document.id, JSON.parse(document.source));
    }
    const { metrics } = await runCollector({ config, once: true, writeLog: () => {}, enrichment: null });
    assert.equal(metrics.indexed, expected.size);
    assert.equal(metrics.deadLettered, 0);
    assert.ok(metrics.retries > 0, "requests were sent again");
    await client.indices.refresh({ index: `logs-azure.flowlogs-${namespace}` });
    const stored = await client.search<Record<string, unknown>>({ index: `logs-azure.flowlogs-${namespace}`, size: 10_000, query: { match_all: {} } });
    assert.equal(stored.hits.hits.length, expected.size);
    for (const hit of stored.hits.hits) assert.deepStrictEqual(hit._source, expected.get(hit._id!), `document ${hit._id}`);
  } finally {
    await proxy.stop();
    await client.close();
  }
});
