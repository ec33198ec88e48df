// Builds the sink the configuration names. The sinks live in ../sink with their own tests.
import type { Sink } from "../model";
import { ElasticsearchSink } from "../sink/elasticsearch";
import { CaFileError } from "../sink/httpBulk";
import { LogzioSink } from "../sink/logzio";
import { OpenSearchSink } from "../sink/opensearch";
import { StdoutSink } from "../sink/stdout";
import { ConfigError, type SinkConfig } from "./config";
import type { Logger } from "./logger";

/** `writers`: how many jobs may write at once (the jobs under way, asked at each write), so a shared bulk request need not wait longer. */
export function createSink(config: SinkConfig, log: Logger, writers: number | (() => number) = 1): Sink {
  const sinkLog = (line: string): void => log("info", "sink", { message: line });
  switch (config.kind) {
    case "stdout":
      return new StdoutSink({ namespace: config.namespace });
    case "opensearch":
      return caFileNamed(() => new OpenSearchSink({
        node: config.url,
        auth: config.apiKey ? { apiKey: config.apiKey } : config.basic,
        tls: config.caFile ? { caFile: config.caFile } : undefined,
        namespace: config.namespace,
        lingerMs: config.bulkLingerMs, writers,
        log: sinkLog,
      }));
    case "logzio":
      // The sink never puts the token in a log line or error (tested in test/collector/sinkLogzio.test.ts).
      return new LogzioSink({ url: config.url, token: config.token, type: config.type, log: sinkLog });
    case "elasticsearch":
      return caFileNamed(() => new ElasticsearchSink({
        node: config.url,
        auth: config.apiKey ? { apiKey: config.apiKey } : config.basic,
        dedupeAcrossBackingIndices: config.dedupeAcrossBackingIndices,
        tls: config.caFingerprint || config.caFile ? { caFingerprint: config.caFingerprint, caFile: config.caFile } : undefined,
        namespace: config.namespace,
        lingerMs: config.bulkLingerMs, writers,
        log: sinkLog,
      }));
  }
}

/**
 * The cluster sinks read FLOWLOGS_ES_CA_FILE when they are built (the container mounts it; loadConfig does not look
 * at files): a path that cannot be read stops start-up as a setting's fault, named (exit 2), not a crash.
 */
function caFileNamed<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof CaFileError) throw new ConfigError(`FLOWLOGS_ES_CA_FILE: ${error.message}`);
    throw error;
  }
}
