// The collector's settings for a test on Azurite: one flow-log container, one checkpoint container, documents to
// stdout (tests pass their own sink), no status endpoint; `extra` adds or overrides FLOWLOGS_* variables.
import type { ContainerClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "../support/env";
import { loadConfig, type CollectorConfig } from "../../collector/src/service/config";

export function azuriteCollectorConfig(source: ContainerClient, checkpoints: ContainerClient, extra: Record<string, string> = {}): CollectorConfig {
  return loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
    FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_SINK: "stdout",
    FLOWLOGS_METRICS_PORT: "off",
    ...extra,
  });
}
