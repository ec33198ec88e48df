// What a flow costs Elasticsearch, on one generated dataset (scripts/bench/costDataset.ts, 316,800 VNet tuples):
// - disk_bytes_per_tuple: force-merged store ÷ documents, for the templates the cluster gets (logsdb where it has
//   it), and disk_bytes_per_tuple_standard for the same documents in the standard index mode;
// - es_only_*: the ceiling, pre-built `_bulk` bodies (2,000 creates per request, 2 in flight, answers filtered as the
//   collector filters them) straight into the data stream, and what that loader itself spent (the sending part of
//   collector_cpu_share_floor);
// - e2e_*: the same blobs from Azurite through the shipped collector with its default settings;
// - collector_cpu_share: the collector's CPU over Elasticsearch's for those blobs, as measured (a process that
//   starts, collects once and exits) and `_after_startup`, less a run of the same settings on an empty container;
//   `_warm`: the second pass of one process that collects the blobs twice (first into a warm-up namespace), as the
//   service runs once V8 has compiled its hot code.
// - collector_cpu_share_floor(_with_storage, _with_startup): what the share could at best be, for the pipeline and
//   sending alone, then with the collector's own Azure requests for these blobs (storageFloor.ts), then with its
//   start-up too, as collector_cpu_share has it.
// Elasticsearch's CPU comes from /proc (process tree), the figure that stays meaningful on a loaded machine; a
// warm-up load runs first so neither measured run pays for a cold JVM (its cost is printed too: measuring the
// collector against a node that just started is what once made the end-to-end path look five times as costly).
import { availableParallelism } from "node:os";
import { BlobServiceClient } from "@azure/storage-blob";
import { Client } from "@elastic/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import type { IndexAssetOptions } from "../../dashboards/src/indexAssets";
import { parseFlowLogText } from "../../collector/src/format";
import { toBulkNdjson } from "../../collector/src/ecs";
import type { CostDataset } from "./costDataset";
import type { ParseFigures } from "./parse";
import { collectOnceInChild, collectWarmInChild, startupCost } from "./imageRuntime";
import { storageRequestsCpu } from "./storageFloor";
import { treeCpuSeconds } from "./processCpu";
import { untilMergesSettle } from "./elasticsearchMerges";
import { progress, report } from "./stats";

const DOCUMENTS_PER_REQUEST = 2000;
const IN_FLIGHT = 2;
const WARM_UP_DOCUMENTS = 160_000; // half the dataset: with 60,000 the first measured run still paid for JIT warm-up (50 µs/doc against 43)

interface Load {
  documents: number;
  seconds: number;
  esCpuSeconds: number;
  /** This process's CPU for the load: sending the bodies and reading the answers, as any loader must. */
  loaderCpuSeconds: number;
}

