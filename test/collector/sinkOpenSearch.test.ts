// The OpenSearch sink's `_bulk` wire protocol against the Elasticsearch engine the runner starts (shared with
// OpenSearch): retries, options, config. The same behaviour on a real OpenSearch, with the index assets planned for
// it, is proven in test/collector/sinkOpenSearchEngine.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OpenSearchSink } from "../../collector/src/sink/opensearch";
import { describeConfig, loadConfig } from "../../collector/src/service/config";
import { createSink } from "../../collector/src/service/sinks";
import { identifiedDocument } from "../../collector/src/ecs";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { firstItemNull, startBodyLimitProxy, startFaultyProxy, type Fault } from "../support/faultyProxy";
import { sampleBatch } from "../elasticsearch/sampleDocuments";

const position = { container: "insights-logs-flowlogflowevent", blob: "y=2026/m=11/d=27/h=04/m=00/PT1H.json", offset: 512 };

/** Credentials of an external test cluster (ES_USERNAME/ES_PASSWORD), as the sink's own auth option. */
function auth(): { username: string; password: string } | undefined {
  const { ES_USERNAME: username, ES_PASSWORD: password } = process.env;
  return username && password ? { username, password } : undefined;
}

async function setUp(label: string) {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace(label);
  await applyIndexAssets(client, { namespace });
  return { client, namespace };
}

test("documents land under their own ids; the same batch again is all duplicates", async () => {
  const { client, namespace } = await setUp("osids");
  const sink = new OpenSearchSink({ node: elasticsearchUrl(), auth: auth(), namespace, maxBatchDocuments: 10 });
  try {
    const batch = sampleBatch(25, "os");
    assert.deepEqual(await sink.write(batch, position), { indexed: 25, duplicates: 0, deadLettered: 0, retries: 0 });
    await client.indices.refresh({ index: sink.dataStream });
    const found = await client.search({ index: sink.dataStream, size: 100, _source: false });
    assert.deepEqual(found.hits.hits.map((hit) => hit._id).sort(), batch.map((item) => item.id).sort());
    assert.ok(found.hits.hits.every((hit) => hit._index.startsWith(".ds-")), "written to the data stream's backing index");
    assert.deepEqual(await sink.write(batch, position), { indexed: 0, duplicates: 25, deadLettered: 0, retries: 0 });
    await client.indices.refresh({ index: sink.dataStream });
    assert.equal((await client.count({ index: sink.dataStream })).count, 25);
  } finally {
    await sink.close();
    await client.close();
  }
});

test("a mapping error goes to the dead letter with its reason while the rest lands; parse rejects too", async () => {
  const { client, namespace } = await setUp("osrefused");
  const sink = new OpenSearchSink({ node: elasticsearchUrl(), auth: auth(), namespace });
  try {
    const batch = sampleBatch(4, "osok");
    const bad = identifiedDocument("os-bad-port", { ...batch[0]!.doc, source: { ...batch[0]!.doc.source, port: "not-a-port" as unknown as number } });
    assert.deepEqual(await sink.write([bad, ...batch], position), { indexed: 4, duplicates: 0, deadLettered: 1, retries: 0 });
    await sink.deadLetter([{ reason: "tuple has 9 fields, expected 8 or 13", raw: "1700000000,10.0.0.1", position }]);
    await client.indices.refresh({ index: [sink.dataStream, sink.deadLetterDataStream] });
    assert.equal((await client.count({ index: sink.dataStream })).count, 4);
    const letters = await client.search<any>({ index: sink.deadLetterDataStream, sort: [{ "error.message.keyword": "asc" }] });
    assert.equal(letters.hits.hits.length, 2);
    const [refused, reject] = letters.hits.hits.map((hit) => hit._source);
    assert.match(refused.error.message, /^400 document_parsing_exception: .*\[source\.port\]/);
    assert.equal(refused.deadletter.document_id, "os-bad-port");
    assert.deepEqual({ container: refused.deadletter.container, blob: refused.deadletter.blob, offset: refused.deadletter.offset }, position);
    assert.deepEqual(JSON.parse(refused.event.original), bad.doc);
    assert.equal(reject.error.message, "tuple has 9 fields, expected 8 or 13");
    // Content-derived dead-letter ids: the same refusal again is still one dead letter.
    await sink.write([bad], position);
    await client.indices.refresh({ index: sink.deadLetterDataStream });
    assert.equal((await client.count({ index: sink.deadLetterDataStream })).count, 2);
  } finally {
    await sink.close();
    await client.close();
  }
});

