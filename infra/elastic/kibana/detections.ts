// The attack detections the program declares, as the Kibana rule bodies it sends, and what the operator tunes.
// Each runs on the Basic licence (facts and their elastic/kibana sources in dashboards/kibana/README.md):
// - brute force: an `.es-query` rule grouped by source.ip (`groupBy: "top"`), counting flows to the watched ports
//   from public sources; `.es-query` can count per group but has no distinct count (aggType is count, avg, sum,
//   min or max), so it cannot express a port scan;
// - port scan and host sweep: the Security app's threshold rule (`siem.thresholdRule`, detection-engine API), whose
//   `threshold.cardinality` counts distinct destination ports (or hosts) per source.
// When they run and which flows a run counts (late-arriving flows): ./schedule.ts.
import type * as pulumi from "@pulumi/pulumi";
import type { KibanaConnection } from "./client";
import type { KibanaRuleArgs, RuleActionArgs } from "./ruleResource";
import { countedWindowText, esQueryWindow, thresholdSchedule, type DetectionTiming } from "./schedule";

/**
 * Sources that are not public, as the collector classes them (collector/src/ecs/addressClass.ts): RFC 1918, RFC 6598
 * (carrier-grade NAT), link-local, loopback, IPv6 ULA/link-local/loopback, and Azure's platform address
 * 168.63.129.16, whose load balancer health probes reach every balanced port, SSH and RDP included, many times a minute.
 */
export const NON_PUBLIC_CIDRS = [
  "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8", "168.63.129.16/32",
  "fc00::/7", "fe80::/10", "::1/128",
];

export const FLOW_INDEX = ["logs-azure.flowlogs-*"];

/** What every rule builder takes: the window (windowMinutes), the late-arrival allowance, the run interval (default "1m"). */
export type TimingOptions = Omit<DetectionTiming, "interval"> & { interval?: string };

export const timingOf = (options: TimingOptions): DetectionTiming =>
  ({ windowMinutes: options.windowMinutes, lateArrivalMinutes: options.lateArrivalMinutes, interval: options.interval ?? "1m" });

export interface BruteForceOptions extends TimingOptions {
  /** Alert when one public source makes more than this many flows... */
  flows: number;
  /** ...to these destination ports within windowMinutes. */
  ports: number[];
  index?: string[];
  connectorIds?: pulumi.Input<string>[];
}

/**
 * The `.es-query` query of the brute-force rule: flows to the watched ports from public sources, allowed or denied,
 * up to `upTo` (the range that ends the rule's window lateArrivalMinutes before the run, ./schedule.ts).
 */
export function bruteForceEsQuery(ports: number[], upTo?: Record<string, unknown>): Record<string, unknown> {
  return {
    query: {
      bool: {
        filter: [{ terms: { "destination.port": ports } }, ...(upTo ? [upTo] : [])],
        must_not: [{ terms: { "source.ip": NON_PUBLIC_CIDRS } }],
      },
    },
  };
}

/** Brute force as `.es-query` rule inputs: one alert per public source above the threshold. */
export function bruteForceRuleArgs(connection: pulumi.Input<KibanaConnection>, options: BruteForceOptions): KibanaRuleArgs {
  const timing = timingOf(options);
  const { upTo, ...window } = esQueryWindow(timing);
  return {
    connection,
    name: `Brute force: more than ${options.flows} flows from one public source to ports ${options.ports.join(", ")} in ${options.windowMinutes} minutes`,
    interval: timing.interval,
    tags: ["flowlogs", "azure", "detection"],
    params: {
      searchType: "esQuery",
      index: options.index ?? FLOW_INDEX,
      timeField: "@timestamp",
      esQuery: JSON.stringify(bruteForceEsQuery(options.ports, upTo)),
      aggType: "count",
      groupBy: "top",
      termField: "source.ip",
      // Sources checked per run; Kibana caps it at 1000 (MAX_GROUPS).
      termSize: 100,
      threshold: [options.flows],
      thresholdComparator: ">",
      ...window,
      size: 10,
      // With grouping Kibana ignores this; false states what happens: every flow in the window counts on each run.
      excludeHitsFromPreviousRun: false,
    },
    actions: (options.connectorIds ?? []).map((connectorId): RuleActionArgs => ({
      connectorId,
      group: "query matched",
      params: {
        documents: [{
          "@timestamp": "{{context.date}}",
          rule: { id: "{{rule.id}}", name: "{{rule.name}}" },
          detection: "brute_force",
          // The group (the source address) is the alert's id: an .es-query rule's context has no group.
          source: { ip: "{{alert.id}}" },
          message: "{{context.message}}",
          flows: "{{context.value}}",
        }],
      },
    })),
  };
}

