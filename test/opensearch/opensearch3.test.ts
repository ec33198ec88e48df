// OpenSearch 3.x, for real: the 3.6.0 integ-test distribution from Maven Central, started here beside the suite's
// 2.19 (whose test zip has no ingest modules; 3.6.0's ships ingest-common and ingest-geoip with GeoLite2 databases).
// Its geoip processor is Elasticsearch 7.10's: no continent_code property, and pipelines refuse `_meta`. Until the
// index assets left both out for OpenSearch, `npm run index-assets -- --geoip auto` failed there with a 400 and put
// no template at all. The collector's writes and the assets' data streams are held to the same rules as on 2.19.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { applyOpenSearchIndexAssets, detectOpenSearchCapabilities, identifyCluster } from "../../dashboards/src/applyOpenSearchIndexAssets";
import { OpenSearchSink } from "../../collector/src/sink/opensearch";
import { flowDataStream } from "../../collector/src/sink/dataStreams";
import { startOpenSearch, type RunningOpenSearch } from "../support/opensearch";
import { openSearchHttp } from "../support/openSearchHttp";
import { uniqueNamespace } from "../support/esClient";
import { sampleBatch } from "../elasticsearch/sampleDocuments";

const VERSION = "3.6.0";
let node: RunningOpenSearch | undefined;

before(async () => {
  node = await startOpenSearch({ version: VERSION, log: (line) => console.log(`opensearch ${VERSION}: ${line}`) });
});

after(async () => {
  await node?.stop();
});

test(`OpenSearch ${VERSION}: identified, with the geoip and rename processors, and without continent_code`, async () => {
  const identity = await identifyCluster({ node: node!.url });
  assert.deepEqual(identity, { distribution: "opensearch", version: VERSION });
  const capabilities = await detectOpenSearchCapabilities({ node: node!.url });
  assert.equal(capabilities.ilm, false);
  assert.equal(capabilities.constantKeyword, true);
  assert.equal(capabilities.geoipContinentCode, false);
  for (const processor of ["geoip", "rename"]) assert.ok(capabilities.ingestProcessors.includes(processor), processor);
});

test(`OpenSearch ${VERSION}: geoip "required" installs the pipeline (no continent_code, no _meta), which finds public addresses`, async () => {
  const namespace = uniqueNamespace("os3geo");
  const applied = await applyOpenSearchIndexAssets({ node: node!.url }, { namespace, geoip: "required" });
  assert.ok(applied.requests.some((request) => request.kind === "ingest_pipeline" && request.name === "azure-flowlogs-geoip"));
  assert.match(applied.skipped.find((entry) => entry.asset === "continent_code in ingest pipeline azure-flowlogs-geoip")?.reason ?? "", /OpenSearch's geoip processor/);
  const os = openSearchHttp(node!.url);
  const pipeline = (await os.ok("GET", "/_ingest/pipeline/azure-flowlogs-geoip"))["azure-flowlogs-geoip"];
  assert.equal(pipeline._meta, undefined);
  assert.ok(!JSON.stringify(pipeline).includes("continent_code"));

  // A public address gets geo and AS fields under ECS names; a private one is left alone.
  const simulated = await os.ok("POST", "/_ingest/pipeline/azure-flowlogs-geoip/_simulate", {
    docs: [{ _source: { source: { ip: "8.8.8.8" }, destination: { ip: "10.1.0.4" } } }],
  });
  const source = simulated.docs[0].doc._source;
  assert.equal(source.source.geo.country_iso_code, "US");
  assert.equal(typeof source.source.as.number, "number");
  assert.equal(typeof source.source.as.organization.name, "string");
  assert.equal(source.destination.geo, undefined);
});

test(`OpenSearch ${VERSION}: the collector's writes land once in the data stream the assets made; a repeat is answered as duplicates`, async () => {
  const namespace = uniqueNamespace("os3sink");
  await applyOpenSearchIndexAssets({ node: node!.url }, { namespace });
  const sink = new OpenSearchSink({ node: node!.url, namespace });
  const batch = sampleBatch(25, "os3sink");
  assert.deepEqual(await sink.write(batch), { indexed: 25, duplicates: 0, deadLettered: 0, retries: 0 });
  assert.deepEqual(await sink.write(batch), { indexed: 0, duplicates: 25, deadLettered: 0, retries: 0 });
  const os = openSearchHttp(node!.url);
  assert.equal(await os.count(flowDataStream(namespace)), 25);
});
