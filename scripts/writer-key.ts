// `npm run writer-key -- --stack <name> | --namespace <ns> [--dedupe-across-backing-indices] [--json]`
// Prints the request that makes the collector's writer key by hand, for elasticsearch.writerKey.external (Elastic
// Cloud Serverless has no users, and a key made with an API key may carry no privileges, so the stack cannot mint
// it). The body comes from writerKeyRequest, the same one the WriterApiKey resource sends. With --stack, the
// namespace and dedupe setting are read from Pulumi.<stack>.yaml (or --config-file). --json prints the body alone.
import { resolve } from "node:path";
import { readCommandLine } from "./commandLine";
import { readElasticConfig } from "../infra/elastic/config";
import { writerKeyRequest } from "../infra/elastic/elasticsearch/writerApiKeyResource";
import { loadStackConfigFiles } from "../infra/plan/stackFile";
import { rawProjectConfig } from "../infra/stackConfig";
import { checkNamespace, DEFAULT_NAMESPACE } from "../collector/src/sink/dataStreams";

const USAGE = "usage: npm run writer-key -- (--stack <name> [--dir <folder with Pulumi.yaml>] [--config-file <Pulumi.<stack>.yaml>] | --namespace <ns> [--dedupe-across-backing-indices]) [--json]";

function fromStack(stack: string, dir: string, configFile: string | undefined): { namespace: string; dedupe: boolean } {
  const files = loadStackConfigFiles({ stack, dir, configFile });
  const problems: string[] = [];
  const settings = readElasticConfig(rawProjectConfig(files.project, files.config).elasticsearch, undefined, (key, text) => problems.push(`${key}: ${text}`));
  if (problems.length) throw new Error(`Pulumi.${stack}.yaml:\n  ${problems.join("\n  ")}`);
  if (!settings) throw new Error(`Pulumi.${stack}.yaml has no \`elasticsearch\` block: give --namespace instead`);
  return { namespace: settings.assets.namespace ?? DEFAULT_NAMESPACE, dedupe: settings.writerKey.dedupeAcrossBackingIndices };
}

function main(): number {
  const values = readCommandLine({
    stack: { type: "string" }, dir: { type: "string" }, "config-file": { type: "string" }, namespace: { type: "string" },
    "dedupe-across-backing-indices": { type: "boolean", default: false }, json: { type: "boolean", default: false }, help: { type: "boolean" },
  }, USAGE);
  if (typeof values === "number") return values;
  if (Boolean(values.stack) === Boolean(values.namespace)) {
    console.error(`give exactly one of --stack and --namespace\n${USAGE}`);
    return 2;
  }
  let target: { namespace: string; dedupe: boolean };
  try {
    target = values.stack
      ? fromStack(values.stack, resolve(values.dir ?? resolve(__dirname, "..")), values["config-file"] && resolve(values["config-file"]))
      : { namespace: checkNamespace(values.namespace!), dedupe: values["dedupe-across-backing-indices"] === true };
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  const body = writerKeyRequest({
    name: `flowlogs-collector-${target.namespace}`, namespace: target.namespace, dedupeAcrossBackingIndices: target.dedupe,
    metadata: { made_for: "elasticsearch.writerKey.external" },
  });
  if (values.json) {
    console.log(JSON.stringify(body, null, 2));
    return 0;
  }
  console.log([
    `# The collector's writer key for namespace "${target.namespace}". Run this in Kibana > Dev Tools signed in as yourself`,
    "# (a user: a key made with an API key gets no privileges), or paste role_descriptors into Kibana > API keys >",
    "# Create API key > Control security privileges. Add \"expiration\" if the key should expire. Then:",
    "#   pulumi config set --secret collectorEsApiKey <the answer's \"encoded\">",
    "POST /_security/api_key",
    JSON.stringify(body, null, 2),
  ].join("\n"));
  return 0;
}

process.exit(main());