export interface ScanOptions extends TimingOptions {
  /** Alert when one source reaches more than this many distinct destination ports (or hosts) within windowMinutes. */
  distinct: number;
  index?: string[];
}

export type ScanKind = "port_scan" | "host_sweep";

const SCAN_FIELD: Record<ScanKind, string> = { port_scan: "destination.port", host_sweep: "destination.ip" };

/**
 * A Security threshold rule body (POST /api/detection_engine/rules). Kibana keeps buckets whose distinct count is
 * `>=` cardinality.value (build_threshold_aggregation.ts), so "more than N" is N + 1.
 */
export function scanRuleBody(kind: ScanKind, options: ScanOptions, actions: ScanAction[] = []): ThresholdRuleBody {
  const what = kind === "port_scan" ? "destination ports" : "destination hosts";
  const timing = timingOf(options);
  return {
    rule_id: `flowlogs-${kind.replace("_", "-")}`,
    type: "threshold",
    name: `${kind === "port_scan" ? "Port scan" : "Host sweep"}: one source reaching more than ${options.distinct} ${what} in ${options.windowMinutes} minutes`,
    description: `Azure flow logs: a source address with flows to more than ${options.distinct} distinct ${what} within ${options.windowMinutes} minutes, allowed or denied. ${countedWindowText(timing)}`,
    risk_score: 47,
    severity: "medium",
    index: options.index ?? FLOW_INDEX,
    language: "kuery",
    query: `${SCAN_FIELD[kind]} : *`,
    threshold: { field: ["source.ip"], value: 1, cardinality: [{ field: SCAN_FIELD[kind], value: options.distinct + 1 }] },
    // Every interval, over the window ending lateArrivalMinutes ago; Kibana's signal history keeps one burst one alert.
    ...thresholdSchedule(timing),
    enabled: true,
    tags: ["flowlogs", "azure", "detection"],
    actions: securityRuleActions(kind, actions),
  };
}

/**
 * A Security rule's actions: one summary per run with alerts (RuleActionFrequency, camelCase notifyWhen) to each
 * connector; an `.index` connector without params gets one alert document naming the detection.
 */
export function securityRuleActions(detection: string, actions: ScanAction[]): DetectionRuleBody["actions"] {
  return actions.map((action) => ({
    group: "default",
    id: action.id,
    action_type_id: action.actionTypeId,
    params: action.params ?? {
      documents: [{
        "@timestamp": "{{date}}",
        rule: { id: "{{rule.id}}", name: "{{rule.name}}" },
        detection,
        alerts: "{{state.signals_count}}",
      }],
    },
    frequency: { summary: true, notifyWhen: "onActiveAlert", throttle: null },
  }));
}

/** A connector a Security rule notifies; params default to one `.index` document per run with alerts. */
export interface ScanAction {
  id: string;
  actionTypeId: ".index" | ".webhook" | ".email";
  params?: Record<string, unknown>;
}

/** The fields every Security detection rule this project declares sends (POST /api/detection_engine/rules). */
export interface SecurityRuleCommon {
  rule_id: string;
  name: string;
  description: string;
  risk_score: number;
  severity: "low" | "medium" | "high" | "critical";
  index: string[];
  language: "kuery" | "lucene";
  query: string;
  interval: string;
  from: string;
  /** Date math like `from`; `now-5m` ends each run's window five minutes before the run (Kibana's default: now). */
  to: string;
  enabled: boolean;
  tags: string[];
  actions: Array<{ group: string; id: string; action_type_id: string; params: Record<string, unknown>; frequency?: Record<string, unknown> }>;
}

export interface ThresholdRuleBody extends SecurityRuleCommon {
  type: "threshold";
  threshold: { field: string[]; value: number; cardinality?: Array<{ field: string; value: number }> };
}

export interface NewTermsRuleBody extends SecurityRuleCommon {
  type: "new_terms";
  /** 1 to 3 fields; a combination of their values not seen since history_window_start alerts. */
  new_terms_fields: string[];
  /** Date math, e.g. now-14d; must be earlier than `from`. */
  history_window_start: string;
}

export type DetectionRuleBody = ThresholdRuleBody | NewTermsRuleBody;
