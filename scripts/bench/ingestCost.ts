// What a flow costs Elasticsearch, on one generated dataset (scripts/bench/costDataset.ts, 316,800 VNet tuples):
// - disk_bytes_per_tuple: force-merged store ÷ documents, for the templates the cluster gets (logsdb where it has
//   it), and disk_bytes_per_tuple_standard for the same documents in the standard index mode;
// - es_only_*: the ceiling, pre-built `_bulk` bodies (2,000 creates per request, 2 in flight, answers filtered as the
//   collector filters them) straight into the data stream, and what that loader itself spent (the sending part of
//   collector_cpu_share_floor);
// - e2e_*: the same blobs from Azurite through the shipped collector with its default settings (endToEnd.ts);
// - collector_cpu_share: the collector's CPU over Elasticsearch's for those blobs, as measured (a process that
//   starts, collects once and exits) and `_after_startup`, less a run of the same settings on an empty container;
//   `_warm`: the second pass of one process that collects the blobs twice (first into a warm-up namespace), as the
//   service runs once V8 has compiled its hot code.
// - collector_cpu_share_floor(_with_storage, _with_startup): what the share could at best be, for the pipeline and
//   sending alone, then with the collector's own Azure requests for these blobs (storageFloor.ts), then with its
//   start-up too, as collector_cpu_share has it.
// The targets are medians (#12): the load and the end-to-end run are repeated ROUNDS times, each round one load then
// one run, each into data streams of its own, so that both figures of a round face the same moment of the machine;
// ratios are taken per round, then their median. Disk is measured on the first round's data streams.
// Elasticsearch's CPU comes from /proc (process tree), the figure that stays meaningful on a loaded machine; a
// warm-up load runs first so neither measured run pays for a cold JVM (its cost is printed too: measuring the
// collector against a node that just started is what once made the end-to-end path look five times as costly).
import { availableParallelism } from "node:os";
import { Client } from "@elastic/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import type { IndexAssetOptions } from "../../dashboards/src/indexAssets";
import { parseFlowLogText } from "../../collector/src/format";
import { toBulkNdjson } from "../../collector/src/ecs";
import type { CostDataset } from "./costDataset";
import type { ParseFigures } from "./parse";
import { EndToEnd, type EndToEndRun, type OneTimeFigures } from "./endToEnd";
import { treeCpuSeconds } from "./processCpu";
import { backgroundWork, indexWork, untilMergesSettle } from "./elasticsearchMerges";
import { median, progress, report } from "./stats";

const DOCUMENTS_PER_REQUEST = 2000;
const IN_FLIGHT = 2;
const ROUNDS = 3;
// The whole dataset (316,800), as often as this: with 60,000 the first measured run still paid for JIT warm-up (50 µs/doc
// against 43); with 160,000 (until the twenty-second session) the node still got cheaper per document round after round
// (es_only 117.6, 102.6, 90.0 µs), which flattered the first round's collector_cpu_share.
const WARM_UP_PASSES = 2;

interface Load {
  documents: number;
  seconds: number;
  esCpuSeconds: number;
  /** This process's CPU for the load: sending the bodies and reading the answers, as any loader must. */
  loaderCpuSeconds: number;
}

