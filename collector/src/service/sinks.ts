// Builds the sink the configuration names. Both sinks live in ../sink with their own tests.
import type { Sink } from "../model";
import { ElasticsearchSink } from "../sink/elasticsearch";
import { StdoutSink } from "../sink/stdout";
import type { SinkConfig } from "./config";
import type { Logger } from "./logger";

export function createSink(config: SinkConfig, log: Logger): Sink {
  if (config.kind === "stdout") return new StdoutSink({ namespace: config.namespace });
  return new ElasticsearchSink({
    node: config.url,
    auth: config.apiKey ? { apiKey: config.apiKey } : config.basic,
    dedupeAcrossBackingIndices: config.dedupeAcrossBackingIndices,
    tls: config.caFingerprint || config.caFile ? { caFingerprint: config.caFingerprint, caFile: config.caFile } : undefined,
    namespace: config.namespace,
    log: (line) => log("info", "sink", { message: line }),
  });
}
