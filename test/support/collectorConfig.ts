// The collector's settings for a test on the local Azurite: one source container, a checkpoint container, the
// stdout sink (tests pass their own sink, or set another) and no status server, plus whatever the test sets. As an
// environment (for child processes) or as the parsed config.
import { loadConfig, type CollectorConfig } from "../../collector/src/service/config";
import { azuriteConnectionString } from "./env";

export function azuriteCollectorEnv(source: string, checkpoints: string, settings: Record<string, string> = {}): Record<string, string> {
  return {
    FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
    FLOWLOGS_CONTAINERS: source,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints,
    FLOWLOGS_SINK: "stdout",
    FLOWLOGS_METRICS_PORT: "off",
    ...settings,
  };
}

export function azuriteCollectorConfig(source: string, checkpoints: string, settings: Record<string, string> = {}): CollectorConfig {
  return loadConfig(azuriteCollectorEnv(source, checkpoints, settings));
}
