// Starts a real, single-node Elasticsearch for the tests, the demo and the benchmarks: Elastic's integ-test
// distribution from Maven Central (server + security module, no bundled JDK), on loopback, security off.
// What this distribution can and cannot do is recorded in dashboards/elasticsearch/README.md.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchArtifact } from "./maven";
import { freePort } from "./ports";

export interface RunningElasticsearch {
  url: string;
  /** Process group of the node (launcher and server JVM), e.g. for CPU accounting in benchmarks. */
  pid?: number;
  stop(): Promise<void>;
}

export interface ElasticsearchOptions {
  log?: (line: string) => void;
  /** Distribution version on Maven Central; `ES_VERSION` overrides it. 9.2.4 is the newest 9.x published there. */
  version?: string;
  /** JVM heap, e.g. "512m". */
  heap?: string;
  startTimeoutMs?: number;
  /**
   * Security on (plain HTTP on loopback, no TLS) with file-realm users and roles, for tests of authentication and
   * privileges. Off by default. The first user holding the built-in `superuser` role is used for the health check.
   * API keys cannot be created on this distribution: the `.security` index needs the absent analysis-common module.
   */
  security?: { users: TestUser[]; roles?: Record<string, RoleDescriptor> };
}

export interface TestUser {
  username: string;
  password: string;
  roles: string[];
}

export interface RoleDescriptor {
  cluster?: string[];
  indices?: Array<{ names: string[]; privileges: string[] }>;
}

const DEFAULT_VERSION = "9.2.4";
const MIN_JAVA = 21;

