// The collector's CPU per document when it tails blobs minute by minute, as in production (issue #12 follow-up):
// N NICs' VNet PT1H.json on Azurite (the cost dataset's NICs and traffic), the built collector (collector/dist, the
// image's node flags and env) running as the long-running `run` service, and M rounds, each appending one minute
// (2 records × 55 tuples) to every blob and waiting for the poll that indexed it into a real Elasticsearch.
// CPU comes from /proc (CPU seconds, not wall clock: another engineer may be running benchmarks), sampled between
// rounds, so start-up is paid once, as the service does. The service polls every second here, not every minute, so
// a round also holds polls that found nothing; their cost (an idle phase measures it per poll) is taken out of the
// steady-state figure (`_per_doc`), and given with it too (`_raw`). Azure requests are counted by a loopback proxy
// in front of Azurite that only the collector talks to. Exact counts are checked in Elasticsearch at the end.
//   node --import tsx scripts/bench/tailingCpu.ts [--nics 16] [--rounds 20] [--warm-up 10] [--minutes-per-round 1] [--concurrency N] [--dist DIR] [--args "..."] [--profile DIR]
// --warm-up: rounds before the measured ones (JIT and Elasticsearch settle: the first ten cost up to twice as much).
// --keep-leases on|off|auto: FLOWLOGS_KEEP_LEASES of the service (default on: what production's polls 60 s apart get).
// --minutes-per-round K: each measured round appends K minutes to every blob before the poll reads them (default 1):
//   what a service polling every K minutes (FLOWLOGS_POLL_INTERVAL_SECONDS=60K) pays per flow; warm-up rounds append one.
// --concurrency N: FLOWLOGS_CONCURRENCY of the service (default: the collector's, 4): jobs at once, and so how many
//   jobs' documents one shared bulk request can carry.
// --dist DIR: another build of the collector (as in collectorCpu.ts --base), to compare builds run after run.
// --args "...": node flags after the image's own (as collectorCpu.ts --args), to compare V8 flags run after run.
// --profile DIR: --cpu-prof of the service; prints where its time went during the measured rounds, by source. V8
//   samples wall time on the main thread, so a thread descheduled inside a system call (a loopback socket write
//   waking Azurite on a loaded machine) is charged there: read it with the user/system CPU split printed above it.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BlobServiceClient } from "@azure/storage-blob";
import { Client } from "@elastic/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { AZURITE_ACCOUNT, startAzurite } from "../../test/support/azurite";
import { startElasticsearch } from "../../test/support/elasticsearch";
import { startFaultyProxy } from "../../test/support/faultyProxy";
import { FlowLogBlobWriter, VNET_CONTAINER } from "../../test/support/flowLogWriter";
import { RECORDS_PER_MINUTE, TUPLES_PER_RECORD, costBlobSpec } from "./costDataset";
import { profileShares } from "./cpuProfile";
import { DIST, buildCollector, imageMemoryEnvironment, imageNodeFlags } from "./imageRuntime";
import { ensureImageNode } from "../image-node";
import { processCpuSeconds, treeCpuSeconds } from "./processCpu";
import { mean, median, progress, report } from "./stats";

const IDLE_POLLS = 10;

