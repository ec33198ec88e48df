// The Elasticsearch sink against the real engine: ids, duplicates, dead letters, batch bounds, options.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ElasticsearchSink, clientOptions } from "../../collector/src/sink/elasticsearch";
import { allCreatedItems, BulkAnswerSerializer } from "../../collector/src/sink/bulkAnswer";
import { identifiedDocument } from "../../collector/src/ecs";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { elasticsearchUrl } from "../support/env";
import { esClient, esClientOptions, uniqueNamespace } from "../support/esClient";
import { startBodyLimitProxy, startFaultyProxy } from "../support/faultyProxy";
import { sampleBatch } from "../elasticsearch/sampleDocuments";

const position = { container: "insights-logs-flowlogflowevent", blob: "y=2026/m=11/d=27/h=03/m=00/PT1H.json", offset: 2048 };

async function setUp(label: string) {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace(label);
  await applyIndexAssets(client, { namespace });
  const sinkOptions = { ...esClientOptions(elasticsearchUrl()), namespace };
  return { client, namespace, sinkOptions };
}

test("written documents land under their own ids; writing the same batch again adds nothing", async () => {
  const { client, sinkOptions } = await setUp("ids");
  const sink = new ElasticsearchSink({ ...sinkOptions, maxBatchDocuments: 10 });
  try {
    const batch = sampleBatch(25, "flow");
    assert.deepEqual(await sink.write(batch, position), { indexed: 25, duplicates: 0, deadLettered: 0, retries: 0 });
    await client.indices.refresh({ index: sink.dataStream });
    const found = await client.search({ index: sink.dataStream, size: 100, _source: false });
    assert.deepEqual(found.hits.hits.map((hit) => hit._id).sort(), batch.map((item) => item.id).sort());

    assert.deepEqual(await sink.write(batch, position), { indexed: 0, duplicates: 25, deadLettered: 0, retries: 0 });
    await client.indices.refresh({ index: sink.dataStream });
    assert.equal((await client.count({ index: sink.dataStream })).count, 25);
  } finally {
    await sink.close();
    await client.close();
  }
});

test("a document the cluster refuses goes to the dead letter with its reason while the rest of the batch lands", async () => {
  const { client, sinkOptions } = await setUp("refused");
  const sink = new ElasticsearchSink(sinkOptions);
  try {
    const batch = sampleBatch(5, "ok");
    const bad = identifiedDocument("bad-port", { ...batch[0]!.doc, source: { ...batch[0]!.doc.source, port: "not-a-port" as unknown as number } });
    const result = await sink.write([...batch.slice(0, 2), bad, ...batch.slice(2)], position);
    assert.deepEqual(result, { indexed: 5, duplicates: 0, deadLettered: 1, retries: 0 });
    await client.indices.refresh({ index: [sink.dataStream, sink.deadLetterDataStream] });
    assert.equal((await client.count({ index: sink.dataStream })).count, 5);
    const letters = await client.search<any>({ index: sink.deadLetterDataStream });
    assert.equal(letters.hits.hits.length, 1);
    const letter = letters.hits.hits[0]!._source!;
    assert.match(letter.error.message, /^400 document_parsing_exception: .*\[source\.port\]/);
    assert.equal(letter.deadletter.document_id, "bad-port");
    assert.deepEqual({ container: letter.deadletter.container, blob: letter.deadletter.blob, offset: letter.deadletter.offset }, position);
    assert.deepEqual(JSON.parse(letter.event.original), bad.doc);
    // The raw text is kept but not searchable (index: false), so it cannot blow up the mapping or the terms dictionary.
    const mapping = await client.indices.getMapping({ index: sink.deadLetterDataStream });
    const original = (Object.values(mapping)[0]!.mappings.properties as any).event.properties.original;
    assert.equal(original.index, false);

    // The same refused document written again is still one dead letter (content-derived id).
    await sink.write([bad], position);
    await client.indices.refresh({ index: sink.deadLetterDataStream });
    assert.equal((await client.count({ index: sink.deadLetterDataStream })).count, 1);
  } finally {
    await sink.close();
    await client.close();
  }
});

