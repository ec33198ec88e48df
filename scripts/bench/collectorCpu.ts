// The collector's CPU per document on the end-to-end path alone, repeated, for work on collector_cpu_share without
// the whole `npm run bench`: the cost dataset (316,800 VNet tuples) from Azurite through the built collector
// (collector/dist, the image's NODE_OPTIONS) into a real Elasticsearch, `--runs` times, each into a new namespace
// with fresh checkpoints, printing the collector's CPU µs per document (process CPU, not wall clock: the figure
// that holds on a shared machine) and Elasticsearch's. Each run is a process that starts, collects once and exits,
// so it also pays the one-time start-up (node, modules, the geo/AS databases: measured by a run of the same build on
// an empty container next to each run); `*_after_startup` figures leave it out, as the long-running service does.
// Next to each run, `*_warm` figures: one process collects the dataset twice, measured on the second pass only, so
// they also leave out V8 compiling the hot code, which the service pays once after it starts and a one-pass run pays
// every time. Elasticsearch's merges settle before every measured pass.
//   node --import tsx scripts/bench/collectorCpu.ts [--runs 3] [--base DIR] [--profile DIR]
// --args "...": node flags for the current build's runs (e.g. V8 heap flags), given after the image's own (the
//   Dockerfile's ENTRYPOINT and NODE_OPTIONS), so a flag named again overrides it; --base-args: the same for the base.
// --env "K=V ...": environment for the current build's runs over the image's (e.g. MALLOC_MMAP_THRESHOLD_=2097152);
//   --base-env: the same for the base.
// --base DIR: another build of the collector (e.g. `tsc -p collector/tsconfig.build.json --outDir DIR` at an older
//   commit, inside this checkout so its node_modules resolve), run alternately with collector/dist in the same
//   session, so both face the same machine load. --profile DIR: write a --cpu-prof of every run there.
import { BlobServiceClient } from "@azure/storage-blob";
import { Client } from "@elastic/elasticsearch";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { startAzurite } from "../../test/support/azurite";
import { startElasticsearch } from "../../test/support/elasticsearch";
import { costDataset } from "./costDataset";
import { uploadAsAzureCommits } from "./endToEnd";
import { DIST, buildCollector, collectOnceInChild, collectWarmInChild, startupCost } from "./imageRuntime";
import { untilMergesSettle } from "./elasticsearchMerges";
import { treeCpuSeconds } from "./processCpu";
import { median, progress, report } from "./stats";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "3" }, base: { type: "string" }, profile: { type: "string" },
      args: { type: "string", default: "" }, "base-args": { type: "string", default: "" },
      env: { type: "string", default: "" }, "base-env": { type: "string", default: "" },
    },
  });
  const runs = Number(values.runs);
  const words = (text: string): string[] => text.split(" ").filter(Boolean);
  const builds = [
    { name: "current", dist: DIST, nodeArgs: words(values.args), env: environment(values.env) },
    ...(values.base || values["base-args"] || values["base-env"]
      ? [{ name: "base", dist: values.base ? resolve(values.base) : DIST, nodeArgs: words(values["base-args"]), env: environment(values["base-env"]) }]
      : []),
  ];
  progress("generating the cost dataset");
  const dataset = await costDataset();
  progress("building the collector (collector/dist)");
  buildCollector();
  const azurite = await startAzurite();
  const es = await startElasticsearch({ log: (line) => progress(`elasticsearch: ${line}`) });
  const client = new Client({ node: es.url, requestTimeout: 600_000 });
  try {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const source = service.getContainerClient("cpu-source");
    await uploadAsAzureCommits(source, dataset);
    const empty = service.getContainerClient("cpu-empty");
    await empty.createIfNotExists();
    const figures = new Map(builds.map((b) => [b.name, {
      collector: [] as number[], es: [] as number[], startup: [] as number[], warmCollector: [] as number[], warmEs: [] as number[],
    }]));
    // One unmeasured run first: a node that just started pays for its cold JVM (scripts/bench/ingestCost.ts).
    const ES_WARM_UP = "es-warm-up";
    // Pairs alternate which build goes first (A B B A A B ...): with the same build on both sides (an A/A run of
    // 4 pairs, PERFORMANCE.md, twenty-third session) the one run first was cheaper in all 4 pairs, by 8 % in medians.
    const names = builds.map((b) => b.name);
    const order = [ES_WARM_UP, ...Array.from({ length: runs }, (_, run) => run % 2 === 0 ? names : [...names].reverse()).flat()];
    for (const [i, name] of order.entries()) {
      const build = builds.find((b) => b.name === name) ?? builds[0]!;
      const namespace = `cpu${i}`;
      await applyIndexAssets(client, { namespace });
      const settings = {
        FLOWLOGS_STORAGE_CONNECTION_STRING: azurite.connectionString,
        FLOWLOGS_CONTAINERS: source.containerName,
        FLOWLOGS_CHECKPOINT_CONTAINER: `cpu-checkpoints-${i}`,
        FLOWLOGS_SINK: "elasticsearch",
        FLOWLOGS_ES_URL: es.url,
        FLOWLOGS_ES_NAMESPACE: namespace,
        ...build.env,
      };
      const startup = name === ES_WARM_UP ? 0 : (await startupCost(settings, `${empty.containerName}-${i}`, { dist: build.dist, nodeArgs: build.nodeArgs }, 1)).cpuSeconds;
      await untilMergesSettle(client);
      const esBefore = treeCpuSeconds(es.pid!);
      const result = await collectOnceInChild(settings, "elasticsearch", {
        dist: build.dist,
        nodeArgs: [...build.nodeArgs, ...(values.profile && name !== ES_WARM_UP ? ["--cpu-prof", `--cpu-prof-dir=${resolve(values.profile, name)}`] : [])],
      });
      const esCpu = treeCpuSeconds(es.pid!) - esBefore;
      if (result.documents !== dataset.tuples) throw new Error(`run ${i} (${name}) wrote ${result.documents} of ${dataset.tuples} documents`);
      const perDoc = { collector: result.cpuSeconds * 1e6 / result.documents, es: esCpu * 1e6 / result.documents };
      progress(`${name}: collector ${perDoc.collector.toFixed(1)} µs/doc (${result.cpuSeconds.toFixed(1)} CPU s: main thread ${result.mainThreadCpuSeconds.toFixed(1)}, kernel ${result.systemCpuSeconds.toFixed(1)}` +
        `${name === ES_WARM_UP ? "" : `, start-up on an empty container ${startup.toFixed(2)} CPU s`}), ` +
        `Elasticsearch ${perDoc.es.toFixed(1)} µs/doc, ${result.seconds.toFixed(1)} s wall, peak RSS ${result.maxRssMb.toFixed(0)} MB`);
      if (name === ES_WARM_UP) continue;
      const f = figures.get(name)!;
      f.collector.push(result.cpuSeconds);
      f.es.push(perDoc.es);
      f.startup.push(startup);
      const warm = await collectWarm(client, es.pid!, settings, i, dataset.tuples, build);
      f.warmCollector.push(warm.collectorCpuSeconds);
      f.warmEs.push(warm.esUsPerDoc);
      progress(`${name}, warm process: collector ${perDoc.collector.toFixed(1)} → ${(warm.collectorCpuSeconds * 1e6 / dataset.tuples).toFixed(1)} µs/doc ` +
        `on its second pass (${warm.collectorCpuSeconds.toFixed(1)} CPU s), Elasticsearch ${warm.esUsPerDoc.toFixed(1)} µs/doc`);
    }
    const perDoc = (seconds: number): number => seconds * 1e6 / dataset.tuples;
    for (const [name, f] of figures) {
      const raw = f.collector.map(perDoc);
      const startup = median(f.startup);
      const afterStartup = f.collector.map((seconds) => perDoc(seconds - startup));
      report(`${name}_collector_cpu_us_per_doc`, median(raw), 1, `median of ${raw.length}: ${raw.map((v) => v.toFixed(1)).join(", ")}; start-up included`);
      report(`${name}_collector_startup_cpu_s`, startup, 2, `a run on an empty container, same settings (median of ${f.startup.map((v) => v.toFixed(2)).join(", ")})`);
      report(`${name}_collector_cpu_us_per_doc_after_startup`, median(afterStartup), 1,
        `the same runs less the start-up: ${afterStartup.map((v) => v.toFixed(1)).join(", ")}`);
      report(`${name}_es_cpu_us_per_doc`, median(f.es), 1);
      report(`${name}_collector_cpu_share`, median(raw) / median(f.es), 3, "start-up included");
      report(`${name}_collector_cpu_share_after_startup`, median(afterStartup) / median(f.es), 3);
      const warm = f.warmCollector.map(perDoc);
      report(`${name}_collector_cpu_us_per_doc_warm`, median(warm), 1,
        `second pass of a process that collected the dataset once before: ${warm.map((v) => v.toFixed(1)).join(", ")}`);
      report(`${name}_es_cpu_us_per_doc_warm`, median(f.warmEs), 1, `over those second passes: ${f.warmEs.map((v) => v.toFixed(1)).join(", ")}`);
      report(`${name}_collector_cpu_share_warm`, median(warm) / median(f.warmEs), 3,
        `per run: ${warm.map((v, k) => (v / f.warmEs[k]!).toFixed(3)).join(", ")}`);
    }
  } finally {
    await client.close();
    await es.stop();
    await azurite.stop();
  }
}

