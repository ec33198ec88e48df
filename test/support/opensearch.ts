// Starts a real, single-node OpenSearch for the tests: the project's integ-test distribution from Maven Central
// (`org.opensearch.distribution.integ-test-zip:opensearch`, server + transport-netty4 only, no bundled JDK, no
// security plugin), on loopback, plain HTTP. What it can and cannot do: dashboards/elasticsearch/README.md.
// Download, unpack, Java, the unprivileged JVM and its stop() are shared with Elasticsearch: jvmService.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chownTree, findJavaHome, launchNode, prepareNode, singleNodeSettings, withPortRetries } from "./jvmService";

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

export function startOpenSearch(options: OpenSearchOptions = {}): Promise<RunningOpenSearch> {
  return withPortRetries(() => startOpenSearchOnce(options), options.log ?? (() => {}));
}

async function startOpenSearchOnce(options: OpenSearchOptions): Promise<RunningOpenSearch> {
  const log = options.log ?? (() => {});
  const version = process.env.OPENSEARCH_VERSION || options.version || DEFAULT_VERSION;
  const started = Date.now();
  const node = await prepareNode({
    product: "OpenSearch",
    artifact: { groupId: "org.opensearch.distribution.integ-test-zip", artifactId: "opensearch", version, packaging: "zip" },
    javaHome: findOpenSearchJava(version), envPrefix: "OPENSEARCH", workPrefix: "flowlogs-os-", log,
  });
  const { paths, user } = node;
  writeFileSync(join(paths.config, "opensearch.yml"), [...singleNodeSettings("flowlogs-test-os", node), ""].join("\n"));
  const heap = options.heap ?? "384m";
  // The shipped jvm.options sets 1g and writes GC logs relative to the working directory: replace both.
  const jvmOptions = join(paths.config, "jvm.options");
  writeFileSync(jvmOptions, readFileSync(jvmOptions, "utf8")
    .replace(/^-Xm[sx]\S*$/gm, "")
    .replace(/^\S*-Xlog:gc.*$/m, "")
    .concat(`\n-Xms${heap}\n-Xmx${heap}\n`));
  if (user) chownTree(node.work, user.uid, user.gid);
  const running = await launchNode(node, { log, started, startTimeoutMs: options.startTimeoutMs });
  return { url: running.url, version, stop: running.stop };
}

/**
 * OpenSearch 2.x installs a security manager, which Java 24 removed: it needs a Java 17–23 (3.x: 21+).
 * OPENSEARCH_JAVA_HOME, JAVA_HOME, then the newest fitting one under /usr/lib/jvm.
 */
export function findOpenSearchJava(version: string): string {
  const [min, max] = Number(version.split(".")[0]) >= 3 ? [21, Infinity] : [17, 23];
  return findJavaHome({
    envVar: "OPENSEARCH_JAVA_HOME", min, max, neededBy: `OpenSearch ${version}`, install: "`apt-get install openjdk-17-jdk-headless`",
  });
}
