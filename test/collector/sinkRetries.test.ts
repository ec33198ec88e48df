// Retries of the Elasticsearch sink: a proxy in front of the real engine answers 429/503, drops connections or cuts answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ElasticsearchSink } from "../../collector/src/sink/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { elasticsearchUrl } from "../support/env";
import { esClient, esClientOptions, uniqueNamespace } from "../support/esClient";
import { firstItemNull, startFaultyProxy, type Fault, type FaultyProxy } from "../support/faultyProxy";
import { sampleBatch } from "../elasticsearch/sampleDocuments";
import { StoppedWriteError } from "../../collector/src/sink/stoppedWrite";
import { until } from "./storageStall";

const noWait = async (): Promise<void> => {};

test("429, 503, a dropped connection and a 408 are retried and the batch lands exactly once", async () => {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace("retry");
  await applyIndexAssets(client, { namespace });
  const faults: Fault[] = [{ status: 429 }, { status: 503 }, "drop", { status: 408 }];
  const proxy = await startFaultyProxy(elasticsearchUrl(), () => faults.shift() ?? "forward");
  const waits: number[] = [];
  const sink = new ElasticsearchSink({
    ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace, maxRetries: 5, initialBackoffMs: 100,
    random: () => 0.5, sleep: async (ms) => { waits.push(ms); },
  });
  try {
    const batch = sampleBatch(12, "retried");
    const result = await sink.write(batch);
    assert.deepEqual(result, { indexed: 12, duplicates: 0, deadLettered: 0, retries: 4 });
    assert.deepEqual(proxy.seen.map((request) => request.fault), [{ status: 429 }, { status: 503 }, "drop", { status: 408 }, "forward"]);
    // Exponential backoff (100, 200, 400, 800 ms caps) with equal jitter: half the cap plus random * half.
    assert.deepEqual(waits, [75, 150, 300, 600]);
    await client.indices.refresh({ index: sink.dataStream });
    assert.equal((await client.count({ index: sink.dataStream })).count, 12);
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
});

test("the write's onWaiting is awaited before each wait on a transient failure, and not called without one", async () => {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace("waiting");
  await applyIndexAssets(client, { namespace });
  const faults: Fault[] = [{ status: 503 }, "drop"];
  const proxy = await startFaultyProxy(elasticsearchUrl(), () => faults.shift() ?? "forward");
  const steps: string[] = [];
  const sink = new ElasticsearchSink({
    ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace, maxRetries: 5, sleep: async () => { steps.push("sleep"); },
  });
  const onWaiting = async (): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    steps.push("onWaiting");
  };
  try {
    assert.equal((await sink.write(sampleBatch(4, "waited"), undefined, { onWaiting })).indexed, 4);
    assert.deepEqual(steps, ["onWaiting", "sleep", "onWaiting", "sleep"]);
    steps.length = 0;
    assert.equal((await sink.write(sampleBatch(4, "unwaited"), undefined, { onWaiting })).indexed, 4);
    assert.deepEqual(steps, [], "a healthy cluster: no call");
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
});

test("when retries run out, write rejects and nothing is claimed as written", async () => {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace("exhaust");
  await applyIndexAssets(client, { namespace });
  const proxy = await startFaultyProxy(elasticsearchUrl(), () => ({ status: 503 }));
  const sink = new ElasticsearchSink({ ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace, maxRetries: 3, sleep: noWait });
  try {
    await assert.rejects(sink.write(sampleBatch(3, "lost")),
      /gave up writing 3 document\(s\) to logs-azure\.flowlogs-exhaust\w+ after 3 retries: last error HTTP 503/);
    assert.equal(proxy.seen.length, 4);
    const exists = await client.indices.resolveIndex({ name: `logs-azure.flowlogs-${namespace}`, expand_wildcards: "all" }).catch(() => ({ data_streams: [] }));
    assert.deepEqual(exists.data_streams, []);
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
});

test("an authentication failure is not retried and its error carries no secret", async () => {
  const proxy = await startFaultyProxy(elasticsearchUrl(), () => ({ status: 401 }));
  const apiKey = Buffer.from("key-id:very-secret-api-key").toString("base64");
  const sink = new ElasticsearchSink({ node: proxy.url, auth: { apiKey }, namespace: "authfail", sleep: noWait });
  try {
    await assert.rejects(sink.write(sampleBatch(1, "denied")), (error: Error) => {
      assert.match(error.message, /HTTP 401.*check the API key/);
      assert.ok(!error.message.includes(apiKey) && !error.message.includes("very-secret"), "no secret in the error");
      return true;
    });
    assert.equal(proxy.seen.length, 1);
  } finally {
    await sink.close();
    await proxy.stop();
  }
});

test("dedupeAcrossBackingIndices: an answer lost after the cluster applied it, a rollover, then the resend adds nothing", async () => {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace("lostroll");
  await applyIndexAssets(client, { namespace });
  let bulks = 0;
  // The second bulk (the batch's) reaches the cluster, but its answer is cut off.
  const proxy = await startFaultyProxy(elasticsearchUrl(), ({ path }) => (path.startsWith("/_bulk") && bulks++ === 1 ? "cutBody" : "forward"));
  const sink: ElasticsearchSink = new ElasticsearchSink({
    ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace, dedupeAcrossBackingIndices: true, maxRetries: 3,
    // While the sink waits to retry the data stream rolls over, and the wait outlasts the refresh interval.
    sleep: async () => {
      await client.indices.rollover({ alias: sink.dataStream });
      await client.indices.refresh({ index: sink.dataStream });
    },
  });
  try {
    assert.deepEqual(await sink.write(sampleBatch(1, "seed")), { indexed: 1, duplicates: 0, deadLettered: 0, retries: 0 });
    assert.deepEqual(await sink.write(sampleBatch(5, "lost")), { indexed: 0, duplicates: 5, deadLettered: 0, retries: 1 });
    assert.deepEqual(proxy.seen.map((request) => `${request.path.split("?")[0]} ${JSON.stringify(request.fault)}`), [
      '/logs-azure.flowlogs-' + namespace + '/_search "forward"', '/_bulk "forward"',
      '/logs-azure.flowlogs-' + namespace + '/_search "forward"', '/_bulk "cutBody"',
      '/logs-azure.flowlogs-' + namespace + '/_search "forward"',
    ], "looked up again before the resend, which then had nothing left to send");
    await client.indices.refresh({ index: sink.dataStream });
    assert.equal((await client.count({ index: sink.dataStream })).count, 6);
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
});

for (const fault of ["stallHead", { status: 503 }] as const) {
  test(`dedupeAcrossBackingIndices: a write stopped while its id look-up ${fault === "stallHead" ? "hangs" : "waits out a 503"} ends at once, with no request left open`, async () => {
    const client = esClient(elasticsearchUrl());
    const namespace = uniqueNamespace("stoplookup");
    await applyIndexAssets(client, { namespace });
    const proxy = await startFaultyProxy(elasticsearchUrl(), ({ path }): Fault => (path.includes("/_search") ? fault : "forward"));
    // Real waits between retries, far longer than the test allows the stop.
    const sink = new ElasticsearchSink({
      ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace, dedupeAcrossBackingIndices: true, maxRetries: 3, initialBackoffMs: 10_000,
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const stopping = new AbortController();
      const write = sink.write(sampleBatch(2, "stoplookup"), undefined, { signal: stopping.signal });
      while (!proxy.seen.some((request) => request.path.includes("/_search") && (fault === "stallHead" || request.closedAfterMs !== undefined))) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      stopping.abort();
      const late = new Promise<"late">((resolve) => { timer = setTimeout(() => resolve("late"), 1_000); });
      const outcome = await Promise.race([write.then(() => "written", (error: unknown) => error), late]);
      assert.ok(outcome instanceof StoppedWriteError, `the write ended stopped, not ${String(outcome)}`);
      await until("no request left open", () => proxy.seen.every((request) => request.closedAfterMs !== undefined), 2_000);
      assert.equal(proxy.seen.filter((request) => request.path.startsWith("/_bulk")).length, 0, "nothing sent");
    } finally {
      clearTimeout(timer);
      await sink.close();
      await proxy.stop();
      await client.close();
    }
  });
}

/**
 * A data stream of its own, a proxy in front of the engine that `decide`s each request, and an Elasticsearch sink
 * through it (no waits between retries); all stopped after `body`.
 */
async function throughProxy(
  name: string, decide: Parameters<typeof startFaultyProxy>[1], options: Partial<ConstructorParameters<typeof ElasticsearchSink>[0]>,
  body: (world: { client: ReturnType<typeof esClient>; sink: ElasticsearchSink; proxy: FaultyProxy; stored: () => Promise<number> }) => Promise<void>,
): Promise<void> {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace(name);
  await applyIndexAssets(client, { namespace });
  const proxy = await startFaultyProxy(elasticsearchUrl(), decide);
  const sink = new ElasticsearchSink({ ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace, maxRetries: 3, sleep: noWait, ...options });
  const stored = async (): Promise<number> => {
    await client.indices.refresh({ index: sink.dataStream });
    return (await client.count({ index: sink.dataStream })).count;
  };
  try {
    await body({ client, sink, proxy, stored });
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
}

test("an answer trickled a byte at a time is given up at requestTimeoutMs and sent again: the batch lands once", async () => {
  let bulks = 0;
  // The cluster applies the first request; its answer then comes a byte every 200 ms (minutes for the whole of it),
  // each gap well inside the client's own timeout, which only bounds the wait for the next bytes.
  // The deadline is 3 s, not the 1 s minimum, so a loaded machine's first bulk (it creates the data stream) or the
  // resend is not given up too: exactly one retry.
  const trickleFirst = ({ path }: { path: string }): Fault => (path.startsWith("/_bulk") && bulks++ === 0 ? { trickleEveryMs: 200 } : "forward");
  await throughProxy("trickle", trickleFirst, { requestTimeoutMs: 3_000 }, async ({ sink, stored }) => {
    const started = Date.now();
    const result = await sink.write(sampleBatch(3, "trickle"));
    assert.ok(Date.now() - started < 10_000, `gave up on the trickle at its deadline (${Date.now() - started} ms)`);
    assert.deepEqual(result, { indexed: 0, duplicates: 3, deadLettered: 0, retries: 1 }, "the first request was applied; the resend finds every document there");
    assert.equal(await stored(), 3);
  });
});

test("dedupeAcrossBackingIndices: an id look-up answered by only some shards is not trusted: asked again, nothing created twice", async () => {
  let searches = 0;
  // As Elasticsearch answers when a shard of an older backing index is unavailable and partial results are allowed
  // (its default): 200, _shards.failed 1, the hits of the shards that answered (here none of the ids).
  const partial = (body: string): string => {
    const answer = JSON.parse(body) as { _shards: { total: number; successful: number; failed: number }; hits: { hits: unknown[] } };
    return JSON.stringify({ ...answer, _shards: { ...answer._shards, successful: answer._shards.total - 1, failed: 1 }, hits: { ...answer.hits, hits: [] } });
  };
  const partialSecond = ({ path }: { path: string }): Fault => (path.includes("/_search") && searches++ === 1 ? { rewriteBody: partial } : "forward");
  await throughProxy("partial", partialSecond, { dedupeAcrossBackingIndices: true }, async ({ client, sink, proxy, stored }) => {
    assert.deepEqual(await sink.write(sampleBatch(4, "partial")), { indexed: 4, duplicates: 0, deadLettered: 0, retries: 0 });
    await client.indices.rollover({ alias: sink.dataStream });
    await client.indices.refresh({ index: sink.dataStream });
    assert.deepEqual(await sink.write(sampleBatch(4, "partial")), { indexed: 0, duplicates: 4, deadLettered: 0, retries: 1 });
    const searchesSeen = proxy.seen.filter((request) => request.path.includes("/_search"));
    assert.ok(searchesSeen.every((request) => request.path.includes("allow_partial_search_results=false")), "partial results are refused in the request too");
    assert.equal(await stored(), 4);
  });
});

test("a 200 whose body is null, then one with a null item, is sent again, not a failure: the batch lands once", async () => {
  // The cluster applies every request; a hop on the way back mangles the first two answers.
  const mangled: Fault[] = [{ rewriteBody: () => "null" }, { rewriteBody: firstItemNull }];
  const mangleFirstTwo = ({ path }: { path: string }): Fault => (path.startsWith("/_bulk") ? mangled.shift() ?? "forward" : "forward");
  await throughProxy("nullanswer", mangleFirstTwo, {}, async ({ sink, proxy, stored }) => {
    assert.deepEqual(await sink.write(sampleBatch(3, "nullanswer")), { indexed: 0, duplicates: 3, deadLettered: 0, retries: 2 });
    assert.equal(proxy.seen.length, 3);
    assert.equal(await stored(), 3);
  });
});