export async function benchIngestCost(dataset: CostDataset, connectionString: string, esUrl: string, esPid: number | undefined, parse: ParseFigures): Promise<void> {
  const client = new Client({ node: esUrl, requestTimeout: 600_000 });
  const cpu = (): number => (esPid ? treeCpuSeconds(esPid) : NaN);
  try {
    const streams = {
      warm: await assets(client, { namespace: "costwarm" }),
      only: await assets(client, { namespace: "costonly" }),
      e2e: await assets(client, { namespace: "coste2e" }),
      e2eWarmUp: await assets(client, { namespace: "coste2ewarmup" }),
      e2eWarm: await assets(client, { namespace: "coste2ewarm" }),
      standard: await assets(client, { namespace: "coststd", indexMode: "standard" }),
    };
    const bodies = (dataStream: string): Buffer[] => bulkBodies(dataset, dataStream);

    progress(`ingest: warming Elasticsearch up with ${WARM_UP_DOCUMENTS} documents (not counted in the figures below)`);
    const warm = await load(client, bodies(streams.warm.dataStream).slice(0, WARM_UP_DOCUMENTS / DOCUMENTS_PER_REQUEST), cpu);

    await untilMergesSettle(client);
    progress(`ingest: Elasticsearch alone, ${dataset.tuples} documents as pre-built bulk bodies into ${streams.only.dataStream}`);
    const only = await load(client, bodies(streams.only.dataStream), cpu);
    await expectCount(client, streams.only.dataStream, dataset.tuples);

    progress(`ingest: end to end, ${dataset.blobs.length} blobs from Azurite through the collector into ${streams.e2e.dataStream}`);
    const e2e = await collectEndToEnd(dataset, connectionString, esUrl, cpu, () => untilMergesSettle(client));
    await expectCount(client, streams.e2e.dataStream, dataset.tuples);
    await expectCount(client, streams.e2eWarm.dataStream, dataset.tuples);

    progress(`ingest: the same documents in the standard index mode, for the disk comparison`);
    await load(client, bodies(streams.standard.dataStream), cpu);
    await expectCount(client, streams.standard.dataStream, dataset.tuples);

    const disk = await forceMergedBytes(client, streams.only.dataStream);
    const diskStandard = await forceMergedBytes(client, streams.standard.dataStream);
    const diskE2e = await forceMergedBytes(client, streams.e2e.dataStream);
    report("disk_bytes_per_tuple", disk / dataset.tuples, 1,
      `index.mode ${streams.only.indexMode.mode}, _source ${streams.only.source} (${streams.only.indexMode.reason}); ` +
      `raw PT1H.json ${(dataset.bytes / dataset.tuples).toFixed(1)} B/tuple; the collector's own writes ${(diskE2e / dataset.tuples).toFixed(1)}`);
    report("disk_bytes_per_tuple_standard", diskStandard / dataset.tuples, 1, "same documents, index.mode standard, _source stored");
    report("es_only_docs_per_s", only.documents / only.seconds, 0,
      `${only.documents} documents in ${only.seconds.toFixed(1)} s, ${DOCUMENTS_PER_REQUEST} per request, ${IN_FLIGHT} in flight; wall clock, noisy on a loaded machine`);
    report("e2e_docs_per_s", e2e.documents / e2e.seconds, 0, `${e2e.documents} documents in ${e2e.seconds.toFixed(1)} s; wall clock, noisy on a loaded machine`);
    report("e2e_vs_es_only", (e2e.documents / e2e.seconds) / (only.documents / only.seconds), 3);
    // The collector's wall time includes its one-time start-up (geo/AS databases, checkpoint container), which the
    // loader does not pay and the service pays once: the same ratio without it, as collector_cpu_share_after_startup.
    report("e2e_vs_es_only_after_startup", only.seconds / (e2e.seconds - e2e.startupSeconds), 3,
      `${e2e.seconds.toFixed(1)} s end to end less ${e2e.startupSeconds.toFixed(2)} s of start-up (median of 3 runs on an empty container)`);
    if (esPid) {
      report("es_cpu_us_per_doc_es_only", only.esCpuSeconds * 1e6 / only.documents, 1, `Elasticsearch ${only.esCpuSeconds.toFixed(1)} CPU s`);
      report("es_cpu_us_per_doc_e2e", e2e.esCpuSeconds * 1e6 / e2e.documents, 1,
        `Elasticsearch ${e2e.esCpuSeconds.toFixed(1)} CPU s, ${(e2e.esCpuSeconds / only.esCpuSeconds * only.documents / e2e.documents).toFixed(2)} x es_only`);
      report("es_cpu_us_per_doc_warm_up", warm.esCpuSeconds * 1e6 / warm.documents, 1,
        `the first ${warm.documents} documents, pre-built bodies: a node that just started (cold JVM) pays this much more`);
      report("collector_cpu_share", e2e.collectorCpuSeconds / e2e.esCpuSeconds, 3,
        `collector ${e2e.collectorCpuSeconds.toFixed(1)} CPU s, Elasticsearch ${e2e.esCpuSeconds.toFixed(1)} CPU s; the collector's one-time start-up included`);
      // The measured collector is a process that starts, collects once and exits; the service starts once and runs
      // for days. Its start-up (node, modules, geo/AS databases), measured on an empty container, is left out here.
      const steady = e2e.collectorCpuSeconds - e2e.startupCpuSeconds;
      report("collector_cpu_share_after_startup", steady / e2e.esCpuSeconds, 3,
        `collector ${steady.toFixed(1)} CPU s = ${(steady * 1e6 / e2e.documents).toFixed(1)} µs/doc without its start-up ` +
        `(${e2e.startupCpuSeconds.toFixed(2)} CPU s, median of 3 runs on an empty container, same settings)`);
      report("collector_cpu_share_warm", e2e.warm.collectorCpuSeconds / e2e.warm.esCpuSeconds, 3,
        `collector ${e2e.warm.collectorCpuSeconds.toFixed(1)} CPU s = ${(e2e.warm.collectorCpuSeconds * 1e6 / dataset.tuples).toFixed(1)} µs/doc, ` +
        `Elasticsearch ${e2e.warm.esCpuSeconds.toFixed(1)} CPU s = ${(e2e.warm.esCpuSeconds * 1e6 / dataset.tuples).toFixed(1)} µs/doc, on the second pass ` +
        `of one process over the same blobs: the service's cost once V8 has compiled its hot code (a one-pass run pays that every time)`);
      // The least any collector emitting these documents spends: the pipeline (parse, map, ids, bulk lines; parse
      // bench, enriched) plus what the loader above spent sending the finished bodies and reading the answers.
      // Reading blobs, checkpoints and the garbage collector's share of those come on top of it.
      const loaderUsPerDoc = only.loaderCpuSeconds * 1e6 / only.documents;
      const floorUsPerDoc = parse.enrichedCpuUsPerTuple + loaderUsPerDoc;
      report("es_only_loader_cpu_us_per_doc", loaderUsPerDoc, 2, "this process's CPU sending the pre-built bodies and reading the (filtered) answers");
      report("collector_cpu_share_floor", floorUsPerDoc * e2e.documents / 1e6 / e2e.esCpuSeconds, 3,
        `pipeline ${parse.enrichedCpuUsPerTuple.toFixed(1)} µs/tuple (enriched) + sending ${loaderUsPerDoc.toFixed(1)} µs/doc = ${floorUsPerDoc.toFixed(1)} µs/doc, ` +
        `over Elasticsearch's end-to-end CPU: what collector_cpu_share_after_startup could at best be with no blob reading at all`);
      // The same with the collector's own storage requests for these blobs (storageFloor.ts): the least a collector
      // on the Azure SDK that checkpoints each blob once could spend, before any garbage collection of its own.
      const { storage } = e2e;
      const storageUsPerDoc = storage.readsUsPerDoc + storage.checkpointsUsPerDoc;
      report("storage_requests_cpu_us_per_doc", storageUsPerDoc, 2,
        `${storage.requestsPerBlob} Azure requests per blob (${dataset.tuples / dataset.blobs.length} documents): reads ${storage.readsUsPerDoc.toFixed(2)} µs/doc ` +
        `(block list, one ranged download), checkpoints ${storage.checkpointsUsPerDoc.toFixed(2)} (peek, create, lease, try, write, release); median of 3, SDK warm`);
      report("collector_cpu_share_floor_with_storage", (floorUsPerDoc + storageUsPerDoc) * e2e.documents / 1e6 / e2e.esCpuSeconds, 3,
        `${(floorUsPerDoc + storageUsPerDoc).toFixed(1)} µs/doc: collector_cpu_share_floor plus the storage requests, over Elasticsearch's end-to-end CPU`);
      // collector_cpu_share (the #12 target) includes the one-time start-up: its floor does too.
      const floorCpuSeconds = (floorUsPerDoc + storageUsPerDoc) * e2e.documents / 1e6 + e2e.startupCpuSeconds;
      report("collector_cpu_share_floor_with_startup", floorCpuSeconds / e2e.esCpuSeconds, 3,
        `collector_cpu_share_floor_with_storage plus the start-up (${e2e.startupCpuSeconds.toFixed(2)} CPU s: node, the SDKs and the clients loaded, ` +
        `the geo/AS tables): the least collector_cpu_share could be, against its ${(e2e.collectorCpuSeconds / e2e.esCpuSeconds).toFixed(3)} here`);
      // On a machine where Elasticsearch and the collector share the cores, the end-to-end run cannot finish faster
      // than their CPU seconds spread over every core: what e2e_vs_es_only could at best be here.
      const cores = availableParallelism();
      const fastestE2e = (e2e.esCpuSeconds + e2e.collectorCpuSeconds) / cores;
      report("e2e_vs_es_only_ceiling_here", only.seconds / fastestE2e, 3,
        `Elasticsearch and the collector on the same ${cores} cores: ${(e2e.esCpuSeconds + e2e.collectorCpuSeconds).toFixed(1)} CPU s end to end take at least ` +
        `${fastestE2e.toFixed(1)} s against Elasticsearch alone's ${only.seconds.toFixed(1)} s (it used ${(only.esCpuSeconds / only.seconds).toFixed(2)} cores)`);
    } else {
      progress("Elasticsearch CPU figures need the Elasticsearch started here (ES_URL points elsewhere): not measured");
    }
  } finally {
    await client.close();
  }
}