export async function startElasticsearch(options: ElasticsearchOptions = {}): Promise<RunningElasticsearch> {
  const log = options.log ?? (() => {});
  const version = process.env.ES_VERSION || options.version || DEFAULT_VERSION;
  const started = Date.now();
  const javaHome = findJava();
  const zip = await fetchArtifact({
    groupId: "org.elasticsearch.distribution.integ-test-zip", artifactId: "elasticsearch", version, packaging: "zip",
  }, log);
  const home = unpack(zip, version, log);
  const user = runAsUser();
  const [httpPort, transportPort] = [await freePort(), await freePort()];
  const work = mkdtempSync(join(tmpdir(), "flowlogs-es-"));
  const paths = { config: join(work, "config"), data: join(work, "data"), logs: join(work, "logs"), tmp: join(work, "tmp") };
  cpSync(join(home, "config"), paths.config, { recursive: true });
  for (const dir of [paths.data, paths.logs, paths.tmp]) mkdirSync(dir);
  writeFileSync(join(paths.config, "elasticsearch.yml"), [
    "cluster.name: flowlogs-test",
    "node.name: flowlogs-test",
    `path.data: ${paths.data}`,
    `path.logs: ${paths.logs}`,
    "network.host: 127.0.0.1",
    `http.port: ${httpPort}`,
    `transport.port: ${transportPort}`,
    "discovery.type: single-node",
    ...(options.security
      ? ["xpack.security.enabled: true", "xpack.security.http.ssl.enabled: false", "xpack.security.transport.ssl.enabled: false"]
      : ["xpack.security.enabled: false"]),
    // A shared 2-core machine: keep the disk watermarks from turning indices read-only on a full /tmp.
    "cluster.routing.allocation.disk.threshold_enabled: false",
    "",
  ].join("\n"));
  const heap = options.heap ?? "512m";
  writeFileSync(join(paths.config, "jvm.options.d", "heap.options"), `-Xms${heap}\n-Xmx${heap}\n`);
  // The shipped jvm.options writes GC logs relative to the working directory; drop that line.
  const jvmOptions = join(paths.config, "jvm.options");
  writeFileSync(jvmOptions, readFileSync(jvmOptions, "utf8").replace(/^-Xlog:gc.*$/m, ""));
  if (user) chownTree(work, user.uid, user.gid);
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    ES_JAVA_HOME: javaHome,
    ES_PATH_CONF: paths.config,
    ES_TMPDIR: paths.tmp,
    HOME: work,
    LANG: "C.UTF-8",
  };
  if (options.security) {
    // One role per line as `name: <JSON>` (JSON is flow-style YAML); Elasticsearch splits roles.yml at column-0 lines.
    const roles = Object.entries(options.security.roles ?? {}).map(([name, role]) => `${name}: ${JSON.stringify(role)}\n`);
    writeFileSync(join(paths.config, "roles.yml"), roles.join(""));
    if (user) chownSync(join(paths.config, "roles.yml"), user.uid, user.gid);
    for (const { username, password, roles } of options.security.users) {
      const added = spawnSync(join(home, "bin", "elasticsearch-users"), ["useradd", username, "-p", password, "-r", roles.join(",")], {
        cwd: work, env, encoding: "utf8", ...(user ? { uid: user.uid, gid: user.gid } : {}),
      });
      if (added.status !== 0) {
        rmSync(work, { recursive: true, force: true });
        throw new Error(`elasticsearch-users could not add the test user ${username}: ${(added.stderr || added.stdout || String(added.error)).trim()}`);
      }
    }
  }
  const healthUser = options.security?.users.find((entry) => entry.roles.includes("superuser")) ?? options.security?.users[0];

  log(`starting Elasticsearch ${version} on 127.0.0.1:${httpPort} (java ${javaHome}${user ? `, as uid ${user.uid}` : ""})`);
  let output = "";
  const child: ChildProcess = spawn(join(home, "bin", "elasticsearch"), [], {
    cwd: work,
    detached: true, // its own process group, so stop() reaches the CLI launcher and the server JVM it forks
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
    killGroup("SIGKILL"); // the server JVM may outlive the launcher for a moment
    rmSync(work, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await Promise.race([
      waitForHealth(url, options.startTimeoutMs ?? 180_000, healthUser),
      exited.then(() => { throw new Error(`Elasticsearch exited during start-up:\n${output.trim().slice(-4000)}`); }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  log(`ready at ${url} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { url, pid: child.pid, stop };
}

/** A Java 21+ home: ES_JAVA_HOME, JAVA_HOME, then the newest under /usr/lib/jvm. */
export function findJava(): string {
  const candidates = [process.env.ES_JAVA_HOME, process.env.JAVA_HOME].filter((v): v is string => !!v);
  const jvmRoot = "/usr/lib/jvm";
  if (existsSync(jvmRoot)) {
    const found = readdirSync(jvmRoot).map((name) => join(jvmRoot, name));
    candidates.push(...found.sort((a, b) => javaMajor(b) - javaMajor(a)));
  }
  const usable = candidates.find((home) => javaMajor(home) >= MIN_JAVA && existsSync(join(home, "bin", "java")));
  if (!usable) {
    throw new Error(`no Java ${MIN_JAVA}+ found (looked at ES_JAVA_HOME, JAVA_HOME and ${jvmRoot}/*): Elasticsearch 9 ` +
      `needs one. Install e.g. \`apt-get install openjdk-21-jdk-headless\` (or Temurin 21+) and/or set ES_JAVA_HOME.`);
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

/**
 * The distribution unpacked once per version into the system temp dir (not the home cache: when we run as root the
 * unprivileged Elasticsearch user must be able to read it, and /root is private). Unpacked aside, then renamed.
 */
function unpack(zip: string, version: string, log: (line: string) => void): string {
  const parent = join(tmpdir(), "flowlogs-to-elastic");
  const home = join(parent, `elasticsearch-${version}`);
  if (existsSync(join(home, "bin", "elasticsearch"))) return home;
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
    const unpacked = join(scratch, `elasticsearch-${version}`);
    spawnSync("chmod", ["-R", "a+rX", unpacked]);
    try {
      renameSync(unpacked, home);
    } catch (error) {
      // Another run unpacked the same version at the same time: use theirs.
      if (!existsSync(join(home, "bin", "elasticsearch"))) throw error;
    }
    return home;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Elasticsearch refuses to run as root: when we are root, run it as `nobody`. */
export function runAsUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith("nobody:"));
  if (!line) throw new Error("running as root and no `nobody` user exists: Elasticsearch refuses to run as root; run the tests as a normal user");
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

async function waitForHealth(url: string, timeoutMs: number, credentials?: { username: string; password: string }): Promise<void> {
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
    if (Date.now() > deadline) throw new Error(`Elasticsearch at ${url} was not healthy within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
