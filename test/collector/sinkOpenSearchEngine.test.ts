// The OpenSearch sink and the collector against a real OpenSearch (the 2.19 integ-test distribution test/run.ts
// starts) with the index assets applied for OpenSearch: exact counts, re-reads add nothing, refusals become dead
// letters with their reason, and a cluster without the templates is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OpenSearchSink } from "../../collector/src/sink/opensearch";
import { identifiedDocument } from "../../collector/src/ecs";
import { runCollector } from "../../collector/src/service/collector";
import { loadConfig } from "../../collector/src/service/config";
import { applyOpenSearchIndexAssets } from "../../dashboards/src/applyOpenSearchIndexAssets";
import { azuriteConnectionString, opensearchUrl } from "../support/env";
import { openSearchHttp } from "../support/openSearchHttp";
import { uniqueNamespace } from "../support/esClient";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { expectedIds } from "../collector/serviceRecordingSink";
import { sampleBatch } from "../elasticsearch/sampleDocuments";
import { startFaultyProxy } from "../support/faultyProxy";

const os = openSearchHttp(opensearchUrl());
const scratch = scratchContainers(azuriteConnectionString());
const position = { container: "insights-logs-flowlogflowevent", blob: "y=2026/m=11/d=27/h=04/m=00/PT1H.json", offset: 512 };

async function namespaceWithAssets(label: string): Promise<string> {
  const namespace = uniqueNamespace(label);
  await applyOpenSearchIndexAssets({ node: opensearchUrl() }, { namespace });
  return namespace;
}

test("documents land under their own ids in the data stream; the same batch again is all duplicates", async () => {
  const namespace = await namespaceWithAssets("osids");
  const sink = new OpenSearchSink({ node: opensearchUrl(), namespace, maxBatchDocuments: 10 });
  const batch = sampleBatch(25, "os");
  assert.deepEqual(await sink.write(batch, position), { indexed: 25, duplicates: 0, deadLettered: 0, retries: 0 });
  assert.deepEqual(await sink.write(batch, position), { indexed: 0, duplicates: 25, deadLettered: 0, retries: 0 });
  assert.equal(await os.count(sink.dataStream), 25);
  const found = await os.ok("POST", `/${sink.dataStream}/_search`, { size: 100, _source: false });
  assert.deepEqual(found.hits.hits.map((hit: any) => hit._id).sort(), batch.map((item) => item.id).sort());
  assert.ok(found.hits.hits.every((hit: any) => hit._index.startsWith(`.ds-${sink.dataStream}-`)), "in the data stream's backing index");
});

test("the collector run twice over the same blobs on Azurite (checkpoints lost) indexes every tuple exactly once", async () => {
  const namespace = await namespaceWithAssets("oscollector");
  const vnet = scratch.container("os-vnet");
  const nsg = scratch.container("os-nsg");
  for (const container of [vnet, nsg]) await container.create();
  const hour = new Date("2026-11-20T10:00:00Z");
  const writers = [
    new FlowLogBlobWriter(nsg, { kind: "nsg-v2", hour, seed: 21, mac: "000D3A00000A" }),
    new FlowLogBlobWriter(vnet, { kind: "vnet-v4", hour, seed: 22, mac: "000D3A00000B" }),
  ];
  for (let minute = 0; minute < 4; minute++) for (const writer of writers) await writer.appendMinute({ records: 3 });
  const tuples = writers.reduce((sum, writer) => sum + writer.tuples, 0);
  const runOnce = async () => {
    const config = loadConfig({
      FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
      FLOWLOGS_CONTAINERS: `${nsg.containerName},${vnet.containerName}`,
      // A fresh checkpoint container each run: the second run re-reads every byte, as after a lost checkpoint.
      FLOWLOGS_CHECKPOINT_CONTAINER: scratch.container("os-cp").containerName,
      FLOWLOGS_SINK: "opensearch",
      FLOWLOGS_ES_URL: opensearchUrl(),
      FLOWLOGS_ES_NAMESPACE: namespace,
      FLOWLOGS_METRICS_PORT: "off",
      FLOWLOGS_REPLICA_ID: "os-test",
    });
    return (await runCollector({ config, once: true, blobService: scratch.service, writeLog: () => {} })).metrics;
  };
  const first = await runOnce();
  assert.equal(first.tuples, tuples);
  assert.equal(first.indexed, tuples);
  assert.equal(first.duplicates, 0);
  const second = await runOnce();
  assert.ok(second.bytesRead > 0, "the second run read the blobs again");
  assert.equal(second.indexed, 0);
  assert.equal(second.duplicates, tuples);

  const dataStream = `logs-azure.flowlogs-${namespace}`;
  assert.equal(await os.count(dataStream), tuples);
  const ids = await os.ok("POST", `/${dataStream}/_search`, { size: 10_000, _source: false });
  assert.deepEqual(new Set(ids.hits.hits.map((hit: any) => hit._id)), await expectedIds(writers));
  const letters = await os.call("GET", `/_data_stream/logs-azure.flowlogs.deadletter-${namespace}`);
  assert.equal(letters.status, 404, "no dead letter, so no dead-letter stream was ever created");
});