async function assets(client: Client, options: IndexAssetOptions) {
  const applied = await applyIndexAssets(client, options);
  return { dataStream: applied.dataStream, indexMode: applied.indexMode, source: applied.source };
}

/** The collector's own bulk lines for the dataset, cut into requests of DOCUMENTS_PER_REQUEST creates. */
function bulkBodies(dataset: CostDataset, dataStream: string): Buffer[] {
  const bodies: Buffer[] = [];
  let pending: ReturnType<typeof parseFlowLogText>["documents"] = [];
  for (const blob of dataset.blobs) {
    for (const document of parseFlowLogText(blob.blob.text()).documents) {
      pending.push(document);
      if (pending.length === DOCUMENTS_PER_REQUEST) {
        bodies.push(Buffer.from(toBulkNdjson(pending, dataStream)));
        pending = [];
      }
    }
  }
  if (pending.length) bodies.push(Buffer.from(toBulkNdjson(pending, dataStream)));
  return bodies;
}

async function load(client: Client, bodies: Buffer[], cpu: () => number): Promise<Load> {
  const cpuBefore = cpu();
  const loaderBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  let next = 0;
  let documents = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      // Answers filtered to each item's status and error, as the collector asks for them (sink/elasticsearch.ts).
      const response = await client.transport.request<{ items: Array<Record<string, { status: number; error?: unknown }>> }>(
        { method: "POST", path: "/_bulk", querystring: { require_data_stream: "true", filter_path: "items.*.status,items.*.error" }, bulkBody: body });
      const failed = response.items.find((item) => Object.values(item)[0]!.status >= 300);
      if (failed) throw new Error(`bulk item refused: ${JSON.stringify(failed)}`);
      documents += response.items.length;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const loader = process.cpuUsage(loaderBefore);
  return { documents, seconds: Number(process.hrtime.bigint() - started) / 1e9, esCpuSeconds: cpu() - cpuBefore, loaderCpuSeconds: (loader.user + loader.system) / 1e6 };
}

