// `npm run bench`: prints one `name: value` line per figure (progress goes to stderr). Starts Azurite and
// Elasticsearch (or uses ES_URL) and stops them at the end. Figures come from one run on this machine: compare
// ratios measured together, not absolute numbers across machines.
import { spawn } from "node:child_process";
import { startAzurite } from "../test/support/azurite";
import { startElasticsearch } from "../test/support/elasticsearch";
import { costDataset } from "./bench/costDataset";
import { benchIngestCost } from "./bench/ingestCost";
import { benchListing } from "./bench/listing";
import { buildCollector } from "./bench/imageRuntime";
import { benchParse } from "./bench/parse";
import { benchPeakRss } from "./bench/peakRss";
import { benchReadAmplification } from "./bench/readAmplification";
import { progress } from "./bench/stats";
import { ensureImageNode, imageNodeVersion } from "./image-node";

/**
 * Figures measured in this process (the parse pipeline, the loader, the storage requests) are the collector's code
 * too, so the bench runs on the Node.js the image pins: started on another, it runs itself again on that one.
 */
async function onImageNode(): Promise<boolean> {
  if (process.version === `v${imageNodeVersion()}`) return true;
  const node = await ensureImageNode({ log: progress });
  progress(`running the bench on Node.js ${imageNodeVersion()} (collector/Dockerfile): ${node}`);
  const status = await new Promise<number>((done) => {
    spawn(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" })
      .once("exit", (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
  process.exitCode = status;
  return false;
}

async function main(): Promise<void> {
  if (!(await onImageNode())) return;
  progress("generating the cost dataset (16 VNet NICs, 3 hours)");
  const dataset = await costDataset();
  const parse = await benchParse(dataset);
  if (process.argv.includes("--parse-only")) return; // `npm run bench -- --parse-only`: the CPU figures alone
  progress("building the collector as the image does (collector/dist)");
  buildCollector();
  const azurite = await startAzurite();
  const es = process.env.ES_URL ? undefined : await startElasticsearch({ log: (line) => progress(`elasticsearch: ${line}`) });
  try {
    await benchReadAmplification(azurite.connectionString);
    await benchListing(azurite.connectionString);
    await benchPeakRss(azurite.connectionString);
    await benchIngestCost(dataset, azurite.connectionString, process.env.ES_URL ?? es!.url, es?.pid, parse, azurite.pid);
  } finally {
    await es?.stop();
    await azurite.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