test("deadLetter() stores parse rejects with reason, raw text and position", async () => {
  const { client, sinkOptions } = await setUp("letters");
  const sink = new ElasticsearchSink(sinkOptions);
  try {
    await sink.deadLetter([
      { reason: "tuple has 9 fields, expected 8 or 13", raw: "1700000000,10.0.0.1,10.0.0.2,1,2,T,I,A,X", position },
      { reason: "not JSON: Unexpected token", raw: "x".repeat(40_000) }, // longer than a keyword term may be
    ]);
    await client.indices.refresh({ index: sink.deadLetterDataStream });
    const letters = await client.search<any>({ index: sink.deadLetterDataStream, sort: [{ "error.message.keyword": "desc" }] });
    assert.deepEqual(letters.hits.hits.map((hit) => hit._source.error.message),
      ["tuple has 9 fields, expected 8 or 13", "not JSON: Unexpected token"]);
    assert.equal(letters.hits.hits[0]!._source.deadletter.blob, position.blob);
    assert.equal(letters.hits.hits[1]!._source.event.original.length, 40_000);
    const byReason = await client.count({ index: sink.deadLetterDataStream, query: { match: { "error.message": "tuple fields" } } });
    assert.equal(byReason.count, 1);
  } finally {
    await sink.close();
    await client.close();
  }
});

test("batches are bounded by count and by bytes", async () => {
  const { client, sinkOptions } = await setUp("batches");
  const proxy = await startFaultyProxy(elasticsearchUrl(), () => "forward");
  try {
    const batch = sampleBatch(30, "sized");
    const byCount = new ElasticsearchSink({ ...sinkOptions, node: proxy.url, maxBatchDocuments: 7 });
    await byCount.write(batch.slice(0, 15));
    await byCount.close();
    assert.equal(proxy.seen.filter((request) => request.path.startsWith("/_bulk")).length, 3); // 7 + 7 + 1
    proxy.seen.length = 0;
    // Every document of this batch serialises to the same size (ids and ports have equal lengths).
    const oneDocument = Buffer.byteLength(`${JSON.stringify({ create: { _index: byCount.dataStream, _id: "sized-15" } })}\n${JSON.stringify(batch[15]!.doc)}\n`);
    const byBytes = new ElasticsearchSink({ ...sinkOptions, node: proxy.url, maxBatchBytes: oneDocument * 4 + 10 });
    const result = await byBytes.write(batch.slice(15));
    await byBytes.close();
    assert.equal(result.indexed, 15);
    assert.equal(proxy.seen.filter((request) => request.path.startsWith("/_bulk")).length, 4); // 4 + 4 + 4 + 3
  } finally {
    await proxy.stop();
    await client.close();
  }
});

