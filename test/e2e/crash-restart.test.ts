// The collector service (the CLI, as a child process) killed with SIGKILL partway through the blobs, then started
// again: it waits out the dead process's leases, continues from the checkpoints, and the data stream ends with
// exactly the tuples written, none lost and none twice.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { runCollector } from "../../collector/src/service/collector";
import { FlowLogDataset } from "../support/dataset";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { stopChildrenAndWorld } from "./collectorChildren";
import { createWorld, logEvents, spawnCollector, waitFor, type CollectorChild, type E2eWorld } from "./e2eSupport";

let world: E2eWorld | undefined;
const children: CollectorChild[] = [];
after(() => stopChildrenAndWorld(children, world));

test("SIGKILL mid-blob, then a restart: exact counts, no loss, no duplicate", async (t) => {
  assert.ok(azuriteConnectionString() && elasticsearchUrl(), "the runner started Azurite and Elasticsearch");
  world = await createWorld("crash");
  const dataset = new FlowLogDataset(world.service, {
    nsgContainer: world.nsg.containerName, vnetContainer: world.vnet.containerName, recordsPerMinute: 4,
  });
  await dataset.appendMinutes(60);
  const total = dataset.tuples;
  // Small windows and batches, one blob at a time: many checkpoints per blob. Five blobs of about the same size:
  // at 30 % of the documents the collector is in the middle of the second one.
  const slow = { FLOWLOGS_WINDOW_BYTES: "4096", FLOWLOGS_BATCH_DOCUMENTS: "20", FLOWLOGS_CONCURRENCY: "1" };

  const first = spawnCollector(world.env(slow));
  children.push(first);
  await waitFor("the first collector to index some documents", async () => (await world!.count()) >= total * 0.3, 120_000, 100);
  first.child.kill("SIGKILL");
  const killed = await first.exited;
  assert.equal(killed.signal, "SIGKILL");
  const atKill = await world.count();
  assert.ok(atKill > 0 && atKill < total, `killed partway: ${atKill} of ${total} documents indexed`);
  t.diagnostic(`killed after ${atKill} of ${total} documents`);

  const second = spawnCollector(world.env({ ...slow, FLOWLOGS_LOG_LEVEL: "info" }));
  children.push(second);
  // The dead process's checkpoint leases expire after FLOWLOGS_LEASE_SECONDS (15); then the blobs are taken over.
  await waitFor("the restarted collector to catch up", async () => (await world!.count()) >= total, 120_000, 250);
  second.child.kill("SIGTERM");
  const stopped = await second.exited;
  assert.equal(stopped.code, 0, `stopped cleanly on SIGTERM:\n${second.stderr().slice(-2000)}`);
  assert.equal(await world.count(), total, "exactly the tuples written");
  const resumed = logEvents(second.stderr()).filter((e) => e.event === "blob.read.start" && e.offset > 0);
  assert.ok(resumed.length >= 1, "the restart continued a blob from its checkpoint, past its start");
  t.diagnostic(`restart resumed ${resumed.map((e) => `${e.blob.split("/").slice(-2, -1)} at byte ${e.offset}`).join(", ")}`);

  // Everything is checkpointed: one more pass reads nothing and sends nothing.
  const check = await runCollector({ config: world.config(), once: true });
  assert.equal(check.metrics.indexed, 0);
  assert.equal(check.metrics.duplicates, 0);
  assert.equal(await world.count(), total);
});