export async function benchIngestCost(
  dataset: CostDataset, connectionString: string, esUrl: string, esPid: number | undefined, parse: ParseFigures, azuritePid?: number,
): Promise<void> {
  const client = new Client({ node: esUrl, requestTimeout: 600_000 });
  const cpu = (): number => (esPid ? treeCpuSeconds(esPid) : NaN);
  const azuriteCpu = (): number => (azuritePid ? treeCpuSeconds(azuritePid) : NaN);
  const settle = (): Promise<void> => untilMergesSettle(client);
  try {
    const streams = {
      e2eWarmUp: await assets(client, { namespace: "coste2ewarmup" }),
      e2eWarm: await assets(client, { namespace: "coste2ewarm" }),
      standard: await assets(client, { namespace: "coststd", indexMode: "standard" }),
    };
    const bodies = (dataStream: string): Buffer[] => bulkBodies(dataset, dataStream);

    progress(`ingest: warming Elasticsearch up with ${WARM_UP_PASSES} x ${dataset.tuples} documents (not counted in the figures below)`);
    const warmUpBodies: Buffer[] = [];
    for (let pass = 0; pass < WARM_UP_PASSES; pass++) { // each pass into a stream of its own: a re-sent create only answers 409
      warmUpBodies.push(...bodies((await assets(client, { namespace: `costwarm${pass || ""}` })).dataStream));
    }
    const warm = await load(client, warmUpBodies, cpu);

    const endToEnd = new EndToEnd(connectionString, esUrl, { es: cpu, azurite: azuriteCpu }, settle);
    await endToEnd.upload(dataset);
    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const suffix = round === 0 ? "" : String(round);
      const onlyAssets = await assets(client, { namespace: `costonly${suffix}` });
      const e2eAssets = await assets(client, { namespace: `coste2e${suffix}` });
      await settle();
      progress(`ingest, round ${round + 1} of ${ROUNDS}: Elasticsearch alone, ${dataset.tuples} documents as pre-built bulk bodies into ${onlyAssets.dataStream}`);
      const beforeOnly = await indexWork(client);
      const only = await load(client, bodies(onlyAssets.dataStream), cpu);
      const afterOnly = await indexWork(client);
      await expectCount(client, onlyAssets.dataStream, dataset.tuples);
      progress(`ingest, round ${round + 1} of ${ROUNDS}: end to end, ${dataset.blobs.length} blobs from Azurite through the collector into ${e2eAssets.dataStream}`);
      await settle();
      const beforeE2e = await indexWork(client);
      const e2e = await endToEnd.collectOnce(`coste2e${suffix}`);
      const afterE2e = await indexWork(client);
      await expectCount(client, e2eAssets.dataStream, dataset.tuples);
      progress(`ingest, round ${round + 1}: during the load ${backgroundWork(beforeOnly, afterOnly)}; during the run ${backgroundWork(beforeE2e, afterE2e)}, ` +
        `Azurite ${e2e.azuriteCpuSeconds.toFixed(2)} CPU s`);
      progress(`ingest, round ${round + 1}: Elasticsearch alone ${(only.documents / only.seconds).toFixed(0)} docs/s, ` +
        `end to end ${(e2e.documents / e2e.seconds).toFixed(0)} docs/s; collector ${e2e.collectorCpuSeconds.toFixed(2)} CPU s ` +
        `(main thread ${e2e.mainThreadCpuSeconds.toFixed(2)}), Elasticsearch ${e2e.esCpuSeconds.toFixed(1)} CPU s`);
      // The test distribution has no DELETE _data_stream: later rounds' streams stay (merges settle before each run).
      rounds.push({ only, e2e, streams: { only: onlyAssets, e2e: e2eAssets } });
    }
    const once = await endToEnd.oneTimeFigures(dataset.tuples, "coste2ewarmup", "coste2ewarm");
    await expectCount(client, streams.e2eWarm.dataStream, dataset.tuples);
    await endToEnd.removeBlobs();

    progress(`ingest: the same documents in the standard index mode, for the disk comparison`);
    await load(client, bodies(streams.standard.dataStream), cpu);
    await expectCount(client, streams.standard.dataStream, dataset.tuples);

    const first = rounds[0]!.streams;
    const disk = await forceMergedBytes(client, first.only.dataStream);
    const diskStandard = await forceMergedBytes(client, streams.standard.dataStream);
    const diskE2e = await forceMergedBytes(client, first.e2e.dataStream);
    report("disk_bytes_per_tuple", disk / dataset.tuples, 1,
      `index.mode ${first.only.indexMode.mode}, _source ${first.only.source} (${first.only.indexMode.reason}); ` +
      `raw PT1H.json ${(dataset.bytes / dataset.tuples).toFixed(1)} B/tuple; the collector's own writes ${(diskE2e / dataset.tuples).toFixed(1)}`);
    report("disk_bytes_per_tuple_standard", diskStandard / dataset.tuples, 1, "same documents, index.mode standard, _source stored");
    reportSpeed(rounds, once, warm, parse, dataset, esPid !== undefined);
  } finally {
    await client.close();
  }
}

interface Round {
  only: Load;
  e2e: EndToEndRun;
  /** Disk is measured on the first round's. */
  streams: { only: IndexAssets; e2e: IndexAssets };
}

