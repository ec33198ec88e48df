// Every detection rule's logic proven on the real Elasticsearch: the exact search Kibana runs for each rule the
// program declares (infra/elastic/kibana/ruleQuery.ts, rebuilt from Kibana's code), over planted incidents and
// normal traffic, in the run that counts each window (its window, from the declared body, ends lateArrivalMinutes
// before the run: ruleReplay.ts). Every planted incident must be found, nothing in the normal traffic may alert.
// Flows arriving late, run after run: lateArrival.test.ts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { bruteForceRuleArgs, scanRuleBody } from "../../infra/elastic/kibana/detections";
import { deniedFlowsRuleArgs } from "../../infra/elastic/kibana/ruleResource";
import { esQueryRuleAlerts, esQueryRuleSearch, thresholdRuleAlerts, thresholdRuleSearch, type RuleSearch, withoutPipelineAggs } from "../../infra/elastic/kibana/ruleQuery";
import { esQueryRuleWindow, securityRuleWindow } from "../../infra/elastic/kibana/ruleReplay";
import type { ThresholdRuleBody } from "../../infra/elastic/kibana/detections";
import { incidents, indexFlows, plantedFlows, PROOF, runCounting, WINDOW_A, WINDOW_B } from "./plantedFlows";

let es: Client;
let dataStream: string;

before(async () => {
  es = esClient(elasticsearchUrl());
  dataStream = await indexFlows(es, uniqueNamespace("detect"), plantedFlows());
});
after(async () => { await es?.close(); });

// The test engine has no aggregations module (no bucket_selector / stats_bucket): those are left out of the search
// and their conditions applied to the returned buckets by the *RuleAlerts functions.
const run = async (search: RuleSearch) => es.search({ index: dataStream, ...withoutPipelineAggs(search).body } as any);
const sorted = (alerts: Array<{ group: string; value: number }>) => [...alerts].map(({ group, value }) => ({ group, value })).sort((a, b) => a.group.localeCompare(b.group));

const connection = { url: "https://kibana.invalid", apiKey: "x" };
const timing = { windowMinutes: PROOF.windowMinutes, lateArrivalMinutes: PROOF.lateArrivalMinutes, interval: PROOF.interval };
const bruteForce = bruteForceRuleArgs(connection, { flows: PROOF.bruteForceFlows, ports: PROOF.bruteForcePorts, ...timing }).params as Record<string, any>;
const denied = deniedFlowsRuleArgs(connection, { threshold: PROOF.deniedThreshold, ...timing }).params as Record<string, any>;
const portScan = scanRuleBody("port_scan", { distinct: PROOF.portScanPorts, ...timing });
const hostSweep = scanRuleBody("host_sweep", { distinct: PROOF.hostSweepHosts, ...timing });

/** What each rule finds in the run that counts `window` (its flows all in, as they are here). */
const esQueryAlerts = async (params: Record<string, any>, window: { to: string }) =>
  sorted(esQueryRuleAlerts(params, await run(esQueryRuleSearch(params, esQueryRuleWindow(params, runCounting(window))))));
const thresholdAlerts = async (rule: ThresholdRuleBody, window: { to: string }) =>
  sorted(thresholdRuleAlerts(rule, await run(thresholdRuleSearch(rule, securityRuleWindow(rule, runCounting(window))))));

