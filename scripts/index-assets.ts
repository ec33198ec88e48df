// `npm run index-assets -- [--namespace NS] [--retention 30d] [--retention-mode auto|ilm|lifecycle|none]
// [--geoip auto|off|required]`: puts the flow-log index templates, retention and pipeline (dashboards/elasticsearch)
// into the cluster at ES_URL, for clusters whose Elastic side is not managed by a Pulumi stack (the collector
// refuses to write until they exist). Credentials come from the environment: ES_API_KEY or ES_USERNAME/ES_PASSWORD.
import { parseArgs } from "node:util";
import { Client } from "@elastic/elasticsearch";
import { applyIndexAssets } from "../dashboards/src/applyIndexAssets";
import type { IndexAssetOptions } from "../dashboards/src/indexAssets";

const USAGE = "usage: ES_URL=https://... [ES_API_KEY=... | ES_USERNAME=... ES_PASSWORD=...] npm run index-assets -- " +
  "[--namespace NS] [--retention 30d] [--retention-mode auto|ilm|lifecycle|none] [--geoip auto|off|required]";

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        namespace: { type: "string" }, retention: { type: "string" }, "retention-mode": { type: "string" },
        geoip: { type: "string" }, help: { type: "boolean" },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const { ES_URL: url, ES_API_KEY: apiKey, ES_USERNAME: username, ES_PASSWORD: password } = process.env;
  if (!url) {
    console.error(`ES_URL is not set: the Elasticsearch endpoint to put the index assets into\n${USAGE}`);
    return 2;
  }
  const client = new Client({ node: url, ...(apiKey ? { auth: { apiKey } } : username && password ? { auth: { username, password } } : {}) });
  try {
    const applied = await applyIndexAssets(client, {
      namespace: values.namespace,
      retention: values.retention,
      retentionMode: values["retention-mode"] as IndexAssetOptions["retentionMode"],
      geoip: values.geoip as IndexAssetOptions["geoip"],
    });
    for (const request of applied.requests) console.log(`put ${request.kind} ${request.name}`);
    for (const { asset, reason } of applied.skipped) console.log(`left out ${asset}: ${reason}`);
    console.log(`the collector can now write to ${applied.dataStream} (dead letters: ${applied.deadLetterDataStream})`);
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    await client.close();
  }
}

main().then((code) => process.exit(code));
