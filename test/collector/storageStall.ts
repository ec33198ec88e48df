// The service against Azurite behind a proxy that stalls the storage requests a test picks (service.stall.test.ts,
// service.stop.test.ts): what each request through the proxy is, the world around it, and the service loop run
// until stopped.
import { BlobServiceClient } from "@azure/storage-blob";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";
import { azuriteConnectionString } from "../support/env";
import { startFaultyProxy, type Fault, type FaultyProxy } from "../support/faultyProxy";
import type { ScratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector, type RunOptions, type RunSummary } from "../../collector/src/service/collector";
import { azuriteCollectorConfig } from "./azuriteCollectorConfig";
import type { LogEvent } from "../../collector/src/service/logger";

export const STALL_HOUR = new Date("2026-11-20T10:00:00Z");

export type RequestKind = "listing" | "blockList" | "download" | "checkpointRead" | "checkpointWrite" | "lease" | "other";

/** What a request through the proxy is, from its method and path. */
export function requestKind(method: string, path: string, source: string, checkpoints: string): RequestKind {
  const account = azuriteBlobEndpoint(azuriteConnectionString()).pathname; // "/devstoreaccount1"
  const query = path.includes("?") ? path.slice(path.indexOf("?")) : "";
  if (path.startsWith(`${account}/${source}?`) && query.includes("comp=list")) return "listing";
  if (path.startsWith(`${account}/${source}/`) && method === "GET") return query.includes("comp=blocklist") ? "blockList" : query.includes("comp=") ? "other" : "download";
  if (path.startsWith(`${account}/${checkpoints}/`)) {
    if (query.includes("comp=lease")) return "lease";
    if (method === "GET" && !query.includes("comp=")) return "checkpointRead";
    if (method === "PUT" && !query.includes("comp=")) return "checkpointWrite";
  }
  return "other";
}

/**
 * Source and checkpoint containers, a writer, and the service's client reaching Azurite through a proxy that stalls
 * the requests `stall` picks, with a storage deadline of `deadlineMs`. The SDK's retries are its own (4 tries), only
 * their delays shortened to keep tests fast.
 */
export async function stallWorld(
  scratch: ScratchContainers, label: string, stall: (kind: RequestKind) => Fault | undefined,
  { hour = STALL_HOUR, deadlineMs }: { hour?: Date; deadlineMs: number },
) {
  const source = scratch.container(`${label}-src`);
  await source.create();
  const checkpoints = scratch.container(`${label}-cp`);
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method, path }) =>
    stall(requestKind(method, path, source.containerName, checkpoints.containerName)) ?? "forward");
  const blobService = BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url), {
    retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 50 },
  });
  const config = azuriteCollectorConfig(source, checkpoints, {
    FLOWLOGS_POLL_INTERVAL_SECONDS: "1",
    FLOWLOGS_MAX_ATTEMPTS: "2",
    FLOWLOGS_STORAGE_TIMEOUT_MS: String(deadlineMs),
    FLOWLOGS_REPLICA_ID: "stall",
  });
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour, seed: 53 });
  return { source, checkpoints, proxy, blobService, config, writer };
}

/** Runs the service loop until `stop()`, collecting its events. */
export function serve(options: Omit<RunOptions, "signal" | "onEvent" | "writeLog">) {
  const events: LogEvent[] = [];
  const controller = new AbortController();
  const done: Promise<RunSummary> = runCollector({ ...options, signal: controller.signal, writeLog: () => {}, onEvent: (e) => events.push(e) });
  return { events, done, stop: async () => { controller.abort(); return done; } };
}

/** Stops the proxy first: without the deadline, that is what ends a stalled request, so the service can stop. */
export async function stopAll(proxy: FaultyProxy, service: { stop(): Promise<unknown> }): Promise<void> {
  await proxy.stop();
  await service.stop();
}

/**
 * Waits for `check`; the timeout only tells a job that never ends from one that ends. Jobs here take about 5 s alone
 * and went past 20 s on a machine running another test suite beside them: 40 s by default.
 */
export async function until(what: string, check: () => boolean, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
