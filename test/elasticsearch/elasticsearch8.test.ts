// Elasticsearch 8.x, for real: the newest 8.x test distribution on Maven Central (8.19.21), started here beside the
// suite's 9.x. The 9.x client sends `compatible-with=9` media types unless told otherwise, which 8.x refuses with 400
// media_type_header_exception: the collector wrote nothing to an 8.x cluster until its client sent plain JSON
// (sink/elasticsearch.ts, PLAIN_JSON_HEADERS). This distribution also answers `GET /_ilm/status` 405 (no ILM module).
// What the index assets choose on 8.17+ (logsdb) is held to dashboards/elasticsearch/README.md.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@elastic/elasticsearch";
import { ElasticsearchSink, PLAIN_JSON_HEADERS } from "../../collector/src/sink/elasticsearch";
import { applyIndexAssets, detectCapabilities } from "../../dashboards/src/applyIndexAssets";
import { startElasticsearch, type RunningElasticsearch } from "../support/elasticsearch";
import { uniqueNamespace } from "../support/esClient";
import { sampleBatch } from "./sampleDocuments";

const VERSION = "8.19.21";
const position = { container: "insights-logs-flowlogflowevent", blob: "y=2026/m=12/d=04/h=10/m=00/PT1H.json", offset: 0 };
let es: RunningElasticsearch | undefined;
let client: Client;

before(async () => {
  es = await startElasticsearch({ version: VERSION, log: (line) => console.log(`elasticsearch ${VERSION}: ${line}`) });
  client = new Client({ node: es.url, headers: { ...PLAIN_JSON_HEADERS } });
});

after(async () => {
  await client?.close();
  await es?.stop();
});

test(`Elasticsearch ${VERSION}: the capabilities are read (no ILM here: 405), and the flow template is logsdb, as on 8.17+`, async () => {
  const nodes = await client.nodes.info({ node_id: "_local" });
  assert.deepEqual(Object.values(nodes.nodes).map((node) => node.version), [VERSION]);
  const capabilities = await detectCapabilities(client);
  assert.equal(capabilities.ilm, false);
  assert.equal(capabilities.logsdb, true);
  const applied = await applyIndexAssets(client, { namespace: uniqueNamespace("es8modes") });
  assert.equal(applied.indexMode.mode, "logsdb", applied.indexMode.reason);
  assert.match(applied.indexMode.reason, /8\.17/);
});

test(`Elasticsearch ${VERSION}: the collector's sink writes a batch exactly once (a repeat is 409s), in a logsdb backing index`, async () => {
  const namespace = uniqueNamespace("es8sink");
  await applyIndexAssets(client, { namespace });
  const sink = new ElasticsearchSink({ node: es!.url, namespace });
  try {
    const batch = sampleBatch(40, "es8");
    assert.deepEqual(await sink.write(batch, position), { indexed: 40, duplicates: 0, deadLettered: 0, retries: 0 });
    assert.deepEqual(await sink.write(batch, position), { indexed: 0, duplicates: 40, deadLettered: 0, retries: 0 });
    await client.indices.refresh({ index: sink.dataStream });
    const found = await client.search({ index: sink.dataStream, size: 100, _source: false });
    assert.deepEqual(found.hits.hits.map((hit) => hit._id).sort(), batch.map((item) => item.id).sort());
    const settings = await client.indices.getSettings({ index: sink.dataStream, name: "index.mode" });
    assert.deepEqual(Object.values(settings).map((index) => index.settings?.index?.mode), ["logsdb"]);
  } finally {
    await sink.close();
  }
});
