// `run [--once]`: the collector service. Reads settings from environment variables (see
// collector/src/service/README.md), polls the flow-log containers and writes documents to the configured sink until
// SIGTERM/SIGINT; `--once` does one pass and exits (tests, demos, backfills).
import { ConfigError, VARIABLES, loadConfig, openEnrichment } from "../service/config";
import { runCollector } from "../service/collector";
import { escapeControl } from "../safeText";
import { EXIT, type Command } from "./command";

const USAGE = `usage: flowlogs-collector run [--once]

Reads Azure NSG and VNet flow-log blobs (PT1H.json) and writes one ECS document per flow tuple to the configured
sink, tailing growing blobs by their committed blocks, with checkpoints and leases in Azure Storage so replicas can
share the work. Structured JSON logs go to stderr. --once processes what is there and exits.

Environment:
${Object.entries(VARIABLES).map(([name, text]) => `  ${name}\n      ${text}`).join("\n")}

Exit status: 0 done (stopped by a signal, or --once finished without failed blobs), 1 failure, 2 usage or
configuration error.`;

export const runCommand: Command = {
  summary: "collect flow logs from blob storage into Elasticsearch (or stdout); --once for a single pass",
  usage: USAGE,
  async run(args, io) {
    if (args.includes("--help") || args.includes("-h")) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    const unknown = args.filter((arg) => arg !== "--once");
    if (unknown.length) {
      io.stderr.write(`run: unknown argument ${JSON.stringify(unknown[0])}\n${USAGE}\n`);
      return EXIT.usage;
    }
    let config;
    let enrichment;
    try {
      config = loadConfig(process.env);
      enrichment = openEnrichment(config.geoip); // before any reading: a bad database file stops start-up
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      io.stderr.write(`run: ${escapeControl(error.message)}\nRun \`flowlogs-collector run --help\` for every setting.\n`);
      return EXIT.usage;
    }
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    try {
      const summary = await runCollector({
        config,
        enrichment: enrichment ?? null,
        once: args.includes("--once"),
        signal: controller.signal,
        writeLog: (line) => io.stderr.write(line),
      });
      // A service stopped by the platform is done whatever it waited out on the way; a pass says how it went.
      if (controller.signal.aborted || !args.includes("--once")) return EXIT.ok;
      return summary.metrics.blobsFailed > 0 || summary.metrics.errors > 0 ? EXIT.failure : EXIT.ok;
    } catch (error) {
      // A setting whose target turns out unusable at start-up (the threat list file's content).
      if (!(error instanceof ConfigError)) throw error;
      io.stderr.write(`run: ${escapeControl(error.message)}\n`);
      return EXIT.usage;
    } finally {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
    }
  },
};