test("bulk answers are filtered to what the sink reads: a few bytes per item, and created, 409 and refused items still told apart", async () => {
  const namespace = await namespaceWithAssets("osfiltered");
  const proxy = await startFaultyProxy(opensearchUrl(), () => "forward");
  const sink = new OpenSearchSink({ node: proxy.url, namespace });
  try {
    const batch = sampleBatch(400, "osfiltered");
    const bad = identifiedDocument("os-filtered-bad", { ...batch[0]!.doc, source: { ...batch[0]!.doc.source, port: "not-a-port" as unknown as number } });
    assert.deepEqual(await sink.write([...batch, bad], position), { indexed: 400, duplicates: 0, deadLettered: 1, retries: 0 });
    assert.deepEqual(await sink.write(batch, position), { indexed: 0, duplicates: 400, deadLettered: 0, retries: 0 });
    const bulks = proxy.seen.filter((request) => request.path.startsWith("/_bulk"));
    // Unfiltered, a created item answers with index, id, version, result, shards, seq_no and primary term (225 B
    // here); filtered, the status and the backing index the data stream check reads (~90 B, most of it the name).
    // Counted after decompression: OpenSearch gzips its answers, but the sink still reads and parses every byte.
    const created = bulks[0]!.decodedBytes;
    assert.ok(created / 401 < 120, `the first bulk answered ${created} bytes (decompressed) for 401 items`);
    assert.equal(await os.count(sink.dataStream), 400);
    assert.equal(await os.count(sink.deadLetterDataStream), 1);
    const letters = await os.ok("POST", `/${sink.deadLetterDataStream}/_search`, {});
    assert.match(letters.hits.hits[0]!._source.error.message, /^400 mapper_parsing_exception: .*\[source\.port\]/);
  } finally {
    await proxy.stop();
  }
});

