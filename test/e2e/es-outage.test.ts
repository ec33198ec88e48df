// Elasticsearch unreachable for a while (a loopback proxy drops connections, then answers 503), then back: the
// collector service retries, keeps its checkpoints behind what was acknowledged, and ends with exact counts.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { runCollector } from "../../collector/src/service/collector";
import { FlowLogDataset } from "../support/dataset";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { startFaultyProxy, type Fault, type FaultyProxy } from "../support/faultyProxy";
import { createWorld, waitFor, type E2eWorld } from "./e2eSupport";

let world: E2eWorld | undefined;
let proxy: FaultyProxy | undefined;
after(async () => {
  await proxy?.stop();
  await world?.cleanup();
});

test("Elasticsearch unreachable, then refusing, then back: nothing lost, exact counts", async (t) => {
  assert.ok(azuriteConnectionString(), "the runner started Azurite");
  world = await createWorld("outage");
  let outage: Fault = "drop";
  proxy = await startFaultyProxy(elasticsearchUrl(), () => outage);
  const dataset = new FlowLogDataset(world.service, { nsgContainer: world.nsg.containerName, vnetContainer: world.vnet.containerName });
  await dataset.appendMinutes(30);

  const controller = new AbortController();
  const service = runCollector({
    config: world.config({ FLOWLOGS_ES_URL: proxy.url }), signal: controller.signal, writeLog: () => {},
  });
  try {
    const bulks = (fault: (f: Fault) => boolean) => proxy!.seen.filter((r) => r.path.includes("_bulk") && fault(r.fault)).length;
    // About 1 s here when idle; the bounds are for a loaded CI machine (once over 30 s, beside a test that also
    // took 35 s instead of 1), and a timeout says what the proxy had seen.
    const seen = (): string => `${proxy!.seen.length} requests through the proxy: ` +
      proxy!.seen.slice(-10).map((r) => `${r.method} ${r.path.split("?")[0]} ${JSON.stringify(r.fault)}`).join("; ");
    await waitFor("three dropped bulk requests", async () => bulks((f) => f === "drop") >= 3, 120_000, 200, seen);
    assert.equal(await world.count(), 0, "nothing reached the cluster while it was unreachable");
    outage = { status: 503 };
    await waitFor("two bulk requests answered 503", async () => bulks((f) => typeof f === "object") >= 2, 120_000, 200, seen);
    outage = "forward";
    await waitFor("every tuple indexed once the cluster is back", async () => (await world!.count()) >= dataset.tuples, 120_000, 250, seen);

    // The service keeps tailing: minutes appended after the outage arrive too.
    await dataset.appendMinutes(30);
    await waitFor("the later minutes", async () => (await world!.count()) >= dataset.tuples, 120_000, 250, seen);
  } finally {
    controller.abort();
  }
  const summary = await service;
  assert.equal(await world.count(), dataset.tuples, "exactly the tuples written");
  assert.equal(summary.metrics.indexed, dataset.tuples, "each tuple newly indexed once");
  t.diagnostic(`${dataset.tuples} documents, ${summary.metrics.retries} retries, ${proxy.seen.length} requests through the proxy`);
  assert.ok(summary.metrics.retries > 0, `the outage was retried (${summary.metrics.retries} retries)`);
});
