// `npm run demo`: the project's main job on an embedded default. Starts Azurite and Elasticsearch (or uses ES_URL),
// applies the index assets, writes one simulated hour of NSG and VNet flow logs minute by minute as Azure does,
// runs the collector over it and prints what the dashboard shows, read back from Elasticsearch. Progress goes to
// stderr, the summary to stdout. Everything it started is stopped at the end (or on Ctrl-C with --keep).
import { NSG_CONTAINER, VNET_CONTAINER } from "../test/support/flowLogWriter";
import { BlobServiceClient } from "@azure/storage-blob";
import { applyIndexAssets } from "../dashboards/src/applyIndexAssets";
import { runCollector } from "../collector/src/service/collector";
import { loadConfig } from "../collector/src/service/config";
import { ElasticsearchSink } from "../collector/src/sink/elasticsearch";
import { flowDataStream } from "../collector/src/sink/dataStreams";
import { startAzurite } from "../test/support/azurite";
import { startElasticsearch } from "../test/support/elasticsearch";
import { esClient, esClientOptions } from "../test/support/esClient";
import { FlowLogDataset, datasetSpecs } from "../test/support/dataset";
import { DEMO_USAGE, DemoUsageError, parseDemoOptions, type DemoOptions } from "./demo/options";
import { demoSummary } from "./demo/summary";
import { demoIncidents } from "./demo/incidents";
import { demoConversations } from "./demo/conversations";

const progress = (line: string) => process.stderr.write(`${line}\n`);
const number = (n: number) => n.toLocaleString("en-US");

/** What the demo started, stopped in reverse order exactly once. */
const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
let stopping: Promise<void> | undefined;
/** Set while `--keep` waits: ends the wait. */
let releaseKeep: (() => void) | undefined;
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const { name, stop } of stops.reverse()) {
      progress(`stopping ${name}…`);
      await stop().catch((error) => progress(`could not stop ${name}: ${error instanceof Error ? error.message : error}`));
    }
  })();
  return stopping;
}

