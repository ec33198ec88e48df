// `npm test`: starts the real services the selected tests need (Azurite, Elasticsearch, OpenSearch) once for the whole run,
// runs every *.test.ts file with node's test runner (one process per file, so Pulumi mocks never leak; the collector's
// on the image's Node.js), and stops everything it started, whatever the outcome. Arguments narrow the run to files
// or folders under test/.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { delimiter, dirname, join, relative, resolve, sep } from "node:path";
import { startAzurite } from "./support/azurite";
import { startElasticsearch } from "./support/elasticsearch";
import { startOpenSearch } from "./support/opensearch";
import { ensurePulumiCli } from "../scripts/pulumi-cli";
import { ensureImageNode } from "../scripts/image-node";

const root = resolve(__dirname, "..");

function testFiles(paths: string[]): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) if (entry !== "node_modules") walk(join(path, entry));
    } else if (path.endsWith(".test.ts")) {
      found.push(path);
    }
  };
  for (const path of paths.length ? paths : [join(root, "test")]) walk(resolve(path));
  return found;
}

/** The collector's tests: on the image's Node.js (IMAGE_NODE). */
function onImageNode(file: string): boolean {
  return /^test\/(collector|e2e)\//.test(relative(root, file).split(sep).join("/"));
}

async function main(): Promise<number> {
  const files = testFiles(process.argv.slice(2));
  if (files.length === 0) {
    console.error("no *.test.ts files selected");
    return 1;
  }
  const sources = files.map((file) => readFileSync(file, "utf8")).join("\n");
  const stops: Array<() => Promise<void>> = [];
  // Pulumi's dynamic providers start `node` from PATH: the one running the tests, not whichever the machine has first.
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [dirname(process.execPath), process.env.PATH].filter(Boolean).join(delimiter) };
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch((error) => console.error(`stop failed: ${error}`));
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  process.once("SIGTERM", () => void stopAll().then(() => process.exit(143)));
  try {
    // The real Pulumi engine: nothing to start or stop, but the first run on a machine builds it (minutes),
    // before the services start, so they do not idle meanwhile.
    if (/\bpulumiCli\(/.test(sources) && !process.env.PULUMI_CLI) {
      env.PULUMI_CLI = await ensurePulumiCli({ log: (line) => console.log(`pulumi cli: ${line}`) });
    }
    // The collector image's Node.js (collector/Dockerfile), fetched once per machine from the npm registry.
    if (/imageNode\(/.test(sources) || files.some(onImageNode)) {
      env.IMAGE_NODE = await ensureImageNode({ log: (line) => console.log(`image node: ${line}`) });
    }
    if (/azuriteConnectionString\(/.test(sources)) {
      const azurite = await startAzurite();
      stops.push(azurite.stop);
      env.AZURITE_CONNECTION_STRING = azurite.connectionString;
      console.log(`azurite: ${azurite.blobUrl}`);
    }
    if (/elasticsearchUrl\(/.test(sources) && !process.env.ES_URL) {
      const es = await startElasticsearch({ log: (line) => console.log(`elasticsearch: ${line}`) });
      stops.push(es.stop);
      env.ES_URL = es.url;
    }
    // OpenSearch only for the files that ask for it (about 15 s to start, 384 MB heap); OPENSEARCH_URL: your own.
    if (/opensearchUrl\(/.test(sources) && !process.env.OPENSEARCH_URL) {
      const os = await startOpenSearch({ log: (line) => console.log(`opensearch: ${line}`) });
      stops.push(os.stop);
      env.OPENSEARCH_URL = os.url;
    }
    // The collector's own tests run on the Node.js its image pins, as the collector does in production; the rest (the
    // Pulumi program, index assets, Kibana objects, scripts) on the Node.js running `npm test`, as `pulumi up` does.
    let code = 0;
    for (const [node, group] of [[process.execPath, files.filter((f) => !onImageNode(f))], [env.IMAGE_NODE, files.filter(onImageNode)]] as const) {
      if (group.length === 0) continue;
      if (node !== process.execPath) console.log(`image node: ${group.length} collector test files on ${node}`);
      const args = ["--import", "tsx", "--test", "--test-concurrency=2", ...group.map((f) => relative(root, f))];
      const status = await new Promise<number>((done) => {
        const child = spawn(node!, args, { cwd: root, env, stdio: "inherit" });
        child.once("exit", (status, signal) => done(status ?? (signal ? 1 : 0)));
      });
      code ||= status;
    }
    return code;
  } finally {
    await stopAll();
  }
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