async function collectEndToEnd(dataset: CostDataset, connectionString: string, esUrl: string, cpu: () => number, settle: () => Promise<void>) {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const source = service.getContainerClient("bench-cost");
  const checkpoints = service.getContainerClient("bench-cost-checkpoints");
  await source.createIfNotExists();
  // Block by block, as Azure committed them, so the collector reads the blobs the way it reads real ones.
  let at = 0;
  const upload = async (): Promise<void> => {
    while (at < dataset.blobs.length) {
      const { name, blob } = dataset.blobs[at++]!;
      const client = source.getBlockBlobClient(name);
      const ids = blob.blocks().map((_, i) => Buffer.from(`block-${String(i).padStart(8, "0")}`).toString("base64"));
      for (const [i, block] of blob.blocks().entries()) await client.stageBlock(ids[i]!, block, block.length);
      await client.commitBlockList(ids);
    }
  };
  await Promise.all(Array.from({ length: 6 }, upload));
  await settle();
  const cpuBefore = cpu();
  const settings = {
    FLOWLOGS_STORAGE_CONNECTION_STRING: connectionString,
    FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_SINK: "elasticsearch",
    FLOWLOGS_ES_URL: esUrl,
    FLOWLOGS_ES_NAMESPACE: "coste2e",
  };
  const result = await collectOnceInChild(settings, "elasticsearch");
  const esCpuSeconds = cpu() - cpuBefore;
  const empty = service.getContainerClient("bench-cost-empty");
  await empty.createIfNotExists();
  const startup = await startupCost(settings, empty.containerName);
  // The same blobs collected twice by one process (fresh checkpoints each pass), measured on the second pass.
  progress("ingest: the same blobs twice through one collector process, into coste2ewarmup then coste2ewarm (measured)");
  let warmEsBefore = NaN;
  const warmRun = await collectWarmInChild(
    { ...settings, FLOWLOGS_ES_NAMESPACE: "coste2ewarm", FLOWLOGS_CHECKPOINT_CONTAINER: `${checkpoints.containerName}-warm` },
    {
      env: { FLOWLOGS_ES_NAMESPACE: "coste2ewarmup", FLOWLOGS_CHECKPOINT_CONTAINER: `${checkpoints.containerName}-warm-up` },
      beforeMeasuredPass: async () => { await settle(); warmEsBefore = cpu(); },
    },
    dataset.tuples,
  );
  const warm = { collectorCpuSeconds: warmRun.cpuSeconds, esCpuSeconds: cpu() - warmEsBefore };
  await service.getContainerClient(`${checkpoints.containerName}-warm`).deleteIfExists();
  await service.getContainerClient(`${checkpoints.containerName}-warm-up`).deleteIfExists();
  const storage = await storageRequestsCpu(source, (run) => service.getContainerClient(`bench-cost-floor-${run}`), dataset.tuples);
  await source.deleteIfExists();
  await checkpoints.deleteIfExists();
  await empty.deleteIfExists();
  return { documents: result.documents, seconds: result.seconds, esCpuSeconds, collectorCpuSeconds: result.cpuSeconds, startupCpuSeconds: startup.cpuSeconds, startupSeconds: startup.seconds, storage, warm };
}

async function expectCount(client: Client, dataStream: string, expected: number): Promise<void> {
  await client.indices.refresh({ index: dataStream });
  const { count } = await client.count({ index: dataStream });
  if (count !== expected) throw new Error(`${dataStream} holds ${count} documents, ${expected} tuples were written`);
}

async function forceMergedBytes(client: Client, dataStream: string): Promise<number> {
  await client.indices.forcemerge({ index: dataStream, max_num_segments: 1 });
  const stats = await client.indices.stats({ index: dataStream, metric: ["store"] });
  return stats._all.primaries!.store!.size_in_bytes;
}