describe("detections on the real Elasticsearch: planted incidents found, normal traffic quiet", () => {
  test("brute force (.es-query grouped by source.ip): the two planted public sources, with their exact flow counts", async () => {
    assert.deepEqual(await esQueryAlerts(bruteForce, WINDOW_A), [{ group: "192.0.2.66", value: 40 }, { group: "192.0.2.67", value: 31 }],
      "RDP (allowed and denied) and SQL just over 30; not 10.1.0.5, 100.64.0.9 or fd00::5 (not public) nor 168.63.129.16 (Azure's health probes), not 203.0.113.9 (exactly 30), not port 443 or 445");
    assert.deepEqual(await esQueryAlerts(bruteForce, WINDOW_B), [], "normal traffic alone raises nothing");
  });

  test("port scan (threshold rule, distinct destination.port per source): the planted scanner only", async () => {
    assert.deepEqual(await thresholdAlerts(portScan, WINDOW_A), [{ group: "203.0.113.50", value: 40 }]);
    assert.deepEqual(await thresholdAlerts(portScan, WINDOW_B), [], "15 ports is below 21");
  });

  test("host sweep (threshold rule, distinct destination.ip per source): the planted sweeper only", async () => {
    assert.deepEqual(await thresholdAlerts(hostSweep, WINDOW_A), [{ group: "198.51.100.77", value: 25 }]);
    assert.deepEqual(await thresholdAlerts(hostSweep, WINDOW_B), []);
  });

  test("denied spike (.es-query, ungrouped count): fires in the incident window, not on normal traffic", async () => {
    const normalDenied = 40 + 30;
    const plantedDenied = incidents().filter((f) => f.action === "denied").length;
    assert.deepEqual(await esQueryAlerts(denied, WINDOW_A), [{ group: "all", value: normalDenied + plantedDenied }]);
    assert.deepEqual(await esQueryAlerts(denied, WINDOW_B), [], `${normalDenied} denied flows is below ${PROOF.deniedThreshold}`);
  });

  test("a threshold one above each planted count raises nothing: the comparisons are the ones Kibana makes", async () => {
    const strict = bruteForceRuleArgs(connection, { flows: 40, ports: PROOF.bruteForcePorts, ...timing }).params as Record<string, any>;
    assert.deepEqual(await esQueryAlerts(strict, WINDOW_A), [], "40 flows is not more than 40");
    const scan40 = scanRuleBody("port_scan", { distinct: 40, ...timing });
    assert.equal(scan40.threshold.cardinality![0].value, 41, "more than 40 distinct ports is >= 41 in Kibana's terms");
    assert.deepEqual(await thresholdAlerts(scan40, WINDOW_A), []);
    const scan39 = scanRuleBody("port_scan", { distinct: 39, ...timing });
    assert.deepEqual(await thresholdAlerts(scan39, WINDOW_A), [{ group: "203.0.113.50", value: 40 }]);
  });

  test("the windows are what the rules look at: 7 minutes ending 5 minutes before the run, every minute", () => {
    const runAt = new Date("2026-11-20T10:10:00.000Z");
    assert.deepEqual([portScan.interval, portScan.from, portScan.to], ["1m", "now-12m", "now-5m"]);
    assert.deepEqual(securityRuleWindow(portScan, runAt), { from: "2026-11-20T09:58:00.000Z", to: "2026-11-20T10:05:00.000Z" });
    // .es-query: Kibana's window is the last 12 minutes; the rule's query ends it 5 minutes before the run.
    assert.deepEqual(esQueryRuleWindow(bruteForce, runAt), { from: "2026-11-20T09:58:00.000Z", to: "2026-11-20T10:10:00.000Z" });
    const filters = JSON.stringify(esQueryRuleSearch(bruteForce, esQueryRuleWindow(bruteForce, runAt)).body.query);
    assert.match(filters, /"gte":"2026-11-20T09:58:00.000Z"/);
    assert.match(filters, /"lte":"2026-11-20T10:10:00.000Z\|\|-5m"/, "the query's `now-5m`, as Elasticsearch resolves it in the run at 10:10");
  });
});

describe("the searches as Kibana sends them", () => {
  test("brute force: terms on source.ip with Kibana's bucket_selector on _count, top hits of size, the group count", () => {
    const search = esQueryRuleSearch(bruteForce, WINDOW_A);
    assert.deepEqual(search.body.aggs.groupAgg.terms, { field: "source.ip", size: 100 });
    assert.deepEqual(search.body.aggs.groupAgg.aggs.conditionSelector, { bucket_selector: { buckets_path: { compareValue: "_count" }, script: "params.compareValue > 30" } });
    assert.deepEqual(search.body.aggs.groupAggCount, { stats_bucket: { buckets_path: "groupAgg._count" } });
    assert.equal(search.body.size, 0);
    const stripped = withoutPipelineAggs(search).body.aggs;
    assert.deepEqual(Object.keys(stripped), ["groupAgg"]);
    assert.deepEqual(Object.keys(stripped.groupAgg.aggs), ["topHitsAgg"]);
  });

  test("port scan: composite on source.ip, cardinality of destination.port with `>= N + 1`, count_check `>= 1`", () => {
    const aggs = thresholdRuleSearch(portScan, WINDOW_A).body.aggs.thresholdTerms;
    assert.deepEqual(aggs.composite.sources, [{ "source.ip": { terms: { field: "source.ip" } } }]);
    assert.deepEqual(aggs.aggs.cardinality_count, { cardinality: { field: "destination.port" } });
    assert.equal(aggs.aggs.cardinality_check.bucket_selector.script, "params.cardinalityCount >= 21");
    assert.equal(aggs.aggs.count_check.bucket_selector.script, "params.docCount >= 1");
  });
});