async function demo(options: DemoOptions): Promise<void> {
  const started = Date.now();
  progress("starting Azurite…");
  const azurite = await startAzurite();
  stops.push({ name: "Azurite", stop: azurite.stop });
  progress(`azurite: ${azurite.blobUrl}`);

  let esUrl = process.env.ES_URL;
  if (esUrl) {
    progress(`using Elasticsearch at ${esUrl} (ES_URL)`);
  } else {
    progress("starting Elasticsearch… (the first run downloads it; later runs take about 10-20 s)");
    const es = await startElasticsearch({ log: (line) => progress(`elasticsearch: ${line}`) });
    stops.push({ name: "Elasticsearch", stop: es.stop });
    esUrl = es.url;
  }
  const es = esClient(esUrl);
  stops.push({ name: "the Elasticsearch client", stop: () => es.close() });
  try {
    await es.cluster.health(); // not `GET /`: the test distribution has no root endpoint
  } catch (error) {
    throw new Error(`Elasticsearch at ${esUrl} does not answer (${error instanceof Error ? error.message : error}): check ES_URL and its credentials`);
  }

  // A cluster named by ES_URL may hold earlier demo runs: a unique namespace keeps the counts this run's own.
  const namespace = options.namespace ?? (process.env.ES_URL ? `demo${Date.now().toString(36)}` : "demo");
  const dataStream = flowDataStream(namespace);
  progress(`applying the index assets for ${dataStream}…`);
  const applied = await applyIndexAssets(es, { namespace });
  for (const { asset, reason } of applied.skipped) progress(`  left out ${asset}: ${reason}`);

  const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000); // the last full hour
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  for (const name of [NSG_CONTAINER, VNET_CONTAINER]) await service.getContainerClient(name).createIfNotExists();
  const incidents = demoIncidents(options.minutes);
  const conversations = demoConversations(options.minutes);
  const planted = [...incidents, ...conversations.flatMap((c) => c.traffic)];
  const dataset = new FlowLogDataset(service, { nsgContainer: NSG_CONTAINER, vnetContainer: VNET_CONTAINER, hour, recordsPerMinute: options.recordsPerMinute, planted });
  const nics = describeNics();
  for (const incident of incidents) progress(`planting a ${incident.what} in minute ${incident.minute + 1}`);
  for (const c of conversations) progress(`writing a conversation: ${c.what}, ${c.records} record(s) from minute ${c.traffic[0].minute + 1}, states ${c.states}`);
  progress(`writing ${options.minutes} minute(s) of flow logs for ${hour.toISOString().slice(0, 13)}h from ${nics}…`);
  await dataset.appendMinutes(options.minutes, (minute) => {
    if (minute === 1 || minute % 5 === 0 || minute === options.minutes) progress(`wrote minute ${minute}/${options.minutes} (${number(dataset.tuples)} flow tuples so far)`);
  });

  progress("running the collector (one pass over every blob)…");
  const config = loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: azurite.connectionString,
    FLOWLOGS_ES_URL: esUrl,
    FLOWLOGS_ES_NAMESPACE: namespace,
    FLOWLOGS_METRICS_PORT: "off",
    FLOWLOGS_LOG_LEVEL: "warn",
    FLOWLOGS_REPLICA_ID: "demo",
  });
  // The sink is built here so basic auth (ES_USERNAME/ES_PASSWORD) works too; the collector's own config has API keys only.
  const sink = new ElasticsearchSink({ ...esClientOptions(esUrl), namespace });
  const collectStart = Date.now();
  const ticker = setInterval(() => {
    es.count({ index: dataStream }).then((r) => progress(`indexed ${number(r.count)} documents`), () => {});
  }, 2_000);
  let result;
  try {
    result = await runCollector({ config, once: true, sink });
  } finally {
    clearInterval(ticker);
    await sink.close();
  }
  const collectorSeconds = (Date.now() - collectStart) / 1000;
  if (result.metrics.blobsFailed || result.metrics.errors) {
    progress(`warning: ${result.metrics.blobsFailed} blob(s) failed and ${result.metrics.errors} error(s) were logged above`);
  }
  await es.indices.refresh({ index: dataStream });
  const { count } = await es.count({ index: dataStream });
  progress(`indexed ${number(count)} documents in ${collectorSeconds.toFixed(1)} s`);

  const summary = await demoSummary({ es, dataStream, hour, collectorSeconds, tuplesWritten: dataset.tuples, nics,
    minutes: options.minutes, plantedSources: [...new Set(incidents.flatMap((i) => i.tuples.map((t) => t.sourceIp)))],
  });
  process.stdout.write(summary.text);
  process.stdout.write(`\n(demo took ${((Date.now() - started) / 1000).toFixed(1)} s in all)\n`);

  if (options.keep) {
    process.stdout.write([
      "",
      "Kept running (Ctrl-C stops everything):",
      `  Elasticsearch  ${esUrl}   e.g. curl '${esUrl}/${dataStream}/_search?size=1&pretty'`,
      `  Azurite blobs  ${azurite.blobUrl}   containers ${NSG_CONTAINER}, ${VNET_CONTAINER}`,
      `  data stream    ${dataStream}`,
      "",
    ].join("\n"));
    await new Promise<void>((resolve) => { releaseKeep = resolve; });
  }
}

function describeNics(): string {
  const kinds = datasetSpecs().map((spec) => spec.kind);
  const count = (kind: string) => kinds.filter((k) => k === kind).length;
  return `${kinds.length} NICs (NSG v1 x${count("nsg-v1")}, NSG v2 x${count("nsg-v2")}, VNet x${count("vnet-v4")})`;
}

async function main(): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    process.stderr.write(`demo: ${error.message}\n\n${DEMO_USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return 0;
  }
  // Ctrl-C while working: stop what was started, then exit 130. While --keep waits, it ends the wait instead.
  const onSignal = () => {
    if (releaseKeep) releaseKeep();
    else void stopAll().then(() => { progress("interrupted: stopped everything the demo started"); process.exit(130); });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await demo(options);
    return 0;
  } finally {
    await stopAll();
    progress("stopped everything the demo started");
  }
}

main().then((code) => process.exit(code), (error) => {
  progress(`demo failed: ${error instanceof Error ? error.message : error}`);
  void stopAll().then(() => process.exit(1));
});
