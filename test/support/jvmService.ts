// What the test Elasticsearch and OpenSearch nodes have in common: an integ-test zip from Maven Central unpacked
// once, a throw-away working directory with its own config, a Java home of the right version, and the JVM launched
// as an unprivileged user in its own process group, watched until it is healthy or has died. elasticsearch.ts and
// opensearch.ts only add their own settings (and Elasticsearch its file-realm users).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchArtifact, type MavenArtifact } from "./maven";
import { freePort } from "./ports";

export interface UnixUser {
  uid: number;
  gid: number;
}

export interface PreparedNode {
  /** "Elasticsearch" or "OpenSearch", for log lines and errors. */
  product: string;
  version: string;
  javaHome: string;
  /** The unpacked distribution, shared by every node of that version: read only. */
  home: string;
  /** The start script, bin/<artifactId>. */
  launcher: string;
  user?: UnixUser;
  httpPort: number;
  transportPort: number;
  /** The node's own directory (config, data, logs, tmp); stop() removes it. */
  work: string;
  paths: { config: string; data: string; logs: string; tmp: string };
  /** The launcher's whole environment: <PREFIX>_JAVA_HOME, <PREFIX>_PATH_CONF, <PREFIX>_TMPDIR and little else. */
  env: Record<string, string>;
}

export interface NodeSpec {
  product: string;
  artifact: MavenArtifact;
  javaHome: string;
  /** "ES" or "OPENSEARCH": the prefix of the launcher's environment variables. */
  envPrefix: string;
  /** Prefix of the working directory under the system temp dir. */
  workPrefix: string;
  log: (line: string) => void;
}

/** Downloads and unpacks the distribution, picks ports and the user, and makes a working directory with a config copy. */
export async function prepareNode(spec: NodeSpec): Promise<PreparedNode> {
  const { artifactId, version } = spec.artifact;
  const zip = await fetchArtifact(spec.artifact, spec.log);
  const home = unpack(zip, artifactId, version, spec.log);
  const user = runAsUser();
  const [httpPort, transportPort] = [await freePort(), await freePort()];
  const work = mkdtempSync(join(tmpdir(), spec.workPrefix));
  const paths = { config: join(work, "config"), data: join(work, "data"), logs: join(work, "logs"), tmp: join(work, "tmp") };
  cpSync(join(home, "config"), paths.config, { recursive: true });
  for (const dir of [paths.data, paths.logs, paths.tmp]) mkdirSync(dir);
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    [`${spec.envPrefix}_JAVA_HOME`]: spec.javaHome,
    [`${spec.envPrefix}_PATH_CONF`]: paths.config,
    [`${spec.envPrefix}_TMPDIR`]: paths.tmp,
    HOME: work,
    LANG: "C.UTF-8",
  };
  return {
    product: spec.product, version, javaHome: spec.javaHome, home, launcher: join(home, "bin", artifactId), user,
    httpPort, transportPort, work, paths, env,
  };
}

/** The settings every single-node test cluster gets (the product adds its own after these). */
export function singleNodeSettings(name: string, node: PreparedNode): string[] {
  return [
    `cluster.name: ${name}`,
    `node.name: ${name}`,
    `path.data: ${node.paths.data}`,
    `path.logs: ${node.paths.logs}`,
    "network.host: 127.0.0.1",
    `http.port: ${node.httpPort}`,
    `transport.port: ${node.transportPort}`,
    "discovery.type: single-node",
    // A shared 2-core machine: keep the disk watermarks from turning indices read-only on a full /tmp.
    "cluster.routing.allocation.disk.threshold_enabled: false",
  ];
}

export interface RunningNode {
  url: string;
  /** Process group of the node (launcher and server JVM). */
  pid?: number;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  log: (line: string) => void;
  /** When the caller began (download and unpack included), for the "ready after" line. */
  started: number;
  startTimeoutMs?: number;
  /** Basic credentials for the health check when security is on. */
  credentials?: { username: string; password: string };
}

