// What a long-running service's heap keeps per blob job: a fixed set of tailed blobs on Azurite, many rounds of jobs,
// and the heap after forced collections once per round. A figure that keeps rising with the jobs would run the
// image's 128 MB heap out in days (a job per blob and minute); one that levels off is warm-up or bounded state.
//   node --import tsx scripts/bench/heapPerJob.ts [--mode caught-up|append] [--blobs 20] [--rounds 400] [--dist DIR] [--snapshots DIR]
//   node --import tsx scripts/bench/heapPerJob.ts --before A.heapsnapshot --after B.heapsnapshot
// The jobs run in a child process (heapPerJobService.ts) on the image's Node.js with its memory flags and
// --expose-gc; Azurite and the blob writers stay in this one, so the figures are the collector's (until the
// eighteenth session they included the writers' block ids, about 75 B per append).
// --mode caught-up: runBlobJob on each blob, listed without its ETag, so each job leases, reads the block list and
//   finds it caught up (what a review measured). append: the service's poll loop (runCollector), each round appending
//   one minute to every blob first, so every poll runs a job per blob that reads and delivers it.
// --dist DIR: the built collector (`npm run build --workspace collector` makes collector/dist), run without tsx:
//   what ships. Without it, the collector's sources under tsx (tsx's loader on the measured heap).
// --snapshots DIR: heap snapshots at the quarters (V8 collects more in them than forced collections do: a figure
//   taken just after one is lower). --before/--after list what grew between two, by kind of object, V8's compiled code left out.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite } from "../../test/support/azurite";
import { FlowLogBlobWriter } from "../../test/support/flowLogWriter";
import { heapCensus, heapGrowth } from "../../test/support/heapCensus";
import { readCommandLine } from "../commandLine";
import { ensureImageNode } from "../image-node";
import type { HeapRunSettings, HeapSample } from "./heapPerJobService";
import { imageMemoryEnvironment, imageNodeFlags } from "./imageRuntime";
import { progress, report } from "./stats";

const USAGE = "usage: node --import tsx scripts/bench/heapPerJob.ts [--mode caught-up|append] [--blobs 20] [--rounds 400] [--dist DIR] [--snapshots DIR]\n" +
  "       node --import tsx scripts/bench/heapPerJob.ts --before A.heapsnapshot --after B.heapsnapshot";
/** The hour heapPerJobService.ts takes for now: the blobs are tailed, never done. */
const HOUR = new Date("2026-11-20T10:00:00Z");
const SOURCES = resolve(__dirname, "..", "..", "collector", "src");

async function main(): Promise<number> {
  const values = readCommandLine({
    mode: { type: "string", default: "caught-up" }, blobs: { type: "string", default: "20" }, rounds: { type: "string", default: "400" },
    dist: { type: "string" }, snapshots: { type: "string" }, before: { type: "string" }, after: { type: "string" }, help: { type: "boolean" },
  }, USAGE);
  if (typeof values === "number") return values;
  if (values.before || values.after) return compare(values.before, values.after);
  const blobs = Number(values.blobs);
  const rounds = Number(values.rounds);
  const mode = values.mode;
  if (!(blobs >= 1) || !(rounds >= 4) || (mode !== "caught-up" && mode !== "append")) {
    console.error(`--blobs must be at least 1, --rounds at least 4, --mode caught-up or append\n${USAGE}`);
    return 2;
  }
  const dist = values.dist === undefined ? undefined : resolve(values.dist);
  if (dist && !existsSync(join(dist, "service", "collector.js"))) {
    console.error(`--dist ${dist} holds no built collector (service/collector.js): build it with \`npm run build --workspace collector\` (collector/dist)\n${USAGE}`);
    return 2;
  }
  const azurite = await startAzurite();
  try {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const source = service.getContainerClient("heap-source");
    await source.create();
    const writers: FlowLogBlobWriter[] = [];
    for (let i = 0; i < blobs; i++) {
      const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: HOUR, seed: i + 1, mac: `000D3A${i.toString(16).padStart(6, "0").toUpperCase()}` });
      await writer.appendMinute({ records: 1, tuplesPerRecord: 2 });
      writers.push(writer);
    }
    const heap = await measureInChild({
      modules: dist ?? SOURCES, mode, connectionString: azurite.connectionString, source: source.containerName,
      checkpoints: "heap-checkpoints", rounds, snapshots: values.snapshots && resolve(values.snapshots),
    }, dist !== undefined, async (round) => {
      if (mode === "append" && round < rounds) for (const writer of writers) await writer.appendMinute({ records: 1, tuplesPerRecord: 2 });
    });
    const quarters = [0, 1, 2, 3, 4].map((q) => Math.round((rounds * q) / 4));
    report("jobs", rounds * blobs, 0);
    for (let q = 1; q <= 4; q++) {
      const [from, to] = [quarters[q - 1]!, quarters[q]!];
      report(`heap_bytes_per_job_rounds_${from}_${to}`, (heap[to]! - heap[from]!) / ((to - from) * blobs), 0);
    }
    report("heap_used_kib_by_quarter", 0, 0, quarters.map((r) => `${r}: ${(heap[r]! / 1024).toFixed(0)}`).join(", "));
    return 0;
  } finally {
    await azurite.stop();
  }
}

/**
 * Runs heapPerJobService.ts on the image's Node.js with its memory flags and --expose-gc (and tsx only for the
 * sources); `betweenRounds` runs here after each reading, while the child waits. The readings, by round.
 */
async function measureInChild(settings: HeapRunSettings, built: boolean, betweenRounds: (round: number) => Promise<void>): Promise<number[]> {
  const node = await ensureImageNode({ log: progress });
  const { NODE_OPTIONS, ...memory } = imageMemoryEnvironment();
  const child = spawn(node, [...imageNodeFlags(), "--expose-gc", ...(built ? [] : ["--import", "tsx"]), join(__dirname, "heapPerJobService.ts"), JSON.stringify(settings)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env, ...memory, NODE_OPTIONS: NODE_OPTIONS ?? "" },
  });
  const heap: number[] = [];
  let failed: unknown;
  child.on("message", ({ round, heapUsed }: HeapSample) => {
    heap[round] = heapUsed;
    if (round % 10 === 0) progress(`round ${round}: heapUsed ${(heapUsed / 1024).toFixed(0)} KiB`);
    betweenRounds(round).then(() => child.send("next"), (error: unknown) => { failed = error; child.kill(); });
  });
  const code = await new Promise<number | null>((exited) => child.once("exit", exited));
  if (failed) throw failed;
  if (code !== 0 || heap.length !== settings.rounds + 1) throw new Error(`the measured process exited with ${code} after ${heap.length} of ${settings.rounds + 1} readings`);
  return heap;
}

/** What grew between two snapshots, largest first. */
function compare(before: string | undefined, after: string | undefined): number {
  if (!before || !after) {
    console.error(`--before and --after name two snapshot files\n${USAGE}`);
    return 2;
  }
  const grown = heapGrowth(heapCensus(before), heapCensus(after));
  for (const { kind, count, bytes } of grown.slice(0, 20)) console.log(`${bytes} B\t${count >= 0 ? "+" : ""}${count}\t${kind}`);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
