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