test("429, 503 and a dropped connection are retried with backoff and jitter; the batch lands exactly once", async () => {
  const { client, namespace } = await setUp("osretry");
  const faults: Fault[] = [{ status: 429 }, "drop", { status: 503 }];
  const proxy = await startFaultyProxy(elasticsearchUrl(), () => faults.shift() ?? "forward");
  const waits: number[] = [];
  const sink = new OpenSearchSink({
    node: proxy.url, auth: auth(), namespace, maxRetries: 4, initialBackoffMs: 100,
    random: () => 0.5, sleep: async (ms) => { waits.push(ms); },
  });
  try {
    assert.deepEqual(await sink.write(sampleBatch(9, "osretried")), { indexed: 9, duplicates: 0, deadLettered: 0, retries: 3 });
    assert.deepEqual(proxy.seen.map((request) => request.fault), [{ status: 429 }, "drop", { status: 503 }, "forward"]);
    assert.deepEqual(waits, [75, 150, 300]);
    await client.indices.refresh({ index: sink.dataStream });
    assert.equal((await client.count({ index: sink.dataStream })).count, 9);
  } finally {
    await proxy.stop();
    await client.close();
  }
});

test("a 413 from a proxy splits the request: every document lands once, and later requests are cut to fit", async () => {
  const { client, namespace } = await setUp("os413");
  const batch = sampleBatch(30, "os413");
  const oneDocument = Buffer.byteLength(`${JSON.stringify({ create: { _index: "x", _id: "os413-10" } })}\n${JSON.stringify(batch[10]!.doc)}\n`);
  const limit = oneDocument * 8;
  const proxy = await startBodyLimitProxy(elasticsearchUrl(), limit);
  const sink = new OpenSearchSink({ node: proxy.url, auth: auth(), namespace });
  try {
    assert.deepEqual(await sink.write(batch.slice(0, 20)), { indexed: 20, duplicates: 0, deadLettered: 0, retries: 0 });
    const bulks = () => proxy.seen.filter((request) => request.path.startsWith("/_bulk"));
    assert.ok(bulks().some((request) => request.bytes! > limit), "the first request was over the limit");
    proxy.seen.length = 0;
    assert.equal((await sink.write(batch.slice(20))).indexed, 10);
    assert.ok(bulks().length >= 2 && bulks().every((request) => request.bytes! <= limit && request.status === 200), JSON.stringify(bulks()));
    await client.indices.refresh({ index: sink.dataStream });
    assert.equal((await client.count({ index: sink.dataStream })).count, 30);
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
});

test("a 200 whose body is not JSON, then null, then one with a null item, is sent again: the batch lands once", async () => {
  const { client, namespace } = await setUp("osmangled");
  // The cluster applies every request; a hop on the way back mangles the first three answers.
  const mangled: Fault[] = [
    { rewriteBody: (body) => body.slice(0, 10) }, { rewriteBody: () => "null" },
    { rewriteBody: firstItemNull },
  ];
  const proxy = await startFaultyProxy(elasticsearchUrl(), ({ path }) => (path.startsWith("/_bulk") ? mangled.shift() ?? "forward" : "forward"));
  const sink = new OpenSearchSink({ node: proxy.url, auth: auth(), namespace, maxRetries: 4, sleep: async () => {} });
  try {
    assert.deepEqual(await sink.write(sampleBatch(3, "osmangled")), { indexed: 0, duplicates: 3, deadLettered: 0, retries: 3 });
    assert.equal(proxy.seen.length, 4);
    await client.indices.refresh({ index: sink.dataStream });
    assert.equal((await client.count({ index: sink.dataStream })).count, 3);
  } finally {
    await proxy.stop();
    await client.close();
  }
});

test("when retries run out write rejects; an auth failure is not retried and its error carries no secret", async () => {
  const unavailable = await startFaultyProxy(elasticsearchUrl(), () => ({ status: 503 }));
  const denied = await startFaultyProxy(elasticsearchUrl(), () => ({ status: 401 }));
  try {
    const tired = new OpenSearchSink({ node: unavailable.url, namespace: "osexhaust", maxRetries: 2, sleep: async () => {} });
    await assert.rejects(tired.write(sampleBatch(3, "oslost")),
      /gave up writing 3 document\(s\) to logs-azure\.flowlogs-osexhaust after 2 retries: last error HTTP 503/);
    assert.equal(unavailable.seen.length, 3);
    const password = "very-secret-password";
    const refused = new OpenSearchSink({ node: denied.url, namespace: "osauth", auth: { username: "writer", password }, sleep: async () => {} });
    await assert.rejects(refused.write(sampleBatch(1, "osdenied")), (error: Error) => {
      assert.match(error.message, /HTTP 401.*check the user \/ API key/);
      assert.ok(!error.message.includes(password) && !error.message.includes(Buffer.from(`writer:${password}`).toString("base64")));
      return true;
    });
    assert.equal(denied.seen.length, 1);
    assert.equal(denied.seen[0]!.authorization, `Basic ${Buffer.from(`writer:${password}`).toString("base64")}`);
  } finally {
    await unavailable.stop();
    await denied.stop();
  }
});

test("without the index templates the sink stops with a clear error instead of writing on quietly", async () => {
  const namespace = uniqueNamespace("osnotemplate");
  const sink = new OpenSearchSink({ node: elasticsearchUrl(), auth: auth(), namespace });
  await assert.rejects(sink.write(sampleBatch(1, "osorphan")),
    /no index template with a data stream matches logs-azure\.flowlogs-osnotemplate\w+ \(the cluster wrote to a plain index .*apply the index assets first/);
});

test("options: credentials stay out of URLs, bad settings are named", () => {
  assert.throws(() => new OpenSearchSink({ node: "https://admin:s3cret@example.com:9200" }), (error: Error) =>
    /carries credentials/.test(error.message) && !error.message.includes("s3cret"));
  assert.throws(() => new OpenSearchSink({ node: "not a url" }), /invalid OpenSearch URL/);
  assert.throws(() => new OpenSearchSink({ node: "https://h:9200", tls: { caFile: "/nonexistent/ca.pem" } }), /cannot read the CA file \/nonexistent\/ca\.pem/);
  assert.throws(() => new OpenSearchSink({ node: "https://h:9200", namespace: "Bad-Name" }), /invalid data stream namespace/);
  assert.throws(() => new OpenSearchSink({ node: "https://h:9200", maxBatchDocuments: 0 }), /maxBatchDocuments must be a positive/);
});

test("FLOWLOGS_SINK=opensearch reuses the FLOWLOGS_ES_* settings, builds a sink that writes, and logs no secret", async () => {
  const base = { FLOWLOGS_STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net", FLOWLOGS_SINK: "opensearch" };
  assert.throws(() => loadConfig(base), /FLOWLOGS_ES_URL is required when FLOWLOGS_SINK=opensearch/);
  const os = { ...base, FLOWLOGS_ES_URL: "https://os:9200" };
  assert.throws(() => loadConfig({ ...os, FLOWLOGS_ES_CA_FINGERPRINT: "a".repeat(64) }), /FLOWLOGS_ES_CA_FINGERPRINT applies to FLOWLOGS_SINK=elasticsearch only/);
  assert.throws(() => loadConfig({ ...os, FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES: "true" }), /FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES applies to FLOWLOGS_SINK=elasticsearch only/);
  assert.throws(() => loadConfig({ ...os, FLOWLOGS_ES_USERNAME: "u" }), /FLOWLOGS_ES_USERNAME and FLOWLOGS_ES_PASSWORD go together/);
  assert.throws(() => loadConfig({ ...os, FLOWLOGS_ES_URL: "https://admin:pw@os:9200" }), /FLOWLOGS_ES_URL must not carry credentials/);
  const basic = loadConfig({ ...os, FLOWLOGS_ES_USERNAME: "writer", FLOWLOGS_ES_PASSWORD: "s3cret-pw", FLOWLOGS_ES_NAMESPACE: "prod" });
  assert.deepEqual(basic.sink, { kind: "opensearch", url: "https://os:9200", namespace: "prod", apiKey: undefined, basic: { username: "writer", password: "s3cret-pw" }, caFile: undefined, bulkLingerMs: 20 });
  const described = JSON.stringify(describeConfig(basic));
  assert.ok(!described.includes("s3cret-pw"), described);
  assert.match(described, /"kind":"opensearch".*"auth":"basic \(writer\)"/);

  const { client, namespace } = await setUp("osconfig");
  try {
    const config = loadConfig({ ...base, FLOWLOGS_ES_URL: elasticsearchUrl(), FLOWLOGS_ES_NAMESPACE: namespace, ...credentials() });
    const sink = createSink(config.sink, () => {});
    assert.ok(sink instanceof OpenSearchSink);
    assert.deepEqual(await sink.write(sampleBatch(3, "osconf")), { indexed: 3, duplicates: 0, deadLettered: 0, retries: 0 });
    await client.indices.refresh({ index: (sink as OpenSearchSink).dataStream });
    assert.equal((await client.count({ index: `logs-azure.flowlogs-${namespace}` })).count, 3);
  } finally {
    await client.close();
  }
});

function credentials(): Record<string, string> {
  const found = auth();
  return found ? { FLOWLOGS_ES_USERNAME: found.username, FLOWLOGS_ES_PASSWORD: found.password } : {};
}