test("documents the mapping refuses go to the dead-letter stream with OpenSearch's reason while the rest lands", async () => {
  const namespace = await namespaceWithAssets("osrefused");
  const sink = new OpenSearchSink({ node: opensearchUrl(), namespace });
  const batch = sampleBatch(4, "osok");
  const badPort = identifiedDocument("os-bad-port", { ...batch[0]!.doc, source: { ...batch[0]!.doc.source, port: "not-a-port" as unknown as number } });
  const unknownField = identifiedDocument("os-unknown-field", { ...batch[1]!.doc, surprise: 1 } as never);
  assert.deepEqual(await sink.write([badPort, ...batch, unknownField], position), { indexed: 4, duplicates: 0, deadLettered: 2, retries: 0 });
  assert.equal(await os.count(sink.dataStream), 4);
  assert.equal(await os.count(sink.deadLetterDataStream), 2);
  const letters = await os.ok("POST", `/${sink.deadLetterDataStream}/_search`, { sort: [{ "deadletter.document_id": "asc" }] });
  const [port, unknown] = letters.hits.hits.map((hit: any) => hit._source);
  assert.equal(port.deadletter.document_id, "os-bad-port");
  assert.match(port.error.message, /^400 mapper_parsing_exception: .*\[source\.port\]/);
  assert.deepEqual({ container: port.deadletter.container, blob: port.deadletter.blob, offset: port.deadletter.offset }, position);
  assert.deepEqual(JSON.parse(port.event.original), badPort.doc);
  assert.equal(unknown.deadletter.document_id, "os-unknown-field");
  assert.match(unknown.error.message, /^400 strict_dynamic_mapping_exception: .*surprise/);
  // Dead-letter ids come from the content: the same refusal again is still one dead letter.
  await sink.write([badPort], position);
  assert.equal(await os.count(sink.deadLetterDataStream), 2);
});

test("concurrent writes share one bulk request on OpenSearch; a refused document stays its own write's, with its position", async () => {
  const namespace = await namespaceWithAssets("osshared");
  const proxy = await startFaultyProxy(opensearchUrl(), () => "forward");
  // A linger longer than the test: the request goes because all three writers joined.
  const sink = new OpenSearchSink({ node: proxy.url, namespace, lingerMs: 60_000, writers: 3 });
  try {
    const other = { ...position, blob: "y=2026/m=11/d=27/h=05/m=00/PT1H.json" };
    const batch = sampleBatch(6, "osshr");
    const badPort = identifiedDocument("os-shared-bad-port", { ...batch[0]!.doc, source: { ...batch[0]!.doc.source, port: "not-a-port" as unknown as number } });
    const results = await Promise.all([
      sink.write(batch.slice(0, 2), position),
      sink.write([...batch.slice(2, 4), badPort], other),
      sink.write(batch.slice(4), position),
    ]);
    assert.deepEqual(results, [
      { indexed: 2, duplicates: 0, deadLettered: 0, retries: 0 },
      { indexed: 2, duplicates: 0, deadLettered: 1, retries: 0 },
      { indexed: 2, duplicates: 0, deadLettered: 0, retries: 0 },
    ]);
    assert.equal(proxy.seen.filter((seen) => seen.path.includes("_bulk")).length, 2, "one shared request, then the dead letter");
    assert.equal(await os.count(sink.dataStream), 6);
    assert.equal(await os.count(sink.deadLetterDataStream), 1);
    const letter = (await os.ok("POST", `/${sink.deadLetterDataStream}/_search`, {})).hits.hits[0]!._source;
    assert.equal(letter.deadletter.document_id, "os-shared-bad-port");
    assert.deepEqual({ container: letter.deadletter.container, blob: letter.deadletter.blob, offset: letter.deadletter.offset }, other);
  } finally {
    await sink.close();
    await proxy.stop();
  }
});

test("without the index templates the sink stops with a clear error naming the plain index OpenSearch made", async () => {
  const namespace = uniqueNamespace("osnotemplate");
  const sink = new OpenSearchSink({ node: opensearchUrl(), namespace, sleep: async () => {} });
  await assert.rejects(sink.write(sampleBatch(1, "osorphan")),
    new RegExp(`no index template with a data stream matches logs-azure\\.flowlogs-${namespace} \\(the cluster wrote to a plain index logs-azure\\.flowlogs-${namespace}, not a data stream; delete that index\\).*apply the index assets first`));
  const made = await os.ok("GET", `/logs-azure.flowlogs-${namespace}`);
  assert.ok(made[`logs-azure.flowlogs-${namespace}`], "OpenSearch created a plain index (it has no require_data_stream)");
  const streams = await os.call("GET", `/_data_stream/logs-azure.flowlogs-${namespace}`);
  assert.deepEqual(streams.status === 404 ? [] : streams.body.data_streams, [], "no data stream of that name");
});
