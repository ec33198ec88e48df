// Shared set-up of the end-to-end tests: per-file containers and data stream namespace on the real Azurite and
// Elasticsearch the runner started, the collector's configuration through its documented environment variables,
// exact counts, and checks of the dashboard panels' answers (the searches are scripts/demo/panels.ts).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import type { Client } from "@elastic/elasticsearch";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import type { PanelRow } from "../../scripts/demo/panels";
import { loadConfig, type CollectorConfig } from "../../collector/src/service/config";
import { flowDataStream } from "../../collector/src/sink/dataStreams";
import { esClient, uniqueNamespace } from "../support/esClient";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";

export const ROOT = resolve(__dirname, "../..");

export interface E2eWorld {
  namespace: string;
  dataStream: string;
  es: Client;
  service: BlobServiceClient;
  nsg: ContainerClient;
  vnet: ContainerClient;
  checkpoints: ContainerClient;
  /** The collector's environment for this world (what `run` reads); `overrides` win. */
  env(overrides?: Record<string, string>): Record<string, string>;
  config(overrides?: Record<string, string>): CollectorConfig;
  count(): Promise<number>;
  cleanup(): Promise<void>;
}

/** Fresh containers and namespace (label: 3–8 of a-z), with the index assets applied. */
export async function createWorld(label: string): Promise<E2eWorld> {
  const namespace = uniqueNamespace(label);
  const es = esClient(elasticsearchUrl());
  await applyIndexAssets(es, { namespace });
  const service = BlobServiceClient.fromConnectionString(azuriteConnectionString());
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const [nsg, vnet, checkpoints] = ["nsg", "vnet", "cp"].map((kind) => service.getContainerClient(`e2e-${label}-${kind}-${suffix}`));
  for (const container of [nsg, vnet, checkpoints]) await container.create();
  const dataStream = flowDataStream(namespace);
  const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
    FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
    FLOWLOGS_CONTAINERS: `${nsg.containerName},${vnet.containerName}`,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_ES_URL: elasticsearchUrl(),
    FLOWLOGS_ES_NAMESPACE: namespace,
    FLOWLOGS_METRICS_PORT: "off",
    FLOWLOGS_POLL_INTERVAL_SECONDS: "1",
    FLOWLOGS_LEASE_SECONDS: "15",
    FLOWLOGS_LOG_LEVEL: "warn",
    ...overrides,
  });
  return {
    namespace, dataStream, es, service, nsg, vnet, checkpoints, env,
    config: (overrides) => loadConfig(env(overrides)),
    count: () => countDocuments(es, dataStream),
    async cleanup() {
      for (const container of [nsg, vnet, checkpoints]) await container.deleteIfExists();
      await es.close();
    },
  };
}

/** Exact `_count` after a refresh (0 while the data stream does not exist yet). */
export async function countDocuments(es: Client, index: string): Promise<number> {
  try {
    await es.indices.refresh({ index });
    return (await es.count({ index })).count;
  } catch (error) {
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return 0;
    throw error;
  }
}

/**
 * Polls `check` every `everyMs` until it returns true, or fails naming `what` after `timeoutMs`, with what `context`
 * says then (e.g. a child's last log lines).
 */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 200, context?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context()}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface CollectorChild {
  child: ChildProcess;
  /** Its log's last 200,000 characters. */
  stderr(): string;
  /** Whether it has logged this event, however much it logged since (the kept log may no longer hold the line). */
  logged(event: string): boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** What a child collector has done so far, for a failure message: whether it exited, and its last log lines. */
export function childState(collector: CollectorChild): string {
  const { exitCode, signalCode } = collector.child;
  const state = exitCode !== null || signalCode !== null ? `exited (code ${exitCode}, signal ${signalCode})` : "still running";
  return `${state}; last log lines:\n${collector.stderr().slice(-3000)}`;
}

/** `node --import tsx collector/src/cli.ts run [...args]` with only the given environment (plus PATH). */
export function spawnCollector(env: Record<string, string>, args: string[] = []): CollectorChild {
  const child = spawn(process.execPath, ["--import", "tsx", "collector/src/cli.ts", "run", ...args], {
    cwd: ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  let partialLine = "";
  const events = new Set<string>();
  child.stderr!.on("data", (chunk) => {
    stderr = (stderr + String(chunk)).slice(-200_000);
    const lines = (partialLine + String(chunk)).split("\n");
    partialLine = lines.pop() ?? "";
    for (const line of lines) {
      const event = /"event":"([^"]+)"/.exec(line)?.[1];
      if (event) events.add(event);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once("exit", (code, signal) => done({ code, signal }));
  });
  return { child, stderr: () => stderr, logged: (event) => events.has(event), exited };
}

/** The structured log events (one JSON object per stderr line) a collector wrote. */
export function logEvents(stderr: string): Array<Record<string, any>> {
  return stderr.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
}

/**
 * A top-N panel is right when every key it shows has exactly the expected count, it shows min(N, keys) keys in
 * descending order, and nothing it left out outranks what it shows (ties at the cut may go either way).
 */
export function assertTopN(rows: PanelRow[], keyColumn: string, countColumn: string, expected: Map<string | number, number>, size: number, what: string): void {
  assert.equal(rows.length, Math.min(size, expected.size), `${what}: number of rows`);
  const shown = new Set<string | number>();
  let previous = Infinity;
  for (const row of rows) {
    const key = row[keyColumn] as string | number;
    const count = row[countColumn] as number;
    assert.equal(count, expected.get(key), `${what}: count for ${key}`);
    assert.ok(count <= previous, `${what}: rows are in descending order`);
    previous = count;
    shown.add(key);
  }
  const cut = Math.min(...rows.map((row) => row[countColumn] as number));
  for (const [key, count] of expected) if (!shown.has(key)) assert.ok(count <= cut, `${what}: ${key} (${count}) should have been shown`);
}

export { panelRows, panelSearches } from "../../scripts/demo/panels";
