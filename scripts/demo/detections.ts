// The detections the declared rules would raise over the demo's hour: each rule's own search (built by the
// functions the Pulumi program declares the rules with, infra/elastic/kibana/detections.ts and ruleResource.ts,
// rebuilt into Elasticsearch searches by ruleQuery.ts) run on the demo's data stream, run after run as Kibana
// schedules it, each run over the window the declared body gives it (ruleReplay.ts: a window ending
// lateArrivalMinutes before the run), with what Kibana keeps between runs so a burst is one alert. Shared by the
// demo summary and its end-to-end test.
import type { Client } from "@elastic/elasticsearch";
import { bruteForceRuleArgs, scanRuleBody } from "../../infra/elastic/kibana/detections";
import { deniedFlowsRuleArgs } from "../../infra/elastic/kibana/ruleResource";
import { KIBANA_DEFAULTS } from "../../infra/elastic/kibana/config";
import { withoutPipelineAggs, type RuleSearch } from "../../infra/elastic/kibana/ruleQuery";
import { esQueryRunner, runTimes, thresholdRunner, type RuleRunner } from "../../infra/elastic/kibana/ruleReplay";
import { countedMinutes } from "../../infra/elastic/kibana/schedule";

export interface Detection {
  rule: "port scan" | "host sweep" | "brute force" | "denied spike";
  /** The alert's group: the source IP, or "all" for the ungrouped denied-flows rule. */
  group: string;
  /** The highest value over the runs that found it (distinct ports or hosts, or flows). */
  peak: number;
  unit: string;
  /** The run that raised the first alert (ms). */
  firstMs: number;
  /** Alerts Kibana raises for it: threshold alerts after the signal history, `.es-query` alerts that became active. */
  alerts: number;
  /** Runs whose search found it (a threshold rule's signal history hides a burst from the runs after its alert). */
  runs: number;
}

type Thresholds = Pick<typeof KIBANA_DEFAULTS, "deniedThreshold" | "windowMinutes" | "lateArrivalMinutes" | "interval" | "bruteForceFlows" | "bruteForcePorts" | "portScanPorts" | "portScanHosts">;

/**
 * Every (rule, group) that would alert in the runs of each rule, every interval from `from` until its last window
 * that still reaches `to`.
 * Pipeline aggregations are left out of each search and their conditions applied in code (withoutPipelineAggs and
 * the *RuleAlerts functions): the test Elasticsearch lacks the module that provides them, and the answer is the same.
 */
export async function detectionsOver(es: Client, dataStream: string, from: Date, to: Date, thresholds: Thresholds = KIBANA_DEFAULTS): Promise<Detection[]> {
  const connection = { url: "https://kibana.invalid", apiKey: "unused" }; // the rule bodies need one; no request is made
  const timing = { windowMinutes: thresholds.windowMinutes, lateArrivalMinutes: thresholds.lateArrivalMinutes, interval: thresholds.interval };
  const search = (request: RuleSearch): Promise<any> => es.search({ index: dataStream, ...withoutPipelineAggs(request).body } as any);
  const rules: Array<{ rule: Detection["rule"]; unit: string; runner: RuleRunner }> = [
    { rule: "port scan", unit: "distinct destination ports", runner: thresholdRunner(scanRuleBody("port_scan", { distinct: thresholds.portScanPorts, ...timing }), search) },
    { rule: "host sweep", unit: "distinct destination hosts", runner: thresholdRunner(scanRuleBody("host_sweep", { distinct: thresholds.portScanHosts, ...timing }), search) },
    {
      rule: "brute force", unit: `flows to ports ${thresholds.bruteForcePorts.join(", ")}`,
      runner: esQueryRunner(bruteForceRuleArgs(connection, { flows: thresholds.bruteForceFlows, ports: thresholds.bruteForcePorts, ...timing }), search),
    },
    { rule: "denied spike", unit: "denied flows", runner: esQueryRunner(deniedFlowsRuleArgs(connection, { threshold: thresholds.deniedThreshold, ...timing }), search) },
  ];

  const found = new Map<string, Detection>();
  // The last window reaching `to` ends lateArrivalMinutes before its run and spans countedMinutes.
  const lastRun = new Date(to.getTime() + (timing.lateArrivalMinutes + countedMinutes(timing)) * 60_000);
  for (const { rule, unit, runner } of rules) {
    for (const runAt of runTimes(runner.interval, from, lastRun)) {
      const { matched, raised } = await runner.run(runAt);
      for (const alert of matched) {
        const key = `${rule}|${alert.group}`;
        const seen = found.get(key) ?? { rule, group: alert.group, peak: 0, unit, firstMs: 0, alerts: 0, runs: 0 };
        seen.peak = Math.max(seen.peak, alert.value);
        seen.runs++;
        if (raised.some((r) => r.group === alert.group)) {
          if (seen.alerts === 0) seen.firstMs = runAt.getTime();
          seen.alerts++;
        }
        found.set(key, seen);
      }
    }
  }
  return [...found.values()].sort((a, b) => a.firstMs - b.firstMs || a.rule.localeCompare(b.rule) || a.group.localeCompare(b.group));
}
