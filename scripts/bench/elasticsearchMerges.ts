// Waiting out Elasticsearch's background merges between measured loads.
import type { Client } from "@elastic/elasticsearch";
import { progress } from "./stats";

/**
 * Waits until no merge runs on the node (seen twice, 250 ms apart; at most 2 minutes), so a load's background
 * merging is never charged to the load measured after it and both measured loads start on a node in the same state.
 * (In the tenth session's runs no merge was running by then: the wait took 0.3 s.)
 */
export async function untilMergesSettle(client: Client): Promise<void> {
  const started = Date.now();
  let quiet = 0;
  while (quiet < 2 && Date.now() - started < 120_000) {
    const stats = await client.nodes.stats({ metric: "indices", index_metric: "merge" });
    const running = Object.values(stats.nodes).reduce((sum, node) => sum + (node.indices?.merges?.current ?? 0), 0);
    quiet = running === 0 ? quiet + 1 : 0;
    if (quiet < 2) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  progress(`ingest: ${quiet >= 2 ? "no merge running" : "merges still running after 2 minutes"} (waited ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** Merge time and refreshes per data stream (backing indices summed), for `backgroundWork`. */
export type IndexWork = Map<string, { mergeMs: number; refreshes: number }>;

export async function indexWork(client: Client): Promise<IndexWork> {
  const stats = await client.indices.stats({ metric: ["merge", "refresh"], level: "indices" });
  const work: IndexWork = new Map();
  for (const [index, value] of Object.entries(stats.indices ?? {})) {
    const stream = index.replace(/^\.ds-(.*)-\d{4}\.\d{2}\.\d{2}-\d+$/, "$1");
    const sum = work.get(stream) ?? { mergeMs: 0, refreshes: 0 };
    sum.mergeMs += value.total?.merges?.total_time_in_millis ?? 0;
    sum.refreshes += value.total?.refresh?.total ?? 0;
    work.set(stream, sum);
  }
  return work;
}

/** What the node merged and refreshed between two `indexWork` snapshots, by data stream: where a measured phase's CPU may have gone besides its own documents. */
export function backgroundWork(before: IndexWork, after: IndexWork): string {
  const lines: string[] = [];
  for (const [stream, now] of after) {
    const then = before.get(stream) ?? { mergeMs: 0, refreshes: 0 };
    const mergeMs = now.mergeMs - then.mergeMs;
    const refreshes = now.refreshes - then.refreshes;
    if (mergeMs > 0 || refreshes > 0) lines.push(`${stream} merging ${(mergeMs / 1000).toFixed(1)} s, ${refreshes} refreshes`);
  }
  return lines.join("; ") || "no merge or refresh";
}
