// The detections the declared rules would raise over the demo's hour: each rule's own search (built by the
// functions the Pulumi program declares the rules with, infra/elastic/kibana/detections.ts and ruleResource.ts,
// rebuilt into Elasticsearch searches by ruleQuery.ts) run on the demo's data stream, window after window as Kibana
// schedules it (a look-back of windowMinutes every minute). Shared by the demo summary and its end-to-end test.
import type { Client } from "@elastic/elasticsearch";
import { bruteForceRuleArgs, scanRuleBody } from "../../infra/elastic/kibana/detections";
import { deniedFlowsRuleArgs } from "../../infra/elastic/kibana/ruleResource";
import { KIBANA_DEFAULTS } from "../../infra/elastic/kibana/config";
import {
  esQueryRuleAlerts, esQueryRuleSearch, thresholdRuleAlerts, thresholdRuleSearch, withoutPipelineAggs, type RuleAlert, type RuleSearch, type RuleWindow,
} from "../../infra/elastic/kibana/ruleQuery";

export interface Detection {
  rule: "port scan" | "host sweep" | "brute force" | "denied spike";
  /** The alert's group: the source IP, or "all" for the ungrouped denied-flows rule. */
  group: string;
  /** The highest value over the windows that fired (distinct ports or hosts, or flows). */
  peak: number;
  unit: string;
  /** End of the first window that fired (ms). */
  firstMs: number;
  /** How many windows fired. */
  windows: number;
}

type Thresholds = Pick<typeof KIBANA_DEFAULTS, "deniedThreshold" | "windowMinutes" | "bruteForceFlows" | "bruteForcePorts" | "portScanPorts" | "portScanHosts">;

/**
 * Every (rule, group) that would alert in a run at each whole minute whose window holds part of [from, to): the
 * runs from `from` + 1 minute to `to` + windowMinutes - 1 minutes.
 * Pipeline aggregations are left out of each search and their conditions applied in code (withoutPipelineAggs and
 * the *RuleAlerts functions): the test Elasticsearch lacks the module that provides them, and the answer is the same.
 */
export async function detectionsOver(es: Client, dataStream: string, from: Date, to: Date, thresholds: Thresholds = KIBANA_DEFAULTS): Promise<Detection[]> {
  const connection = { url: "https://kibana.invalid", apiKey: "unused" }; // the rule bodies need one; no request is made
  const windowMinutes = thresholds.windowMinutes;
  const bruteForce = bruteForceRuleArgs(connection, { flows: thresholds.bruteForceFlows, ports: thresholds.bruteForcePorts, windowMinutes }).params as Record<string, any>;
  const denied = deniedFlowsRuleArgs(connection, { threshold: thresholds.deniedThreshold, windowMinutes }).params as Record<string, any>;
  const portScan = scanRuleBody("port_scan", { distinct: thresholds.portScanPorts, windowMinutes });
  const hostSweep = scanRuleBody("host_sweep", { distinct: thresholds.portScanHosts, windowMinutes });
  const rules: Array<{ rule: Detection["rule"]; unit: string; alerts: (window: RuleWindow) => Promise<RuleAlert[]> }> = [
    { rule: "port scan", unit: "distinct destination ports", alerts: async (w) => thresholdRuleAlerts(portScan, await run(thresholdRuleSearch(portScan, w))) },
    { rule: "host sweep", unit: "distinct destination hosts", alerts: async (w) => thresholdRuleAlerts(hostSweep, await run(thresholdRuleSearch(hostSweep, w))) },
    { rule: "brute force", unit: `flows to ports ${thresholds.bruteForcePorts.join(", ")}`, alerts: async (w) => esQueryRuleAlerts(bruteForce, await run(esQueryRuleSearch(bruteForce, w))) },
    { rule: "denied spike", unit: "denied flows", alerts: async (w) => esQueryRuleAlerts(denied, await run(esQueryRuleSearch(denied, w))) },
  ];
  async function run(search: RuleSearch): Promise<any> {
    return es.search({ index: dataStream, ...withoutPipelineAggs(search).body } as any);
  }

  const found = new Map<string, Detection>();
  const lastEnd = to.getTime() + (windowMinutes - 1) * 60_000;
  for (let end = from.getTime() + 60_000; end <= lastEnd; end += 60_000) {
    const window = { from: new Date(end - windowMinutes * 60_000).toISOString(), to: new Date(end).toISOString() };
    for (const { rule, unit, alerts } of rules) {
      for (const alert of await alerts(window)) {
        const key = `${rule}|${alert.group}`;
        const seen = found.get(key);
        if (seen) {
          seen.peak = Math.max(seen.peak, alert.value);
          seen.windows++;
        } else {
          found.set(key, { rule, group: alert.group, peak: alert.value, unit, firstMs: end, windows: 1 });
        }
      }
    }
  }
  return [...found.values()].sort((a, b) => a.firstMs - b.firstMs || a.rule.localeCompare(b.rule) || a.group.localeCompare(b.group));
}