interface Sample {
  collector: number;
  collectorSystem: number;
  es: number;
  polls: number;
  requests: number;
  atUs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    nics: { type: "string", default: "16" }, rounds: { type: "string", default: "20" }, "warm-up": { type: "string", default: "10" },
    dist: { type: "string" }, profile: { type: "string" }, concurrency: { type: "string" }, args: { type: "string", default: "" },
    "keep-leases": { type: "string", default: "on" }, "minutes-per-round": { type: "string", default: "1" },
  } });
  const nics = Number(values.nics);
  const rounds = Number(values.rounds);
  const warmUp = Number(values["warm-up"]);
  const minutesPerRound = Number(values["minutes-per-round"]);
  const minutes = 1 + warmUp + rounds * minutesPerRound;
  if (!(nics >= 1) || !(rounds >= 1) || !(warmUp >= 0) || !Number.isInteger(minutesPerRound) || !(minutesPerRound >= 1) || minutes > 60) {
    throw new Error("--nics must be at least 1, --rounds and --minutes-per-round at least 1, and 1 + --warm-up + --rounds × --minutes-per-round " +
      "at most 60 (one hour's blob, one minute per warm-up round)");
  }
  const dist = values.dist ? resolve(values.dist) : DIST;
  if (!values.dist) {
    progress("building the collector (collector/dist)");
    buildCollector();
  }
  const azurite = await startAzurite();
  const proxy = await startFaultyProxy(azurite.blobUrl.slice(0, -AZURITE_ACCOUNT.length - 1), () => "forward");
  const es = await startElasticsearch({ log: (line) => progress(`elasticsearch: ${line}`) });
  const client = new Client({ node: es.url, requestTimeout: 600_000 });
  let service: ReturnType<typeof startService> | undefined;
  try {
    const namespace = "tailing";
    const { dataStream } = await applyIndexAssets(client, { namespace });
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(VNET_CONTAINER);
    await container.createIfNotExists();
    // The current hour, so the blobs are live (not marked done) all along; a blob's minutes go up to 59.
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const writers = Array.from({ length: nics }, (_, nic) => new FlowLogBlobWriter(container, costBlobSpec(nic, hour, 5000 + nic)));
    const appendMinutes = (count: number) =>
      Promise.all(writers.map((w) => w.appendMinutes(count, { records: RECORDS_PER_MINUTE, tuplesPerRecord: TUPLES_PER_RECORD })));
    const written = () => writers.reduce((n, w) => n + w.tuples, 0);
    await appendMinutes(1);

    service = startService(await ensureImageNode(), {
      FLOWLOGS_STORAGE_CONNECTION_STRING: azurite.connectionString.replace(azurite.blobUrl, `${proxy.url}/${AZURITE_ACCOUNT}`),
      FLOWLOGS_CONTAINERS: VNET_CONTAINER,
      FLOWLOGS_CHECKPOINT_CONTAINER: "tailing-checkpoints",
      FLOWLOGS_SINK: "elasticsearch",
      FLOWLOGS_ES_URL: es.url,
      FLOWLOGS_ES_NAMESPACE: namespace,
      FLOWLOGS_POLL_INTERVAL_SECONDS: "1",
      // In production polls come every 60 s and 30 s leases run out in between, so finished jobs keep their leases
      // (FLOWLOGS_KEEP_LEASES=auto). Polls every second would turn that off: on, as there.
      FLOWLOGS_KEEP_LEASES: values["keep-leases"],
      FLOWLOGS_METRICS_PORT: "off",
      ...(values.concurrency ? { FLOWLOGS_CONCURRENCY: values.concurrency } : {}),
    }, dist, values.args.split(" ").filter(Boolean), values.profile ? resolve(values.profile) : undefined);
    const sample = (): Sample => ({
      collector: treeCpuSeconds(service!.pid), collectorSystem: processCpuSeconds(service!.pid).system, es: treeCpuSeconds(es.pid!), polls: service!.polls(), requests: proxy.seen.length,
      atUs: Number(process.hrtime.bigint() / 1000n),
    });
    // A round ends with the poll that indexed its last document (its jobs are over by then). Its minutes are
    // committed at once, so no poll reads part of them: one job per blob and round, as polls K minutes apart.
    const round = async (count: number): Promise<void> => {
      await appendMinutes(count);
      await service!.indexed(written());
    };
    progress(`start-up and ${warmUp} warm-up rounds (not counted)`);
    await service.indexed(written());
    for (let i = 0; i < warmUp; i++) await round(1);

    // Polls that find nothing new: one listing each. Measured to take them out of the rounds.
    const idleStart = sample();
    const idleRequestsFrom = proxy.seen.length;
    await service.waitForPolls(idleStart.polls + IDLE_POLLS);
    const idleEnd = sample();
    const idlePolls = idleEnd.polls - idleStart.polls;
    const idlePerPoll = (idleEnd.collector - idleStart.collector) / idlePolls;
    const idleRequestsPerPoll = (idleEnd.requests - idleStart.requests) / idlePolls;
    // What the node spends with no document coming (its own housekeeping), per second: part of every round's figure.
    const esIdleMsPerSecond = (idleEnd.es - idleStart.es) * 1e3 / ((idleEnd.atUs - idleStart.atUs) / 1e6);
    progress(`idle: ${(idlePerPoll * 1e3).toFixed(1)} CPU ms and ${idleRequestsPerPoll.toFixed(1)} requests per poll ` +
      `(${[...new Set(proxy.seen.slice(idleRequestsFrom).map(requestKind))].join(", ")})`);

    const perRound: Array<{ collector: number; raw: number; es: number; requests: number; polls: number; ms: number }> = [];
    const kinds = new Map<string, number>();
    // Bulk requests the node took, from its shard-level bulk stats (one primary shard: one operation per request),
    // read at both ends of the measured rounds only, so the reading costs the node nothing per round.
    const bulkFrom = await shardBulks(client);
    const measuredFrom = sample();
    let before = measuredFrom;
    for (let i = 0; i < rounds; i++) {
      await round(minutesPerRound);
      const after = sample();
      const polls = after.polls - before.polls;
      const raw = after.collector - before.collector;
      const idleRequests = (polls - 1) * idleRequestsPerPoll;
      for (const seen of proxy.seen.slice(before.requests)) kinds.set(requestKind(seen), (kinds.get(requestKind(seen)) ?? 0) + 1);
      perRound.push({ collector: raw - (polls - 1) * idlePerPoll, raw, es: after.es - before.es, requests: after.requests - before.requests - idleRequests, polls, ms: (after.atUs - before.atUs) / 1e3 });
      progress(`round ${i + 1}: collector ${(raw * 1e3).toFixed(0)} CPU ms over ${polls} polls, Elasticsearch ${((after.es - before.es) * 1e3).toFixed(0)} CPU ms, ${after.requests - before.requests} Azure requests`);
      before = after;
    }
    const measuredTo = sample();
    const bulksPerRound = (await shardBulks(client) - bulkFrom) / rounds;
    progress(`measured window in this process's hrtime: ${measuredFrom.atUs}-${measuredTo.atUs} µs`);
    const systemShare = (measuredTo.collectorSystem - measuredFrom.collectorSystem) / (measuredTo.collector - measuredFrom.collector);

    const documentsPerRound = nics * RECORDS_PER_MINUTE * TUPLES_PER_RECORD * minutesPerRound;
    const stopped = await service.stop();
    service = undefined;
    await client.indices.refresh({ index: dataStream });
    const { count } = await client.count({ index: dataStream });
    if (count !== written() || stopped.indexed !== written() || stopped.duplicates !== 0) {
      throw new Error(`${written()} tuples written; ${dataStream} holds ${count}, the collector indexed ${stopped.indexed} with ${stopped.duplicates} duplicates`);
    }
    const us = (seconds: number) => seconds * 1e6 / documentsPerRound;
    const collector = median(perRound.map((r) => us(r.collector)));
    const esPerDoc = median(perRound.map((r) => us(r.es)));
    report("tailing_documents", count, 0, `${nics} NICs × ${minutes} minutes × ${RECORDS_PER_MINUTE * TUPLES_PER_RECORD} tuples, all in Elasticsearch, none duplicate; ${rounds} rounds of ${minutesPerRound} minute(s) measured`);
    report("tailing_collector_cpu_us_per_doc", collector, 1, `median of ${rounds} rounds, idle polls taken out; rounds ${perRound.map((r) => us(r.collector).toFixed(0)).join(", ")}`);
    // /proc counts CPU in 10 ms ticks, about 5.7 µs per document of a 1,760-document round: a round's figure is
    // coarse, their mean is not.
    report("tailing_collector_cpu_us_per_doc_mean", mean(perRound.map((r) => us(r.collector))), 1,
      `mean of the same rounds: finer than the median of ${rounds} figures counted in ${(us(0.01)).toFixed(1)} µs steps (10 ms ticks)`);
    report("tailing_collector_cpu_us_per_doc_raw", median(perRound.map((r) => us(r.raw))), 1, `with the ${median(perRound.map((r) => r.polls))} polls a round took (median)`);
    report("tailing_collector_system_cpu_share", systemShare, 2, "of the collector's CPU in the measured rounds, spent in the kernel (system calls)");
    report("tailing_idle_poll_cpu_ms", idlePerPoll * 1e3, 2, `a poll that finds nothing new (${idlePolls} polls)`);
    report("tailing_collector_cpu_ms_per_blob_job", collector * documentsPerRound / nics / 1e3, 2, `one NIC's ${minutesPerRound} minute(s): ${documentsPerRound / nics} documents`);
    report("tailing_azure_requests_per_round", median(perRound.map((r) => r.requests)), 1, `${nics} blob jobs and one listing (idle polls' listings taken out)`);
    report("tailing_azure_requests_per_blob_job", (median(perRound.map((r) => r.requests)) - idleRequestsPerPoll) / nics, 2);
    process.stdout.write(`# requests in the measured rounds, idle polls included: ${[...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}\n`);
    report("tailing_es_cpu_us_per_doc", esPerDoc, 1, `median of ${rounds} rounds`);
    report("tailing_es_bulk_requests_per_round", bulksPerRound, 1, `${nics} blob jobs of ${documentsPerRound / nics} documents (node bulk stats, mean of the measured rounds)`);
    report("tailing_es_idle_cpu_ms_per_s", esIdleMsPerSecond, 1, `Elasticsearch's CPU while the idle polls found nothing (no bulk request)`);
    report("tailing_round_ms", median(perRound.map((r) => r.ms)), 0, "median wall time of a round: append, then the poll that indexed it (1-second poll interval)");
    report("tailing_collector_cpu_share", collector / esPerDoc, 3, "collector CPU / Elasticsearch CPU per document");
    if (values.profile) {
      const file = readdirSync(resolve(values.profile)).filter((f) => f.endsWith(".cpuprofile")).sort().at(-1)!;
      for (const byArea of [true, false]) {
        const { totalUs, shares } = profileShares(join(resolve(values.profile), file), dist, measuredFrom.atUs, measuredTo.atUs, byArea);
        process.stdout.write(`# ${file}: ${(totalUs / 1e6).toFixed(2)} s sampled in the measured rounds, by ${byArea ? "area (the stack)" : "source (self time)"}:\n`);
        for (const [name, share] of shares.slice(0, byArea ? 12 : 20)) process.stdout.write(`#   ${(share * 100).toFixed(1).padStart(5)} %  ${name}\n`);
      }
    }
  } finally {
    await service?.stop().catch(() => undefined);
    await client.close();
    await es.stop();
    await proxy.stop();
    await azurite.stop();
  }
}

