// `npm run index-assets -- [--namespace NS] [--retention 30d] [--retention-mode auto|ilm|lifecycle|none]
// [--geoip auto|off|required]`: puts the flow-log index templates, retention and pipeline (dashboards/elasticsearch)
// into the cluster at ES_URL, for clusters whose Elastic side is not managed by a Pulumi stack (the collector
// refuses to write until they exist). An OpenSearch cluster is recognised (`GET /`) and gets its own variant.
// Credentials come from the environment: ES_API_KEY or ES_USERNAME/ES_PASSWORD.
import { readCommandLine } from "./commandLine";
import { Client } from "@elastic/elasticsearch";
import { PLAIN_JSON_HEADERS } from "../collector/src/sink/elasticsearch";
import { applyIndexAssets, type AppliedIndexAssets } from "../dashboards/src/applyIndexAssets";
import { applyOpenSearchIndexAssets, identifyCluster } from "../dashboards/src/applyOpenSearchIndexAssets";
import type { IndexAssetOptions } from "../dashboards/src/indexAssets";

const USAGE = "usage: ES_URL=https://... [ES_API_KEY=... | ES_USERNAME=... ES_PASSWORD=...] npm run index-assets -- " +
  "[--namespace NS] [--retention 30d] [--retention-mode auto|ilm|lifecycle|none] [--geoip auto|off|required]";

async function main(): Promise<number> {
  const values = readCommandLine({
    namespace: { type: "string" }, retention: { type: "string" }, "retention-mode": { type: "string" }, geoip: { type: "string" }, help: { type: "boolean" },
  }, USAGE);
  if (typeof values === "number") return values;
  const { ES_URL: url, ES_API_KEY: apiKey, ES_USERNAME: username, ES_PASSWORD: password } = process.env;
  if (!url) {
    console.error(`ES_URL is not set: the Elasticsearch endpoint to put the index assets into\n${USAGE}`);
    return 2;
  }
  const auth = apiKey ? { apiKey } : username && password ? { username, password } : undefined;
  const options: IndexAssetOptions = {
    namespace: values.namespace,
    retention: values.retention,
    retentionMode: values["retention-mode"] as IndexAssetOptions["retentionMode"],
    geoip: values.geoip as IndexAssetOptions["geoip"],
  };
  let client: Client | undefined;
  try {
    let applied: AppliedIndexAssets;
    // Anything that does not answer `GET /` as OpenSearch takes the Elasticsearch path, which reports its own errors
    // (the Elasticsearch test distribution has no `GET /`; a key without `monitor` may not read it).
    const identity = await identifyCluster({ node: url, auth }).catch(() => undefined);
    if (identity?.distribution === "opensearch") {
      applied = await applyOpenSearchIndexAssets({ node: url, auth }, options);
    } else {
      client = new Client({ node: url, ...(auth ? { auth } : {}), headers: { ...PLAIN_JSON_HEADERS } });
      applied = await applyIndexAssets(client, options);
    }
    for (const request of applied.requests) console.log(`put ${request.kind} ${request.name}`);
    for (const { asset, reason } of applied.skipped) console.log(`left out ${asset}: ${reason}`);
    console.log(`index mode ${applied.indexMode.mode}: ${applied.indexMode.reason}` +
      (applied.source ? `; _source ${applied.source}${applied.indexMode.mode === "logsdb" && applied.source === "stored" ? " (synthetic _source needs an Enterprise licence)" : ""}` : ""));
    console.log(`dead letters index mode ${applied.deadLetterIndexMode.mode}: ${applied.deadLetterIndexMode.reason}`);
    console.log(`the collector can now write to ${applied.dataStream} (dead letters: ${applied.deadLetterDataStream})`);
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    await client?.close();
  }
}

main().then((code) => process.exit(code));
