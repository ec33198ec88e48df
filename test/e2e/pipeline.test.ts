// The whole pipeline on real services: NSG v1/v2 and VNet blobs growing minute by minute on Azurite, the collector
// (`--once`, in-process and as the CLI), the real Elasticsearch with the index assets applied, and every dashboard
// panel's aggregation compared with numbers counted straight from what the writers recorded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { runCollector } from "../../collector/src/service/collector";
import { DATASET_HOUR, FlowLogDataset, expectedPanels, type ExpectedPanels } from "../support/dataset";
import { azuriteConnectionString, elasticsearchUrl } from "../support/env";
import { assertTopN, createWorld, logEvents, panelRows, panelSearches, spawnCollector, type E2eWorld } from "./e2eSupport";
import { EXTERNAL_TABLES, externalTableRows } from "../support/externalSection";

let world: E2eWorld;
let dataset: FlowLogDataset;

before(async () => {
  assert.ok(azuriteConnectionString() && elasticsearchUrl(), "the runner started Azurite and Elasticsearch");
  world = await createWorld("pipe");
  dataset = new FlowLogDataset(world.service, { nsgContainer: world.nsg.containerName, vnetContainer: world.vnet.containerName });
});
after(async () => {
  await world?.cleanup();
});

test("growing NSG v1, NSG v2 and VNet blobs land with exact counts, minute by minute", async () => {
  await dataset.appendMinutes(20);
  const first = await runCollector({ config: world.config(), once: true });
  assert.equal(first.metrics.indexed, dataset.tuples, "first pass indexes every tuple written so far");
  assert.equal(await world.count(), dataset.tuples);

  const before = dataset.tuples;
  await dataset.appendMinutes(40);
  const second = await runCollector({ config: world.config(), once: true });
  assert.equal(second.metrics.indexed, dataset.tuples - before, "the second pass reads only the appended minutes");
  assert.equal(second.metrics.duplicates, 0, "nothing already indexed is sent again");
  assert.equal(await world.count(), dataset.tuples);
  assert.ok(dataset.tuples > 1000, `a dataset of meaningful size (${dataset.tuples} tuples)`);
  const kinds = new Set(dataset.written.map((t) => t.kind));
  assert.deepEqual([...kinds].sort(), ["nsg-v1", "nsg-v2", "vnet-v4"]);
});

test("a second run adds nothing; re-reading everything (no checkpoints) counts every tuple as a duplicate", async () => {
  const again = await runCollector({ config: world.config(), once: true });
  assert.equal(again.metrics.indexed, 0);
  assert.equal(again.metrics.duplicates, 0, "caught-up blobs are not read again");
  assert.equal(await world.count(), dataset.tuples);

  // The CLI, `run --once`, with an empty checkpoint container: every blob is read from the start again.
  const fresh = world.service.getContainerClient(`${world.checkpoints.containerName}-re`);
  try {
    const run = spawnCollector(world.env({ FLOWLOGS_CHECKPOINT_CONTAINER: fresh.containerName, FLOWLOGS_LOG_LEVEL: "info" }), ["--once"]);
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr().slice(-2000));
    const stop = logEvents(run.stderr()).find((event) => event.event === "collector.stop");
    assert.ok(stop, "the collector logged collector.stop");
    assert.equal(stop.indexed, 0);
    assert.equal(stop.duplicates, dataset.tuples, "every re-sent document was answered as already present");
    assert.equal(await world.count(), dataset.tuples, "_count unchanged");
  } finally {
    await fresh.deleteIfExists();
  }
});

