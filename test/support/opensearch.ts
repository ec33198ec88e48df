// Starts a real, single-node OpenSearch for the tests: the project's integ-test distribution from Maven Central
// (`org.opensearch.distribution.integ-test-zip:opensearch`, server + transport-netty4 only, no bundled JDK, no
// security plugin), on loopback, plain HTTP. What it can and cannot do: dashboards/elasticsearch/README.md.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chownTree, javaMajor, runAsUser } from "./elasticsearch";
import { fetchArtifact } from "./maven";
import { freePort } from "./ports";

export interface RunningOpenSearch {
  url: string;
  version: string;
  stop(): Promise<void>;
}

export interface OpenSearchOptions {
  log?: (line: string) => void;
  /** Distribution version on Maven Central; `OPENSEARCH_VERSION` overrides it. */
  version?: string;
  /** JVM heap, e.g. "384m". */
  heap?: string;
  startTimeoutMs?: number;
}

/** The newest 2.x on Maven Central; 2.x is the last line that runs on Java 17 (3.x needs 21). */
const DEFAULT_VERSION = "2.19.6";

export async function startOpenSearch(options: OpenSearchOptions = {}): Promise<RunningOpenSearch> {
  const log = options.log ?? (() => {});
  const version = process.env.OPENSEARCH_VERSION || options.version || DEFAULT_VERSION;
  const started = Date.now();
  const javaHome = findOpenSearchJava(version);
  const zip = await fetchArtifact({
    groupId: "org.opensearch.distribution.integ-test-zip", artifactId: "opensearch", version, packaging: "zip",
  }, log);
  const home = unpack(zip, version, log);
  const user = runAsUser();
  const [httpPort, transportPort] = [await freePort(), await freePort()];
  const work = mkdtempSync(join(tmpdir(), "flowlogs-os-"));
  const paths = { config: join(work, "config"), data: join(work, "data"), logs: join(work, "logs"), tmp: join(work, "tmp") };
  cpSync(join(home, "config"), paths.config, { recursive: true });
  for (const dir of [paths.data, paths.logs, paths.tmp]) mkdirSync(dir);
  writeFileSync(join(paths.config, "opensearch.yml"), [
    "cluster.name: flowlogs-test-os",
    "node.name: flowlogs-test-os",
    `path.data: ${paths.data}`,
    `path.logs: ${paths.logs}`,
    "network.host: 127.0.0.1",
    `http.port: ${httpPort}`,
    `transport.port: ${transportPort}`,
    "discovery.type: single-node",
    // A shared 2-core machine: keep the disk watermarks from turning indices read-only on a full /tmp.
    "cluster.routing.allocation.disk.threshold_enabled: false",
    "",
  ].join("\n"));
  const heap = options.heap ?? "384m";
  // The shipped jvm.options sets 1g and writes GC logs relative to the working directory: replace both.
  const jvmOptions = join(paths.config, "jvm.options");
  writeFileSync(jvmOptions, readFileSync(jvmOptions, "utf8")
    .replace(/^-Xm[sx]\S*$/gm, "")
    .replace(/^\S*-Xlog:gc.*$/m, "")
    .concat(`\n-Xms${heap}\n-Xmx${heap}\n`));
  if (user) chownTree(work, user.uid, user.gid);
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    OPENSEARCH_JAVA_HOME: javaHome,
    OPENSEARCH_PATH_CONF: paths.config,
    OPENSEARCH_TMPDIR: paths.tmp,
    HOME: work,
    LANG: "C.UTF-8",
  };

  log(`starting OpenSearch ${version} on 127.0.0.1:${httpPort} (java ${javaHome}${user ? `, as uid ${user.uid}` : ""})`);
  let output = "";
  const child: ChildProcess = spawn(join(home, "bin", "opensearch"), [], {
    cwd: work,
    detached: true, // its own process group, so stop() reaches the launcher script and the JVM
    stdio: ["ignore", "pipe", "pipe"],
    env,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  const keep = (chunk: Buffer): void => { output = (output + String(chunk)).slice(-20_000); };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killGroup = (signal: NodeJS.Signals): void => {
    try { if (child.pid) process.kill(-child.pid, signal); } catch { /* already gone */ }
  };
  const emergencyKill = (): void => killGroup("SIGKILL");
  process.once("exit", emergencyKill);

  const stop = async (): Promise<void> => {
    process.removeListener("exit", emergencyKill);
    if (child.exitCode === null && child.signalCode === null) {
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    killGroup("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await Promise.race([
      waitForHealth(url, options.startTimeoutMs ?? 180_000),
      exited.then(() => { throw new Error(`OpenSearch exited during start-up:\n${output.trim().slice(-4000)}`); }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  log(`ready at ${url} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { url, version, stop };
}

/**
 * OpenSearch 2.x installs a security manager, which Java 24 removed: it needs a Java 17–23 (3.x: 21+).
 * OPENSEARCH_JAVA_HOME, JAVA_HOME, then the newest fitting one under /usr/lib/jvm.
 */
export function findOpenSearchJava(version: string): string {
  const [min, max] = Number(version.split(".")[0]) >= 3 ? [21, 999] : [17, 23];
  const candidates = [process.env.OPENSEARCH_JAVA_HOME, process.env.JAVA_HOME].filter((v): v is string => !!v);
  const jvmRoot = "/usr/lib/jvm";
  if (existsSync(jvmRoot)) {
    candidates.push(...readdirSync(jvmRoot).map((name) => join(jvmRoot, name)).sort((a, b) => javaMajor(b) - javaMajor(a)));
  }
  const usable = candidates.find((home) => javaMajor(home) >= min && javaMajor(home) <= max && existsSync(join(home, "bin", "java")));
  if (!usable) {
    throw new Error(`no Java ${min}–${max} found (looked at OPENSEARCH_JAVA_HOME, JAVA_HOME and ${jvmRoot}/*): OpenSearch ${version} ` +
      `needs one. Install e.g. \`apt-get install openjdk-17-jdk-headless\` and/or set OPENSEARCH_JAVA_HOME.`);
  }
  return usable;
}

/** Unpacked once per version into the system temp dir, readable by the unprivileged user; aside, then renamed. */
function unpack(zip: string, version: string, log: (line: string) => void): string {
  const parent = join(tmpdir(), "flowlogs-to-elastic");
  const home = join(parent, `opensearch-${version}`);
  if (existsSync(join(home, "bin", "opensearch"))) return home;
  mkdirSync(parent, { recursive: true });
  chmodSync(parent, 0o755);
  log(`unpacking ${zip}`);
  const scratch = mkdtempSync(join(parent, ".unpack-"));
  try {
    const result = spawnSync("unzip", ["-q", zip, "-d", scratch], { encoding: "utf8" });
    if (result.error || result.status !== 0) {
      throw new Error(result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT"
        ? "`unzip` is not installed: install it (e.g. `apt-get install unzip`)"
        : `unzip ${zip} failed: ${result.stderr || result.error}; delete it to download it again`);
    }
    const unpacked = join(scratch, `opensearch-${version}`);
    spawnSync("chmod", ["-R", "a+rX", unpacked]);
    try {
      renameSync(unpacked, home);
    } catch (error) {
      if (!existsSync(join(home, "bin", "opensearch"))) throw error; // another run unpacked it meanwhile: use theirs
    }
    return home;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`, { signal: AbortSignal.timeout(3_000) });
      if (response.ok) {
        const health = (await response.json()) as { status?: string };
        if (health.status === "green" || health.status === "yellow") return;
      }
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`OpenSearch at ${url} was not healthy within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
