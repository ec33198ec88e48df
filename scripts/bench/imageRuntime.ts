// Runs the collector as the image does: the compiled JavaScript (collector/dist) under the image's Node.js version
// (scripts/image-node.ts), with the image's NODE_OPTIONS, malloc settings and ENTRYPOINT node flags read from
// collector/Dockerfile, so memory and CPU figures describe what ships.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { median } from "./stats";
import { ensureImageNode } from "../image-node";

const ROOT = resolve(__dirname, "..", "..");
export const DIST = join(ROOT, "collector", "dist");

/** The collector's build as the image makes it (`npm run build` in the collector workspace: tsc, then the pre-parsed ASN tables). */
export function buildCollector(): void {
  execFileSync("npm", ["run", "--silent", "build", "--workspace", "collector"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

/** The image's `ENV` lines that shape memory: NODE_OPTIONS and glibc's MALLOC_* tunables (#12). */
export function imageMemoryEnvironment(): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const line of readFileSync(join(ROOT, "collector", "Dockerfile"), "utf8").split("\n")) {
    const match = /^ENV ((?:NODE_OPTIONS|MALLOC_[A-Z_]+))=(.*)$/.exec(line);
    if (match) environment[match[1]!] = match[2]!.replace(/^"|"$/g, "");
  }
  return environment;
}

/**
 * The node flags the image's ENTRYPOINT passes before the script: V8 flags that NODE_OPTIONS refuses (#12: the
 * heap growing factor). Given before any other flags of a run, so a later `--flag=...` of the same name wins.
 */
export function imageNodeFlags(): string[] {
  const line = readFileSync(join(ROOT, "collector", "Dockerfile"), "utf8").split("\n").find((l) => l.startsWith("ENTRYPOINT "));
  if (!line) throw new Error("collector/Dockerfile has no ENTRYPOINT");
  const [program, ...rest] = JSON.parse(line.slice("ENTRYPOINT ".length)) as string[];
  if (program !== "node") throw new Error(`the image's ENTRYPOINT starts ${program}, not node`);
  return rest.filter((word) => word.startsWith("--"));
}

export interface ChildResult {
  documents: number;
  bytesRead: number;
  seconds: number;
  maxRssMb: number;
  cpuSeconds: number;
  /** The part of cpuSeconds spent in the kernel (system calls: on loopback, a send also pays the receiver's TCP work). */
  systemCpuSeconds: number;
  /** The part of cpuSeconds the main thread spent (NaN off Linux); the rest is mostly V8 compiling and collecting. */
  mainThreadCpuSeconds: number;
  /** With `warmUp`: documents delivered by the unmeasured first pass (the other figures are the second pass's). */
  warmUpDocuments?: number;
}

/**
 * A first, unmeasured pass of the same child over the same blobs (`env` over the run's settings: its own namespace
 * and checkpoint container), so the measured pass runs on code V8 has already compiled, as the long-running service
 * does after its first blobs. `beforeMeasuredPass` runs in this process between the two passes, while the child waits.
 */
export interface WarmUpPass {
  env: Record<string, string>;
  beforeMeasuredPass: () => Promise<void> | void;
}

type ChildBuild = { dist?: string; nodeArgs?: string[]; warmUp?: WarmUpPass };

/**
 * Collects once in a child process. `sink: "count"` counts documents without delivering them (memory figures), after
 * writing each one's JSON into one reused buffer, as a sink writes it into a request (a parsed document is only
 * written where it goes: counted unwritten, the figure would leave that work out);
 * `sink: "elasticsearch"` uses the configured Elasticsearch sink (end-to-end figures). `dist`: another build of the
 * collector (scripts/bench/collectorCpu.ts compares two); `nodeArgs`: e.g. --cpu-prof, which NODE_OPTIONS refuses;
 * `warmUp`: collect twice and measure the second pass only (`collectWarmInChild`).
 */
export async function collectOnceInChild(env: Record<string, string>, sink: "count" | "elasticsearch", build: ChildBuild = {}): Promise<ChildResult> {
  const dist = build.dist ?? DIST;
  // Modules named without extension, so the collector's sources can stand in for a build (under tsx: the tests).
  const script = `
    const { runCollector } = require(${JSON.stringify(join(dist, "service", "collector"))});
    const { loadConfig, openEnrichment } = require(${JSON.stringify(join(dist, "service", "config"))});
    const { createBlobService } = require(${JSON.stringify(join(dist, "source", "storage"))});
    const warmUpEnv = ${JSON.stringify(build.warmUp?.env ?? null)};
    let documents = 0;
    const out = {
      bytes: Buffer.allocUnsafe(65536), at: 0,
      reserve(count) {
        if (this.at + count <= this.bytes.length) return;
        const grown = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.at + count));
        this.bytes.copy(grown, 0, 0, this.at);
        this.bytes = grown;
      },
    };
    const counting = {
      async write(batch) {
        for (const document of batch) {
          out.at = 0;
          if (document.writeSource) document.writeSource(out); else out.at = Buffer.byteLength(document.source);
        }
        documents += batch.length;
        return { indexed: batch.length, duplicates: 0, deadLettered: 0, retries: 0 };
      },
      async deadLetter() {}, async close() {},
    };
    const delivered = (summary) => ${sink === "count" ? "documents" : "summary.metrics.indexed + summary.metrics.duplicates"};
    const collect = (config, shared) => runCollector({ config, once: true, writeLog: () => {}, ${sink === "count" ? "sink: counting," : ""} ...shared });
    // The service opens its geo/AS tables and its storage client once: the warm passes share them.
    async function warmUp(config) {
      const shared = { enrichment: openEnrichment(config.geoip) ?? null, blobService: createBlobService(config.storage, config.storageTimeoutMs) };
      const summary = await collect(loadConfig({ ...process.env, ...warmUpEnv }), shared);
      const warmUpDocuments = delivered(summary);
      documents = 0;
      await new Promise((go) => { process.once("message", go); process.send({ warmUpDocuments }); });
      process.disconnect();
      return { shared, warmUpDocuments };
    }
    // CPU seconds of the main thread (Linux: utime + stime of the thread whose id is the pid, in USER_HZ ticks of
    // 10 ms); the rest of the process's CPU is V8's compiler and GC threads and libuv's pool.
    function mainThreadCpu() {
      try {
        const stat = require("node:fs").readFileSync("/proc/self/task/" + process.pid + "/stat", "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return (Number(fields[11]) + Number(fields[12])) / 100;
      } catch { return NaN; }
    }
    (async () => {
      let started = Date.now();
      const config = loadConfig(process.env);
      const warm = warmUpEnv ? await warmUp(config) : undefined;
      const cpuBefore = process.cpuUsage();
      const mainBefore = warm ? mainThreadCpu() : 0;
      if (warm) started = Date.now();
      const summary = await collect(config, warm ? warm.shared : {});
      const usage = process.resourceUsage();
      // cpuUsage, like resourceUsage, counts every thread of the process (V8's compiler and GC threads too).
      const cpu = warm ? process.cpuUsage(cpuBefore) : { user: usage.userCPUTime, system: usage.systemCPUTime };
      process.stdout.write(JSON.stringify({
        documents: delivered(summary),
        bytesRead: summary.metrics.bytesRead,
        seconds: (Date.now() - started) / 1000,
        maxRssMb: usage.maxRSS / 1024,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        systemCpuSeconds: cpu.system / 1e6,
        mainThreadCpuSeconds: mainThreadCpu() - mainBefore,
        ...(warm ? { warmUpDocuments: warm.warmUpDocuments } : {}),
      }) + "\\n");
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  const child = spawn(await ensureImageNode(), [...imageNodeFlags(), ...(build.nodeArgs ?? []), "-e", script], {
    env: { PATH: process.env.PATH ?? "", NODE_OPTIONS: "", ...imageMemoryEnvironment(), FLOWLOGS_METRICS_PORT: "off", ...env },
    stdio: ["ignore", "pipe", "inherit", ...(build.warmUp ? ["ipc" as const] : [])],
  });
  let output = "";
  child.stdout!.on("data", (data) => { output += String(data); });
  // The child tells when its warm-up pass is done and waits for the word to start the measured one.
  let betweenPassesFailed: unknown;
  const { warmUp } = build;
  if (warmUp) child.once("message", () => {
    Promise.resolve().then(warmUp.beforeMeasuredPass).then(() => { child.send("measure"); }, (error) => { betweenPassesFailed = error; child.kill(); });
  });
  return new Promise((done, fail) => child.once("exit", (code) => {
    if (betweenPassesFailed) return fail(betweenPassesFailed);
    // The result is the last line that starts with "{"; the others came from node flags such as --trace-gc (whose
    // lines can also come after it, from a collection at exit).
    const lines = output.trimEnd().split("\n");
    let result = lines.length - 1;
    while (result >= 0 && !lines[result]!.startsWith("{")) result--;
    const others = lines.filter((_, i) => i !== result);
    if (others.length) process.stderr.write(`${others.join("\n")}\n`);
    if (code === 0 && result >= 0) done(JSON.parse(lines[result]!));
    else fail(new Error(`collector child exited with ${code}${result < 0 ? " and no result line" : ""}`));
  }));
}

/**
 * The collector's one-time start-up: the same one-pass run as `collectOnceInChild`, with the same settings but an
 * empty source container, so it pays node's start, module loading, the geo/AS databases and the checkpoint container,
 * and reads nothing. A one-pass run charges this to its documents; the service pays it once per start and then runs
 * for days, so per-document figures are given with it and without it. CPU and wall seconds, each the median of `runs`.
 */
export async function startupCost(
  env: Record<string, string>, emptyContainer: string, build: { dist?: string; nodeArgs?: string[] } = {}, runs = 3,
): Promise<{ cpuSeconds: number; seconds: number }> {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < runs; i++) {
    const result = await collectOnceInChild({
      ...env, FLOWLOGS_CONTAINERS: emptyContainer, FLOWLOGS_CHECKPOINT_CONTAINER: `${emptyContainer}-checkpoints-${i}`,
    }, "elasticsearch", build);
    if (result.documents !== 0) throw new Error(`the start-up run read ${result.documents} documents from ${emptyContainer}, which should be empty`);
    cpu.push(result.cpuSeconds);
    wall.push(result.seconds);
  }
  return { cpuSeconds: median(cpu), seconds: median(wall) };
}

/**
 * The collector as the long-running service pays for it, without V8's warm-up: one child collects the blobs of
 * `env` into `warmUp.env`'s namespace first (unmeasured), then again into `env`'s, with fresh checkpoints; its
 * figures are the second pass's (CPU of every thread, sampled by the child after `warmUp.beforeMeasuredPass`). A
 * one-pass run pays node's start, module loading and compiling the hot code on every run; the service pays them once
 * after it starts. Each pass must deliver `documents`.
 */
export async function collectWarmInChild(env: Record<string, string>, warmUp: WarmUpPass, documents: number, build: { dist?: string; nodeArgs?: string[] } = {}): Promise<ChildResult> {
  const result = await collectOnceInChild(env, "elasticsearch", { ...build, warmUp });
  if (result.warmUpDocuments !== documents || result.documents !== documents) {
    throw new Error(`the warm collector delivered ${result.warmUpDocuments} documents in its warm-up pass and ${result.documents} in its measured pass, ${documents} expected in each`);
  }
  return result;
}