/** Starts the prepared node and resolves once the cluster is yellow or green; throws (and cleans up) if it dies first. */
export async function launchNode(node: PreparedNode, options: LaunchOptions): Promise<RunningNode> {
  const { product, user } = node;
  options.log(`starting ${product} ${node.version} on 127.0.0.1:${node.httpPort} (java ${node.javaHome}${user ? `, as uid ${user.uid}` : ""})`);
  let output = "";
  const child: ChildProcess = spawn(node.launcher, [], {
    cwd: node.work,
    detached: true, // its own process group, so stop() reaches the launcher and the server JVM it forks
    stdio: ["ignore", "pipe", "pipe"],
    env: node.env,
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
    killGroup("SIGKILL"); // the server JVM may outlive the launcher for a moment
    rmSync(node.work, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${node.httpPort}`;
  try {
    await Promise.race([
      waitForHealth(product, url, options.startTimeoutMs ?? 180_000, options.credentials),
      exited.then(() => { throw new Error(`${product} exited during start-up:\n${output.trim().slice(-4000)}`); }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  options.log(`ready at ${url} after ${((Date.now() - options.started) / 1000).toFixed(1)} s`);
  return { url, pid: child.pid, stop };
}

/**
 * Runs `start` (prepare and launch a node) again, on new ports, when the node could not bind its port: freePort's
 * port is free when picked, but another process of the suite (a proxy, Azurite, another node) may take it before
 * the JVM binds it, seconds later.
 */
export async function withPortRetries<T>(start: () => Promise<T>, log: (line: string) => void, tries = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= tries || !/Address already in use|BindException|BindTransportException|HttpServerTransport\.bind/.test(String(error))) throw error;
      log(`its port was taken before it could bind it; starting again on new ports (${attempt + 1} of ${tries})`);
    }
  }
}

export interface JavaRequirement {
  /** The product's own variable, looked at first (ES_JAVA_HOME, OPENSEARCH_JAVA_HOME), then JAVA_HOME. */
  envVar: string;
  min: number;
  max?: number;
  /** Who needs it, for the error: "Elasticsearch 9". */
  neededBy: string;
  /** What to install, for the error: "`apt-get install openjdk-21-jdk-headless`". */
  install: string;
}

/** A Java home in [min, max]: the product's variable, JAVA_HOME, then the newest fitting one under /usr/lib/jvm. */
export function findJavaHome(need: JavaRequirement): string {
  const { min, max = Infinity } = need;
  const candidates = [process.env[need.envVar], process.env.JAVA_HOME].filter((v): v is string => !!v);
  const jvmRoot = "/usr/lib/jvm";
  if (existsSync(jvmRoot)) {
    candidates.push(...readdirSync(jvmRoot).map((name) => join(jvmRoot, name)).sort((a, b) => javaMajor(b) - javaMajor(a)));
  }
  const usable = candidates.find((home) => javaMajor(home) >= min && javaMajor(home) <= max && existsSync(join(home, "bin", "java")));
  if (!usable) {
    const range = max === Infinity ? `${min}+` : `${min}–${max}`;
    throw new Error(`no Java ${range} found (looked at ${need.envVar}, JAVA_HOME and ${jvmRoot}/*): ${need.neededBy} ` +
      `needs one. Install e.g. ${need.install} and/or set ${need.envVar}.`);
  }
  return usable;
}

export function javaMajor(home: string): number {
  try {
    const release = readFileSync(join(home, "release"), "utf8");
    const match = /^JAVA_VERSION="(\d+)(?:\.(\d+))?/m.exec(release);
    if (!match) return 0;
    return match[1] === "1" ? Number(match[2]) : Number(match[1]);
  } catch {
    return 0;
  }
}

/** Elasticsearch and OpenSearch refuse to run as root: when we are root, run them as `nobody`. */
export function runAsUser(): UnixUser | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith("nobody:"));
  if (!line) throw new Error("running as root and no `nobody` user exists: Elasticsearch and OpenSearch refuse to run as root; run the tests as a normal user");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

export function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, uid, gid);
    else chownSync(child, uid, gid);
  }
}

/**
 * The distribution unpacked once per version into the system temp dir (not the home cache: when we run as root the
 * unprivileged user must be able to read it, and /root is private). Unpacked aside, then renamed.
 */
function unpack(zip: string, artifactId: string, version: string, log: (line: string) => void): string {
  const parent = join(tmpdir(), "flowlogs-to-elastic");
  const home = join(parent, `${artifactId}-${version}`);
  const launcher = join(home, "bin", artifactId);
  if (existsSync(launcher)) return home;
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
    const unpacked = join(scratch, `${artifactId}-${version}`);
    spawnSync("chmod", ["-R", "a+rX", unpacked]);
    try {
      renameSync(unpacked, home);
    } catch (error) {
      // Another run unpacked the same version at the same time: use theirs.
      if (!existsSync(launcher)) throw error;
    }
    return home;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function waitForHealth(product: string, url: string, timeoutMs: number, credentials?: { username: string; password: string }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const headers: Record<string, string> = credentials
    ? { authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}` }
    : {};
  for (;;) {
    try {
      const response = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`, { headers, signal: AbortSignal.timeout(3_000) });
      if (response.ok) {
        const health = (await response.json()) as { status?: string };
        if (health.status === "green" || health.status === "yellow") return;
      }
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${product} at ${url} was not healthy within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
