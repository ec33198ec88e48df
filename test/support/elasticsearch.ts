// Starts a real, single-node Elasticsearch for the tests, the demo and the benchmarks: Elastic's integ-test
// distribution from Maven Central (server + security module, no bundled JDK), on loopback, security off.
// What this distribution can and cannot do is recorded in dashboards/elasticsearch/README.md.
// Download, unpack, Java, the unprivileged JVM and its stop() are shared with OpenSearch: jvmService.ts.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chownTree, findJavaHome, launchNode, prepareNode, singleNodeSettings, withPortRetries } from "./jvmService";

export { chownTree, javaMajor, runAsUser } from "./jvmService";

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
  /** Extra JVM options, e.g. `-Des.<name>_feature_flag_enabled=true` to measure a feature a later release turns on. */
  jvmOptions?: string[];
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

export function startElasticsearch(options: ElasticsearchOptions = {}): Promise<RunningElasticsearch> {
  return withPortRetries(() => startElasticsearchOnce(options), options.log ?? (() => {}));
}

async function startElasticsearchOnce(options: ElasticsearchOptions): Promise<RunningElasticsearch> {
  const log = options.log ?? (() => {});
  const version = process.env.ES_VERSION || options.version || DEFAULT_VERSION;
  const started = Date.now();
  const node = await prepareNode({
    product: "Elasticsearch",
    artifact: { groupId: "org.elasticsearch.distribution.integ-test-zip", artifactId: "elasticsearch", version, packaging: "zip" },
    javaHome: findJava(), envPrefix: "ES", workPrefix: "flowlogs-es-", log,
  });
  const { paths, user, work } = node;
  writeFileSync(join(paths.config, "elasticsearch.yml"), [
    ...singleNodeSettings("flowlogs-test", node),
    ...(options.security
      ? ["xpack.security.enabled: true", "xpack.security.http.ssl.enabled: false", "xpack.security.transport.ssl.enabled: false"]
      : ["xpack.security.enabled: false"]),
    "",
  ].join("\n"));
  const heap = options.heap ?? "512m";
  writeFileSync(join(paths.config, "jvm.options.d", "heap.options"), `-Xms${heap}\n-Xmx${heap}\n`);
  if (options.jvmOptions?.length) writeFileSync(join(paths.config, "jvm.options.d", "extra.options"), `${options.jvmOptions.join("\n")}\n`);
  // The shipped jvm.options writes GC logs relative to the working directory; drop that line.
  const jvmOptions = join(paths.config, "jvm.options");
  writeFileSync(jvmOptions, readFileSync(jvmOptions, "utf8").replace(/^-Xlog:gc.*$/m, ""));
  if (options.security) {
    // One role per line as `name: <JSON>` (JSON is flow-style YAML); Elasticsearch splits roles.yml at column-0 lines.
    const roles = Object.entries(options.security.roles ?? {}).map(([name, role]) => `${name}: ${JSON.stringify(role)}\n`);
    writeFileSync(join(paths.config, "roles.yml"), roles.join(""));
  }
  // Before elasticsearch-users: it runs as that user and writes into the config directory.
  if (user) chownTree(work, user.uid, user.gid);
  for (const { username, password, roles } of options.security?.users ?? []) {
    const added = spawnSync(join(node.home, "bin", "elasticsearch-users"), ["useradd", username, "-p", password, "-r", roles.join(",")], {
      cwd: work, env: node.env, encoding: "utf8", ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    if (added.status !== 0) {
      rmSync(work, { recursive: true, force: true });
      throw new Error(`elasticsearch-users could not add the test user ${username}: ${(added.stderr || added.stdout || String(added.error)).trim()}`);
    }
  }
  const healthUser = options.security?.users.find((entry) => entry.roles.includes("superuser")) ?? options.security?.users[0];
  return launchNode(node, { log, started, startTimeoutMs: options.startTimeoutMs, credentials: healthUser });
}

/** A Java 21+ home: ES_JAVA_HOME, JAVA_HOME, then the newest under /usr/lib/jvm. */
export function findJava(): string {
  return findJavaHome({
    envVar: "ES_JAVA_HOME", min: MIN_JAVA, neededBy: "Elasticsearch 9", install: "`apt-get install openjdk-21-jdk-headless` (or Temurin 21+)",
  });
}
