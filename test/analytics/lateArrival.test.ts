// Late-arriving flows on the real Elasticsearch: every flow reaches the cluster 3 minutes after its @timestamp (Azure
// appends a block a minute, the collector polls every 60 s). Run after run, as Kibana schedules each declared rule,
// the flows that have arrived by the run are indexed, then the rule's own search runs over the window its declared
// body gives it (infra/elastic/kibana/ruleReplay.ts). The planted bursts each fill most of a 5-minute window, so
// a rule sees one whole only once all its flows are in, and only if its window still holds the burst's start then.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { flowDataStream } from "../../collector/src/sink/dataStreams";
import { bruteForceRuleArgs, scanRuleBody } from "../../infra/elastic/kibana/detections";
import { deniedFlowsRuleArgs } from "../../infra/elastic/kibana/ruleResource";
import { newDestinationRuleBody } from "../../infra/elastic/kibana/newDestination";
import { runNewTermsRule } from "../../infra/elastic/kibana/newTermsQuery";
import { KIBANA_DEFAULTS } from "../../infra/elastic/kibana/config";
import { thresholdRuleAlerts, thresholdRuleSearch, withoutPipelineAggs, type RuleSearch } from "../../infra/elastic/kibana/ruleQuery";
import { esQueryRunner, runsAt, runTimes, securityRuleWindow, thresholdRunner, type RuleRunner } from "../../infra/elastic/kibana/ruleReplay";
import { externalFlowDocument, GOOGLE_US, HETZNER_DE, type ExternalFlow } from "./externalFlows";

const DELAY_MS = 3 * 60_000;
const START = new Date("2026-11-20T10:00:00.000Z");
const LAST_RUN = new Date("2026-11-20T10:20:00.000Z");
const at = (second: number) => new Date(START.getTime() + second * 1000).toISOString();
const minute = (m: number) => new Date(START.getTime() + m * 60_000).toISOString();
const WEB = "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-WEB";

const inbound = (second: number, src: string, dst: string, port: number): ExternalFlow =>
  ({ at: at(second), src, dst, port, action: "denied", rule: "DefaultRule_DenyAllInBound", resource: "NSG-WEB", locality: "from_internet" });
const outbound = (when: string, dst: string, geo: ExternalFlow["dstGeo"]): ExternalFlow =>
  ({ at: when, src: "10.1.0.4", dst, port: 443, action: "allowed", rule: "DefaultRule_AllowInternetOutBound", resource: "NSG-WEB", locality: "to_internet", dstGeo: geo });

/**
 * Each burst spans 4:46 to 4:48 of 10:00-10:05, so the flows a run can see 3 minutes late in a window ending at
 * the run (at most 4 minutes' worth) stay under every threshold: 19 of 23 ports or hosts (13 s apart), 27 of 33
 * brute-force flows (9 s apart), 92 of 110 denied flows.
 */
const flows: ExternalFlow[] = [
  ...Array.from({ length: 23 }, (_, i) => inbound(i * 13, "203.0.113.50", "10.1.0.4", 1000 + i)), // port scan
  ...Array.from({ length: 23 }, (_, i) => inbound(i * 13, "198.51.100.77", `10.1.0.${10 + i}`, 445)), // host sweep
  ...Array.from({ length: 33 }, (_, i) => inbound(i * 9, "192.0.2.66", "10.1.0.4", 3389)), // brute force
  ...Array.from({ length: 31 }, (_, i) => inbound(i * 9, `203.0.113.${100 + i}`, "10.1.0.4", 23)), // background denied, one each
  // NSG-WEB reached the US three days ago and again now; Germany for the first time at 10:03, again at 10:04:30.
  outbound(new Date(START.getTime() - 3 * 86_400_000).toISOString(), "142.250.0.1", GOOGLE_US), outbound(at(120), "142.250.0.1", GOOGLE_US),
  outbound(at(180), "88.99.0.3", HETZNER_DE), outbound(at(270), "88.99.0.3", HETZNER_DE),
];

interface Raised { rule: string; group: string; value: number; at: string }

/**
 * Every alert the declared rules raise from 10:00 to 10:20 with this allowance, the flows arriving 3 minutes late.
 * `found` counts the runs whose search matched each (rule, group), raised or not.
 */