test("every dashboard panel's aggregation returns the numbers counted from the dataset", async () => {
  const bucketMs = 5 * 60_000;
  const expected: ExpectedPanels = expectedPanels(dataset.written, bucketMs);
  assert.equal(expected.total, dataset.tuples, "the writers recorded every tuple they wrote");
  assert.ok(expected.denied > 0 && expected.denied < expected.total, "allowed and denied flows");
  const from = DATASET_HOUR.toISOString();
  const to = new Date(DATASET_HOUR.getTime() + 3_600_000 - 1).toISOString();
  const panels = panelSearches(world.dataStream, { from, to }, "5m");
  assert.deepEqual(Object.keys(panels).sort(), [
    "flowlogs-bytes-over-time-by-direction", "flowlogs-connections", "flowlogs-denied-flows", "flowlogs-denied-flows-by-rule",
    "flowlogs-external-inbound-denied-asns", "flowlogs-external-inbound-denied-countries", "flowlogs-external-outbound-allowed-asns",
    "flowlogs-external-outbound-allowed-countries", "flowlogs-flows-by-resource", "flowlogs-flows-over-time-by-action", "flowlogs-rule-hits", "flowlogs-top-destination-ips",
    "flowlogs-top-destination-ports", "flowlogs-top-source-ips", "flowlogs-total-flows",
  ], "the dashboards' panels (a new panel needs its expectation here)");

  const total = await panelRows(world.es, panels["flowlogs-total-flows"]);
  assert.deepEqual(total.rows, [{ flows: expected.total }]);
  const denied = await panelRows(world.es, panels["flowlogs-denied-flows"]);
  assert.deepEqual(denied.rows, [{ flows: expected.denied }]);

  const overTime = await panelRows(world.es, panels["flowlogs-flows-over-time-by-action"]);
  assert.equal(overTime.rows.length, 2 * 12, "two actions x twelve 5-minute buckets (empty ones included)");
  for (const row of overTime.rows) {
    const bucket = expected.flowsOverTime.get(row.timestamp as number);
    assert.equal(row.flows, bucket?.[row.action as "allowed" | "denied"] ?? 0, `${row.action} at ${new Date(row.timestamp as number).toISOString()}`);
  }

  const bytes = await panelRows(world.es, panels["flowlogs-bytes-over-time-by-direction"]);
  assert.equal(bytes.rows.length, 2 * 12);
  for (const row of bytes.rows) {
    const bucket = expected.bytesOverTime.get(row.timestamp as number);
    assert.equal(row.bytes, bucket?.[row.direction as "inbound" | "outbound"] ?? 0, `${row.direction} bytes at ${new Date(row.timestamp as number).toISOString()}`);
  }

  assertTopN((await panelRows(world.es, panels["flowlogs-top-source-ips"])).rows, "source_ip", "flows", expected.bySourceIp, 10, "top source IPs");
  assertTopN((await panelRows(world.es, panels["flowlogs-top-destination-ips"])).rows, "destination_ip", "flows", expected.byDestinationIp, 10, "top destination IPs");
  assertTopN((await panelRows(world.es, panels["flowlogs-top-destination-ports"])).rows, "destination_port", "flows", expected.byDestinationPort, 10, "top destination ports");
  assertTopN((await panelRows(world.es, panels["flowlogs-denied-flows-by-rule"])).rows, "rule", "flows", expected.deniedByRule, 10, "denied flows by rule");
  assert.deepEqual([...expected.deniedByRule.keys()].sort(), ["DefaultRule_DenyAllInBound", "UserRule_DenyRdp", "UserRule_DenySql"]);

  const byResource = await panelRows(world.es, panels["flowlogs-flows-by-resource"]);
  const actual = new Map(byResource.rows.map((row) => [`${row.resource}|${row.action}`, row.flows as number]));
  assert.deepEqual(actual, expected.byResourceAndAction);
  assert.equal(new Set(byResource.rows.map((row) => row.resource)).size, 4, "NSG-LEGACY, NSG-WEB, vnet-app, vnet-data");

  // Rule hits: every (resource, rule) pair written, with its exact allowed and denied flows.
  const ruleHits = await panelRows(world.es, panels["flowlogs-rule-hits"]);
  const hits = new Map<string, { allowed: number; denied: number }>();
  for (const t of dataset.written) {
    const key = `${t.resourceName.toLowerCase()}|${t.rule}`;
    const entry = hits.get(key) ?? { allowed: 0, denied: 0 };
    entry[t.action]++;
    hits.set(key, entry);
  }
  const actualHits = new Map(ruleHits.rows.map((row) => [`${String(row.resource).toLowerCase()}|${row.rule}`, { allowed: row.allowed as number, denied: row.denied as number }]));
  assert.deepEqual(actualHits, hits);

  // External traffic: countries and ASNs are the collector's geo/AS enrichment (the dataset records no geo of its
  // own), so each panel must show what Elasticsearch's own terms aggregation of the same flows gives; with no geo
  // fields in the documents, nothing.
  for (const table of EXTERNAL_TABLES) {
    const rows = (await panelRows(world.es, panels[table.id])).rows
      .map((row) => ({ key: row.country ?? row.asn, name: row.country_name ?? row.organization, flows: row.flows }));
    assert.deepEqual(rows, await externalTableRows(world.es, world.dataStream, table, { from, to }), table.id);
  }
});