/** Each figure is the median over the rounds of its per-round value; notes list the rounds' values in order. */
function reportSpeed(rounds: Round[], once: OneTimeFigures, warm: Load, parse: ParseFigures, dataset: CostDataset, esCpuKnown: boolean): void {
  // `values`: the rounds' values in order; `list`: the same, printed after "rounds".
  const each = (value: (round: Round) => number, digits: number): { median: number; values: string; list: string } => {
    const values = rounds.map(value).map((v) => v.toFixed(digits)).join(", ");
    return { median: median(rounds.map(value)), values, list: `rounds ${values}` };
  };
  const onlyRate = each(({ only }) => only.documents / only.seconds, 0);
  const e2eRate = each(({ e2e }) => e2e.documents / e2e.seconds, 0);
  report("es_only_docs_per_s", onlyRate.median, 0,
    `${onlyRate.list}; ${dataset.tuples} documents, ${DOCUMENTS_PER_REQUEST} per request, ${IN_FLIGHT} in flight; wall clock, noisy on a loaded machine`);
  report("e2e_docs_per_s", e2eRate.median, 0, `${e2eRate.list}; wall clock, noisy on a loaded machine`);
  const vsOnly = each(({ only, e2e }) => (e2e.documents / e2e.seconds) / (only.documents / only.seconds), 3);
  report("e2e_vs_es_only", vsOnly.median, 3, vsOnly.list);
  // The collector's wall time includes its one-time start-up (geo/AS databases, checkpoint container), which the
  // loader does not pay and the service pays once: the same ratio without it, as collector_cpu_share_after_startup.
  const vsOnlyAfterStartup = each(({ only, e2e }) => only.seconds / (e2e.seconds - once.startupSeconds), 3);
  report("e2e_vs_es_only_after_startup", vsOnlyAfterStartup.median, 3,
    `${vsOnlyAfterStartup.list}; end to end less ${once.startupSeconds.toFixed(2)} s of start-up (median of 3 runs on an empty container)`);
  if (!esCpuKnown) {
    progress("Elasticsearch CPU figures need the Elasticsearch started here (ES_URL points elsewhere): not measured");
    return;
  }
  const usPerDoc = (seconds: number, documents: number): number => seconds * 1e6 / documents;
  const esOnly = each(({ only }) => usPerDoc(only.esCpuSeconds, only.documents), 1);
  const esE2e = each(({ e2e }) => usPerDoc(e2e.esCpuSeconds, e2e.documents), 1);
  const esRatio = each(({ only, e2e }) => usPerDoc(e2e.esCpuSeconds, e2e.documents) / usPerDoc(only.esCpuSeconds, only.documents), 2);
  report("es_cpu_us_per_doc_es_only", esOnly.median, 1, esOnly.list);
  report("es_cpu_us_per_doc_e2e", esE2e.median, 1, `${esE2e.list}; per round ${esRatio.values} x es_only, median ${esRatio.median.toFixed(2)} x`);
  report("es_cpu_us_per_doc_warm_up", usPerDoc(warm.esCpuSeconds, warm.documents), 1,
    `the first ${warm.documents} documents, pre-built bodies: a node that just started (cold JVM) pays this much more`);
  const share = each(({ e2e }) => e2e.collectorCpuSeconds / e2e.esCpuSeconds, 3);
  const collector = each(({ e2e }) => e2e.collectorCpuSeconds, 2);
  const mainThread = each(({ e2e }) => e2e.mainThreadCpuSeconds, 2);
  report("collector_cpu_share", share.median, 3,
    `${share.list}; collector CPU s ${collector.values} (main thread ${mainThread.values}: the rest is V8 compiling and collecting ` +
    `on its own threads); the one-time start-up included`);
  // The measured collector is a process that starts, collects once and exits; the service starts once and runs
  // for days. Its start-up (node, modules, geo/AS databases), measured on an empty container, is left out here.
  const steady = each(({ e2e }) => (e2e.collectorCpuSeconds - once.startupCpuSeconds) / e2e.esCpuSeconds, 3);
  report("collector_cpu_share_after_startup", steady.median, 3,
    `${steady.list}; less the start-up (${once.startupCpuSeconds.toFixed(2)} CPU s, median of 3 runs on an empty container, same settings)`);
  report("collector_cpu_share_warm", once.warm.collectorCpuSeconds / once.warm.esCpuSeconds, 3,
    `collector ${once.warm.collectorCpuSeconds.toFixed(1)} CPU s = ${usPerDoc(once.warm.collectorCpuSeconds, dataset.tuples).toFixed(1)} µs/doc ` +
    `(main thread ${once.warm.mainThreadCpuSeconds.toFixed(1)}), ` +
    `Elasticsearch ${once.warm.esCpuSeconds.toFixed(1)} CPU s = ${usPerDoc(once.warm.esCpuSeconds, dataset.tuples).toFixed(1)} µs/doc, on the second pass ` +
    `of one process over the same blobs: the service's cost once V8 has compiled its hot code (a one-pass run pays that every time)`);
  // The least any collector emitting these documents spends: the pipeline (parse, map, ids, bulk lines; parse
  // bench, enriched) plus what the loader above spent sending the finished bodies and reading the answers.
  // Reading blobs, checkpoints and the garbage collector's share of those come on top of it. Over the median
  // end-to-end Elasticsearch CPU.
  const esCpuSeconds = esE2e.median * dataset.tuples / 1e6;
  const loaderUsPerDoc = each(({ only }) => usPerDoc(only.loaderCpuSeconds, only.documents), 2);
  const floorUsPerDoc = parse.enrichedCpuUsPerTuple + loaderUsPerDoc.median;
  report("es_only_loader_cpu_us_per_doc", loaderUsPerDoc.median, 2, `${loaderUsPerDoc.list}; this process's CPU sending the pre-built bodies and reading the (filtered) answers`);
  report("collector_cpu_share_floor", floorUsPerDoc * dataset.tuples / 1e6 / esCpuSeconds, 3,
    `pipeline ${parse.enrichedCpuUsPerTuple.toFixed(1)} µs/tuple (enriched) + sending ${loaderUsPerDoc.median.toFixed(1)} µs/doc = ${floorUsPerDoc.toFixed(1)} µs/doc, ` +
    `over Elasticsearch's end-to-end CPU: what collector_cpu_share_after_startup could at best be with no blob reading at all`);
  // The same with the collector's own storage requests for these blobs (storageFloor.ts): the least a collector
  // on the Azure SDK that checkpoints each blob once could spend, before any garbage collection of its own.
  const { storage } = once;
  const storageUsPerDoc = storage.readsUsPerDoc + storage.checkpointsUsPerDoc;
  report("storage_requests_cpu_us_per_doc", storageUsPerDoc, 2,
    `${storage.requestsPerBlob} Azure requests per blob (${dataset.tuples / dataset.blobs.length} documents): reads ${storage.readsUsPerDoc.toFixed(2)} µs/doc ` +
    `(block list, one ranged download), checkpoints ${storage.checkpointsUsPerDoc.toFixed(2)} (peek, create, lease, try, write, release); median of 3, SDK warm`);
  report("collector_cpu_share_floor_with_storage", (floorUsPerDoc + storageUsPerDoc) * dataset.tuples / 1e6 / esCpuSeconds, 3,
    `${(floorUsPerDoc + storageUsPerDoc).toFixed(1)} µs/doc: collector_cpu_share_floor plus the storage requests, over Elasticsearch's end-to-end CPU`);
  // collector_cpu_share (the #12 target) includes the one-time start-up: its floor does too.
  const floorCpuSeconds = (floorUsPerDoc + storageUsPerDoc) * dataset.tuples / 1e6 + once.startupCpuSeconds;
  report("collector_cpu_share_floor_with_startup", floorCpuSeconds / esCpuSeconds, 3,
    `collector_cpu_share_floor_with_storage plus the start-up (${once.startupCpuSeconds.toFixed(2)} CPU s: node, the SDKs and the clients loaded, ` +
    `the geo/AS tables): the least collector_cpu_share could be, against its ${share.median.toFixed(3)} here`);
  // On a machine where Elasticsearch, the collector and Azurite share the cores, the end-to-end run cannot finish
  // faster than their CPU seconds spread over every core: what e2e_vs_es_only could at best be here. (In Azure the
  // storage service and the collector run on cores of their own.)
  const cores = availableParallelism();
  const storageCpu = ({ e2e }: Round): number => (Number.isNaN(e2e.azuriteCpuSeconds) ? 0 : e2e.azuriteCpuSeconds);
  const ceiling = each((round) => round.only.seconds / ((round.e2e.esCpuSeconds + round.e2e.collectorCpuSeconds + storageCpu(round)) / cores), 3);
  const azurite = each(storageCpu, 2);
  report("e2e_vs_es_only_ceiling_here", ceiling.median, 3,
    `${ceiling.list}; Elasticsearch, the collector and Azurite (CPU s ${azurite.values}) on the same ${cores} cores: the end to end run's ` +
    `CPU seconds spread over every core, against Elasticsearch alone's wall time`);
}

type IndexAssets = Awaited<ReturnType<typeof assets>>;

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