/** Shard-level bulk operations the node has taken so far. */
async function shardBulks(client: Client): Promise<number> {
  const stats = await client.nodes.stats({ metric: "indices", index_metric: "bulk" });
  return Object.values(stats.nodes).reduce((n, node) => n + (node.indices?.bulk?.total_operations ?? 0), 0);
}

/** `GET checkpoint`, `PUT source comp=blocklist`, `PUT checkpoint comp=lease`... from the proxy's view of a request. */
function requestKind(seen: { method: string; path: string }): string {
  const url = new URL(seen.path, "http://x");
  const target = url.pathname.split("/")[2] === VNET_CONTAINER ? "source" : "checkpoint";
  const what = url.searchParams.get("comp") ?? url.searchParams.get("restype");
  return `${seen.method} ${target}${what ? ` ${what}` : ""}`;
}

/** The built collector's `run` service in a child, as the image starts it (its Node.js version and flags); its JSON log lines tell polls and counts. */
function startService(node: string, env: Record<string, string>, dist: string, nodeArgs: string[], profileDir?: string) {
  const child = spawn(node, [
    ...imageNodeFlags(), ...nodeArgs, ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []), join(dist, "cli.js"), "run",
  ], { env: { PATH: process.env.PATH ?? "", NODE_OPTIONS: "", ...imageMemoryEnvironment(), ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let polls = 0;
  let indexed = 0;
  let stopLine: { indexed: number; duplicates: number } | undefined;
  const waiters = new Set<() => void>();
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => { for (const w of waiters) w(); done(code); }));
  let pending = "";
  child.stderr!.on("data", (data) => {
    pending += String(data);
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      let event: { event?: string; level?: string; indexed?: number; duplicates?: number };
      try { event = JSON.parse(line); } catch { process.stderr.write(`collector: ${line}\n`); continue; }
      if (event.level === "warn" || event.level === "error") process.stderr.write(`collector: ${line}\n`);
      if (event.event === "poll.end") { polls++; indexed = event.indexed ?? indexed; }
      if (event.event === "collector.stop") stopLine = { indexed: event.indexed ?? 0, duplicates: event.duplicates ?? 0 };
    }
    for (const w of waiters) w();
  });
  const until = (done: () => boolean, what: string) => new Promise<void>((resolveWait, fail) => {
    const check = () => {
      if (done()) { waiters.delete(check); resolveWait(); } else if (child.exitCode !== null) { waiters.delete(check); fail(new Error(`the collector exited while waiting for ${what}`)); }
    };
    waiters.add(check);
    check();
  });
  return {
    pid: child.pid!,
    polls: () => polls,
    waitForPolls: (n: number) => until(() => polls >= n, `${n} polls`),
    /** Resolves at the end of the first poll after which `documents` were indexed. */
    indexed: (documents: number) => until(() => indexed >= documents, `${documents} documents`),
    async stop(): Promise<{ indexed: number; duplicates: number }> {
      if (child.exitCode === null) child.kill("SIGTERM");
      const code = await exited;
      if (code !== 0 || !stopLine) throw new Error(`the collector exited with ${code}`);
      return stopLine;
    },
  };
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