/**
 * One warm process (collectWarmInChild) over the run's settings: its warm-up pass into namespace cpu<run>warmup,
 * its measured pass into cpu<run>warm, each with checkpoints of its own. Elasticsearch's CPU over the measured pass.
 */
async function collectWarm(
  client: Client, esPid: number, settings: Record<string, string>, run: number, documents: number, build: { dist: string; nodeArgs: string[] },
): Promise<{ collectorCpuSeconds: number; esUsPerDoc: number }> {
  const namespace = { warmUp: `cpu${run}warmup`, measured: `cpu${run}warm` };
  await applyIndexAssets(client, { namespace: namespace.warmUp });
  await applyIndexAssets(client, { namespace: namespace.measured });
  let esBefore = NaN;
  const result = await collectWarmInChild(
    { ...settings, FLOWLOGS_ES_NAMESPACE: namespace.measured, FLOWLOGS_CHECKPOINT_CONTAINER: `cpu-checkpoints-${run}-warm` },
    {
      env: { FLOWLOGS_ES_NAMESPACE: namespace.warmUp, FLOWLOGS_CHECKPOINT_CONTAINER: `cpu-checkpoints-${run}-warm-up` },
      beforeMeasuredPass: async () => { await untilMergesSettle(client); esBefore = treeCpuSeconds(esPid); },
    },
    documents, { dist: build.dist, nodeArgs: build.nodeArgs },
  );
  return { collectorCpuSeconds: result.cpuSeconds, esUsPerDoc: (treeCpuSeconds(esPid) - esBefore) * 1e6 / result.documents };
}

/** "K=V K2=V2" as an environment. */
function environment(text: string): Record<string, string> {
  return Object.fromEntries(text.split(" ").filter(Boolean).map((pair) => {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--env/--base-env: ${pair} is not NAME=value`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