test("a 413 (a proxy's body limit) splits the request and is remembered: every document lands once, later requests fit", async () => {
  const { client, sinkOptions } = await setUp("toolarge");
  const batch = sampleBatch(52, "big");
  const oneDocument = Buffer.byteLength(`${JSON.stringify({ create: { _index: "x", _id: "big-10" } })}\n${JSON.stringify(batch[10]!.doc)}\n`);
  const limit = oneDocument * 6;
  const proxy = await startBodyLimitProxy(elasticsearchUrl(), limit);
  const logged: string[] = [];
  const sink = new ElasticsearchSink({ ...sinkOptions, node: proxy.url, log: (line) => logged.push(line) });
  try {
    assert.deepEqual(await sink.write(batch.slice(0, 40)), { indexed: 40, duplicates: 0, deadLettered: 0, retries: 0 });
    const bulks = () => proxy.seen.filter((request) => request.path.startsWith("/_bulk"));
    const refused = bulks().filter((request) => request.status === undefined);
    assert.ok(refused.length >= 1 && refused.every((request) => request.bytes! > limit));
    assert.match(logged.join("\n"), /refused as too large \(HTTP 413\): sending at most \d+ bytes per request from now on/);
    proxy.seen.length = 0;
    // Remembered: the next write's requests are cut to the size that was taken, none is refused.
    assert.equal((await sink.write(batch.slice(40))).indexed, 12);
    assert.ok(bulks().length >= 3 && bulks().every((request) => request.bytes! <= limit && request.status === 200), JSON.stringify(bulks()));
    await client.indices.refresh({ index: sink.dataStream });
    assert.equal((await client.count({ index: sink.dataStream })).count, 52);
    // One document larger than the limit cannot be split: the write fails naming the fix.
    const huge = identifiedDocument("huge", { ...batch[0]!.doc, message: "x".repeat(limit) } as typeof batch[0]["doc"]);
    await assert.rejects(sink.write([huge]), /refused a request of one document \(\d+ bytes\) as too large \(HTTP 413\): raise its body size limit/);
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
});

test("without the index templates the sink refuses to write instead of letting the cluster guess mappings", async () => {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace("notemplate");
  const sink = new ElasticsearchSink({ ...esClientOptions(elasticsearchUrl()), namespace });
  try {
    await assert.rejects(sink.write(sampleBatch(2, "orphan")), /no index template with a data stream matches logs-azure\.flowlogs-notemplate\w+.*apply the index assets first/);
    const created = await client.indices.resolveIndex({ name: `*${namespace}*`, expand_wildcards: "all" });
    assert.deepEqual([...created.indices, ...created.data_streams], []);
  } finally {
    await sink.close();
    await client.close();
  }
});

test("client options: credentials stay out of URLs, CA pinning is validated", () => {
  assert.throws(() => clientOptions({ node: "https://elastic:s3cret@example.com:9243" }), (error: Error) =>
    /carries credentials/.test(error.message) && !error.message.includes("s3cret"));
  assert.throws(() => clientOptions({ node: "not a url" }), /invalid Elasticsearch URL/);
  assert.throws(() => clientOptions({ node: "https://h:9243", tls: { caFingerprint: "abc" } }), /64 hex digits/);
  const fingerprint = "a".repeat(64);
  assert.equal(clientOptions({ node: "https://h:9243", tls: { caFingerprint: fingerprint } }).caFingerprint,
    "AA:".repeat(31) + "AA");
  assert.throws(() => clientOptions({ node: "https://h:9243", tls: { caFile: "/nonexistent/ca.pem" } }), /cannot read the CA file \/nonexistent\/ca.pem/);
  const dir = mkdtempSync(join(tmpdir(), "sink-ca-"));
  try {
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    assert.match(String(clientOptions({ node: "https://h:9243", tls: { caFile: join(dir, "ca.pem") } }).tls?.ca), /BEGIN CERTIFICATE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const options = clientOptions({ node: "https://h:9243", auth: { apiKey: "c2VjcmV0" } });
  assert.deepEqual(options.auth, { apiKey: "c2VjcmV0" });
  assert.equal(options.maxRetries, 0);
  assert.throws(() => new ElasticsearchSink({ node: "http://127.0.0.1:9", namespace: "Bad-Name" }), /invalid data stream namespace/);
  assert.throws(() => new ElasticsearchSink({ node: "http://127.0.0.1:9", maxBatchBytes: 0 }), /maxBatchBytes must be a positive/);
});

test("rollover: ids are unique per backing index only; dedupeAcrossBackingIndices keeps a re-sent batch out", async () => {
  const { client, sinkOptions } = await setUp("rollover");
  const plain = new ElasticsearchSink(sinkOptions);
  const careful = new ElasticsearchSink({ ...sinkOptions, dedupeAcrossBackingIndices: true });
  try {
    const first = sampleBatch(4, "before");
    // Before the data stream exists the look-up finds nothing and the write goes ahead.
    assert.deepEqual(await careful.write(first.slice(0, 1)), { indexed: 1, duplicates: 0, deadLettered: 0, retries: 0 });
    assert.deepEqual(await plain.write(first), { indexed: 3, duplicates: 1, deadLettered: 0, retries: 0 });
    await client.indices.rollover({ alias: plain.dataStream });
    await client.indices.refresh({ index: plain.dataStream });
    // The careful sink finds them in the old backing index and writes nothing.
    assert.deepEqual(await careful.write(first), { indexed: 0, duplicates: 4, deadLettered: 0, retries: 0 });
    // A mix: known ids are skipped, new ones land.
    const mixed = [...first.slice(0, 2), ...sampleBatch(3, "after")];
    assert.deepEqual(await careful.write(mixed), { indexed: 3, duplicates: 2, deadLettered: 0, retries: 0 });
    await client.indices.refresh({ index: plain.dataStream });
    assert.equal((await client.count({ index: plain.dataStream })).count, 7);
    // Without the look-up the same re-send lands a second time in the new write index: the hazard, shown for real.
    assert.deepEqual(await plain.write(first.slice(2)), { indexed: 2, duplicates: 0, deadLettered: 0, retries: 0 });
    await client.indices.refresh({ index: plain.dataStream });
    assert.equal((await client.count({ index: plain.dataStream })).count, 9);
  } finally {
    await plain.close();
    await careful.close();
    await client.close();
  }
});

test("bulk answers are filtered to what the sink reads: a few bytes per item, and created, 409 and refused items still told apart", async () => {
  const { client, sinkOptions } = await setUp("filtered");
  const proxy = await startFaultyProxy(elasticsearchUrl(), () => "forward");
  const sink = new ElasticsearchSink({ ...sinkOptions, node: proxy.url });
  try {
    const batch = sampleBatch(400, "small");
    const bad = identifiedDocument("small-bad", { ...batch[0]!.doc, source: { ...batch[0]!.doc.source, port: "not-a-port" as unknown as number } });
    assert.deepEqual(await sink.write([...batch, bad], position), { indexed: 400, duplicates: 0, deadLettered: 1, retries: 0 });
    assert.deepEqual(await sink.write(batch, position), { indexed: 0, duplicates: 400, deadLettered: 0, retries: 0 });
    const bulks = proxy.seen.filter((request) => request.path.startsWith("/_bulk"));
    const created = bulks[0]!.responseBytes;
    // Unfiltered, a created item answers with index, id, version, result, shards, seq_no and primary term (~230 B).
    assert.ok(created / 401 < 60, `the first bulk answered ${created} bytes for 401 items`);
    await client.indices.refresh({ index: sink.deadLetterDataStream });
    const letters = await client.search<any>({ index: sink.deadLetterDataStream });
    assert.match(letters.hits.hits[0]!._source!.error.message, /^400 document_parsing_exception: .*\[source\.port\]/);
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
});

test("contract with the real engine: an all-created bulk answer is exactly the text the sink reads without parsing", async () => {
  const { client, sinkOptions } = await setUp("answers");
  const sink = new ElasticsearchSink({ ...sinkOptions, maxBatchDocuments: 300 });
  const bodies: string[] = [];
  const deserialize = BulkAnswerSerializer.prototype.deserialize;
  BulkAnswerSerializer.prototype.deserialize = function <T>(this: BulkAnswerSerializer, json: string): T {
    if (json.includes('"items"')) bodies.push(json);
    return deserialize.call(this, json) as T;
  };
  try {
    const batch = sampleBatch(700, "answers");
    assert.deepEqual(await sink.write(batch, position), { indexed: 700, duplicates: 0, deadLettered: 0, retries: 0 });
    assert.deepEqual(await sink.write(batch.slice(0, 10), position), { indexed: 0, duplicates: 10, deadLettered: 0, retries: 0 });
    assert.deepEqual(bodies.map((body) => allCreatedItems(body)?.length), [300, 300, 100, undefined]);
    for (const body of bodies.slice(0, 3)) assert.deepEqual(allCreatedItems(body), JSON.parse(body).items);
  } finally {
    BulkAnswerSerializer.prototype.deserialize = deserialize;
    await sink.close();
    await client.close();
  }
});