async function replay(es: Client, lateArrivalMinutes: number): Promise<{ raised: Raised[]; found: Map<string, number> }> {
  const namespace = uniqueNamespace("late");
  await applyIndexAssets(es, { namespace });
  const dataStream = flowDataStream(namespace);
  const search = (request: RuleSearch) => es.search({ index: dataStream, ...withoutPipelineAggs(request).body } as any);
  const timing = { windowMinutes: KIBANA_DEFAULTS.windowMinutes, lateArrivalMinutes, interval: KIBANA_DEFAULTS.interval };
  const connection = { url: "https://kibana.invalid", apiKey: "x" };
  const newCountry = newDestinationRuleBody("country", { historyDays: 14, windowMinutes: timing.windowMinutes, lateArrivalMinutes });
  const newCountryIds = new Set<string>();
  const rules: Record<string, RuleRunner> = {
    "port scan": thresholdRunner(scanRuleBody("port_scan", { distinct: 20, ...timing }), search),
    "host sweep": thresholdRunner(scanRuleBody("host_sweep", { distinct: 20, ...timing }), search),
    "brute force": esQueryRunner(bruteForceRuleArgs(connection, { flows: 30, ports: [22, 3389, 1433], ...timing }), search),
    "denied spike": esQueryRunner(deniedFlowsRuleArgs(connection, { threshold: 100, ...timing }), search),
    "new country": {
      interval: newCountry.interval,
      run: async (runAt) => {
        const alerts = await runNewTermsRule(newCountry, securityRuleWindow(newCountry, runAt), search);
        const matched = alerts.map((a) => ({ group: `${a.terms["azure.resource.id"]}|${a.terms["destination.geo.country_iso_code"]}`, value: Date.parse(a.firstSeen) }));
        // Kibana's new_terms alert id comes from its (oldest) document: a pair found again by the next run is not doubled.
        const ids = alerts.map((a) => `${JSON.stringify(a.terms)}@${a.firstSeen}`);
        const raised = matched.filter((_, i) => !newCountryIds.has(ids[i]));
        for (const id of ids) newCountryIds.add(id);
        return { matched, raised };
      },
    },
  };

  const pending = [...flows];
  const raised: Raised[] = [];
  const found = new Map<string, number>();
  for (const runAt of runTimes("1m", START, LAST_RUN)) {
    // What has reached Elasticsearch by this minute.
    const arrived = pending.filter((f) => Date.parse(f.at) + DELAY_MS <= runAt.getTime());
    if (arrived.length) {
      pending.splice(0, pending.length, ...pending.filter((f) => !arrived.includes(f)));
      const answer = await es.bulk({ operations: arrived.flatMap((f) => [{ create: { _index: dataStream } }, externalFlowDocument(f)]), refresh: true });
      assert.equal(answer.errors, false);
    }
    // Each rule on its own schedule (runs every interval from START).
    for (const [rule, runner] of Object.entries(rules)) {
      if (!runsAt(runner.interval, START, runAt)) continue;
      const { matched, raised: fresh } = await runner.run(runAt);
      for (const m of matched) found.set(`${rule}|${m.group}`, (found.get(`${rule}|${m.group}`) ?? 0) + 1);
      for (const r of fresh) raised.push({ rule, group: r.group, value: r.value, at: runAt.toISOString() });
    }
  }
  return { raised, found };
}

let es: Client;
before(() => { es = esClient(elasticsearchUrl()); });
after(async () => { await es?.close(); });

describe("late-arriving flows: the declared rules count flows that reach Elasticsearch 3 minutes late", () => {
  test("as declared (lateArrivalMinutes 5, the default): each planted burst raises exactly one alert, once it has all arrived", async () => {
    assert.equal(KIBANA_DEFAULTS.lateArrivalMinutes, 5);
    const { raised, found } = await replay(es, KIBANA_DEFAULTS.lateArrivalMinutes);
    assert.deepEqual(raised, [
      { rule: "port scan", group: "203.0.113.50", value: 23, at: minute(10) },
      { rule: "host sweep", group: "198.51.100.77", value: 23, at: minute(10) },
      { rule: "brute force", group: "192.0.2.66", value: 33, at: minute(10) },
      { rule: "denied spike", group: "all", value: 110, at: minute(10) },
      { rule: "new country", group: `${WEB}|DE`, value: Date.parse(at(180)), at: minute(10) },
    ], "the 10:10 run counts 09:58-10:05, every flow of which arrived by 10:07:48; nothing else alerts (not the US, known for 3 days)");
    // The runs overlap: the 10:11 and 10:12 windows still hold every burst, and Kibana keeps each one alert.
    assert.equal(found.get("port scan|203.0.113.50"), 1, "the signal history leaves the alerted scan's flows out of the runs after it");
    assert.equal(found.get("brute force|192.0.2.66"), 3, "matched at 10:10, 10:11 and 10:12: one alert, active over three runs");
    assert.equal(found.get("denied spike|all"), 3);
  });

  test("the signal history is what keeps the overlapping run quiet: without it the 10:11 run finds the scan again", async () => {
    const namespace = uniqueNamespace("latehist");
    await applyIndexAssets(es, { namespace });
    const dataStream = flowDataStream(namespace);
    await es.bulk({ operations: flows.flatMap((f) => [{ create: { _index: dataStream } }, externalFlowDocument(f)]), refresh: true });
    const rule = scanRuleBody("port_scan", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5, interval: "1m" });
    const search = (request: RuleSearch) => es.search({ index: dataStream, ...withoutPipelineAggs(request).body } as any);
    const window = securityRuleWindow(rule, new Date(minute(11)));
    assert.deepEqual(window, { from: minute(-1), to: minute(6) });
    const alone = thresholdRuleAlerts(rule, await search(thresholdRuleSearch(rule, window)));
    assert.deepEqual(alone.map((a) => [a.group, a.value]), [["203.0.113.50", 23]]);
    const history = [{ terms: alone[0].terms!, lastSignalMs: alone[0].lastEventMs! }];
    assert.equal(history[0].lastSignalMs, Date.parse(at(22 * 13)), "the newest flow the alert counted");
    assert.deepEqual(thresholdRuleAlerts(rule, await search(thresholdRuleSearch(rule, window, history))), []);
  });

  test("without the allowance (lateArrivalMinutes 0) no run ever holds a whole burst: every planted attack is missed", async () => {
    const { raised, found } = await replay(es, 0);
    assert.deepEqual(raised, [], "each run saw at most the 4 minutes of flows that had arrived");
    assert.equal(found.size, 0);
  });
});
