// The Elasticsearch searches Kibana runs for the project's rules, rebuilt from Kibana's own code so a test can run
// them on a real Elasticsearch and see which alerts they would raise. Sources (elastic/kibana):
// - `.es-query`, searchType esQuery: stack_alerts/server/rule_types/es_query/lib/fetch_es_query.ts (the filter,
//   size 0 when grouped, top hits of `size` per group), stack_alerts/common/build_sorted_events_query.ts (the time
//   range and sort), triggers_actions_ui/common/data/lib/build_agg.ts (groupAgg terms of termSize, capped at the
//   alert limit + 1, with a bucket_selector `params.compareValue <comparator> <threshold>` on _count).
// - Security threshold rule: detection_engine/rule_types/threshold/build_threshold_aggregation.ts (composite terms
//   on threshold.field, cardinality_count + cardinality_check `>=`, count_check `>=`) and find_threshold_signals.ts;
//   the signal history (threshold.ts, get_threshold_bucket_filters.ts) leaves out, per term set already alerted on,
//   the events up to the newest one that alert counted.
// Alerts: one per group bucket left after the selectors.
import { kqlToQuery } from "./lensQuery";
import type { ThresholdRuleBody } from "./detections";

export interface RuleWindow {
  /** Start and end of the rule's look-back window (ISO times). */
  from: string;
  to: string;
}

/** Kibana's default `xpack.alerting.rules.run.alerts.max`. */
export const DEFAULT_ALERT_LIMIT = 1000;

// getComparatorScript (stack_alerts/common/comparator.ts) for BUCKET_SELECTOR_FIELD `params.compareValue`.
const COMPARATOR_SCRIPT: Record<string, (t: number[]) => string> = {
  ">": (t) => `params.compareValue > ${t[0]}`,
  ">=": (t) => `params.compareValue >= ${t[0]}`,
  "<": (t) => `params.compareValue < ${t[0]}`,
  "<=": (t) => `params.compareValue <= ${t[0]}`,
  between: (t) => `params.compareValue >= ${t[0]} && params.compareValue <= ${t[1]}`,
  notBetween: (t) => `params.compareValue < ${t[0]} || params.compareValue > ${t[1]}`,
};

export interface RuleSearch {
  index: string[];
  body: Record<string, any>;
}

/**
 * The query as Elasticsearch reads it when the rule runs at `runAt`: each range bound in date math from `now` (the
 * rules' own `lte: now-5m`, ./schedule.ts) anchored at the run, `<runAt>||-5m`, so a replay gets the answer the run got.
 */
export function atRunTime(query: unknown, runAt: string): unknown {
  if (Array.isArray(query)) return query.map((q) => atRunTime(q, runAt));
  if (!query || typeof query !== "object") return query;
  const anchor = (bound: unknown) => (typeof bound === "string" && bound.startsWith("now") ? (bound === "now" ? runAt : `${runAt}||${bound.slice(3)}`) : bound);
  return Object.fromEntries(Object.entries(query).map(([key, value]): [string, unknown] => {
    if (key !== "range" || !value || typeof value !== "object") return [key, atRunTime(value, runAt)];
    return [key, Object.fromEntries(Object.entries(value).map(([field, bounds]) => [field, Object.fromEntries(Object.entries(bounds as object).map(([b, v]) => [b, anchor(v)]))]))];
  }));
}

/**
 * The search an `.es-query` rule (esQuery, count, groupBy all|top) runs over one window. Kibana's window ends at the
 * run, so `now` in the rule's query is anchored at window.to (atRunTime).
 */
export function esQueryRuleSearch(params: Record<string, any>, window: RuleWindow, alertLimit = DEFAULT_ALERT_LIMIT): RuleSearch {
  if ((params.searchType ?? "esQuery") !== "esQuery") throw new Error(`only searchType esQuery is rebuilt here (got ${params.searchType})`);
  if ((params.aggType ?? "count") !== "count") throw new Error(`only aggType count is rebuilt here (got ${params.aggType})`);
  const query = atRunTime(JSON.parse(params.esQuery).query, window.to);
  const grouped = params.groupBy === "top" && Boolean(params.termField);
  const range = { range: { [params.timeField]: { lte: window.to, gte: window.from, format: "strict_date_optional_time" } } };
  const aggs: Record<string, any> = {};
  if (grouped) {
    let size = params.termSize ?? 100;
    if (size > alertLimit) size = alertLimit + 1;
    aggs.groupAgg = {
      terms: { field: params.termField, size },
      aggs: {
        conditionSelector: {
          bucket_selector: { buckets_path: { compareValue: "_count" }, script: COMPARATOR_SCRIPT[params.thresholdComparator](params.threshold) },
        },
        topHitsAgg: { top_hits: { size: params.size } },
      },
    };
    aggs.groupAggCount = { stats_bucket: { buckets_path: "groupAgg._count" } };
  }
  return {
    index: params.index,
    body: {
      size: grouped ? 0 : params.size,
      track_total_hits: true,
      query: { bool: { filter: [query, { bool: { filter: [range] } }] } },
      sort: [{ [params.timeField]: { order: "desc", format: "strict_date_optional_time||epoch_millis" } }],
      ...(Object.keys(aggs).length ? { aggs } : {}),
    },
  };
}

export interface RuleAlert {
  /** The group (e.g. the source IP), or "all" for an ungrouped rule. */
  group: string;
  value: number;
  /** Threshold rules: the bucket's terms and its newest event (ms), what the signal history keeps. */
  terms?: SignalHistoryEntry["terms"];
  lastEventMs?: number;
}

/**
 * The alerts an `.es-query` rule raises from its search's answer. The rule's comparison is applied here to each
 * group too, the same test the bucket_selector makes (a no-op where Elasticsearch ran the selector; needed where
 * the engine lacks pipeline aggregations: see withoutPipelineAggs).
 */
export function esQueryRuleAlerts(params: Record<string, any>, response: any): RuleAlert[] {
  const met = (value: number) => compare(params.thresholdComparator, params.threshold, value);
  if (params.groupBy === "top") {
    return (response.aggregations?.groupAgg?.buckets ?? [])
      .filter((b: any) => met(b.doc_count))
      .map((b: any) => ({ group: String(b.key), value: b.doc_count }));
  }
  const total = typeof response.hits.total === "number" ? response.hits.total : response.hits.total.value;
  return met(total) ? [{ group: "all", value: total }] : [];
}

function compare(comparator: string, t: number[], v: number): boolean {
  switch (comparator) {
    case ">": return v > t[0];
    case ">=": return v >= t[0];
    case "<": return v < t[0];
    case "<=": return v <= t[0];
    case "between": return v >= t[0] && v <= t[1];
    case "notBetween": return v < t[0] || v > t[1];
    default: throw new Error(`unknown thresholdComparator ${comparator}`);
  }
}

/**
 * The same search without its pipeline aggregations (bucket_selector, stats_bucket), for an engine without the
 * aggregations module (the integ-test distribution the tests run). Those aggregations only drop buckets and count
 * them; the *RuleAlerts functions apply the same conditions to the buckets returned.
 */
export function withoutPipelineAggs(search: RuleSearch): RuleSearch {
  const strip = (aggs: Record<string, any>): Record<string, any> => {
    const kept: Record<string, any> = {};
    for (const [name, agg] of Object.entries(aggs)) {
      if (agg.bucket_selector || agg.stats_bucket) continue;
      kept[name] = agg.aggs ? { ...agg, aggs: strip(agg.aggs) } : agg;
    }
    return kept;
  };
  return { ...search, body: search.body.aggs ? { ...search.body, aggs: strip(search.body.aggs) } : search.body };
}

/** Kibana's threshold signal history entry: the term values of an alert and the newest event it counted (ms). */
export interface SignalHistoryEntry {
  terms: Array<{ field: string; value: string | number }>;
  lastSignalMs: number;
}

/**
 * The filter the signal history adds (get_threshold_bucket_filters.ts): leave out, per term set already alerted on,
 * every event up to the newest one that alert counted.
 */
export function signalHistoryFilter(history: SignalHistoryEntry[]): Record<string, unknown> {
  return {
    bool: {
      must_not: history.map((entry) => ({
        bool: {
          filter: [
            { range: { "@timestamp": { lte: new Date(entry.lastSignalMs).toISOString() } } },
            ...entry.terms.map((term) => ({ term: { [term.field]: `${term.value}` } })),
          ],
        },
      })),
    },
  };
}

/**
 * The search a Security threshold rule (KQL query, threshold fields, one cardinality) runs over one window, with
 * the signal history of the runs before it (none for a first run).
 */
export function thresholdRuleSearch(rule: ThresholdRuleBody, window: RuleWindow, history: SignalHistoryEntry[] = []): RuleSearch {
  if (rule.language !== "kuery") throw new Error(`only KQL threshold rules are rebuilt here (got ${rule.language})`);
  const { field, value, cardinality } = rule.threshold;
  const checks: Record<string, any> = {};
  if (cardinality?.length) {
    checks.cardinality_count = { cardinality: { field: cardinality[0].field } };
    checks.cardinality_check = { bucket_selector: { buckets_path: { cardinalityCount: "cardinality_count" }, script: `params.cardinalityCount >= ${cardinality[0].value}` } };
  }
  return {
    index: rule.index,
    body: {
      size: 0,
      query: {
        bool: {
          filter: [
            kqlToQuery(rule.query, `rule ${rule.rule_id}`),
            ...(history.length ? [signalHistoryFilter(history)] : []),
            { range: { "@timestamp": { gte: window.from, lte: window.to, format: "strict_date_optional_time" } } },
          ],
        },
      },
      aggs: {
        thresholdTerms: {
          composite: { sources: field.map((f) => ({ [f]: { terms: { field: f } } })), size: 10000 },
          aggs: {
            max_timestamp: { max: { field: "@timestamp" } },
            min_timestamp: { min: { field: "@timestamp" } },
            ...checks,
            count_check: { bucket_selector: { buckets_path: { docCount: "_count" }, script: `params.docCount >= ${value}` } },
          },
        },
      },
    },
  };
}

/**
 * The alerts a threshold rule raises: one per composite bucket meeting count_check and cardinality_check (applied
 * here as well, as for esQueryRuleAlerts). Key joined by "|"; value = the distinct count (or the flow count).
 */
export function thresholdRuleAlerts(rule: ThresholdRuleBody, response: any): RuleAlert[] {
  const cardinality = rule.threshold.cardinality?.[0];
  return (response.aggregations?.thresholdTerms?.buckets ?? [])
    .filter((b: any) => b.doc_count >= rule.threshold.value && (!cardinality || b.cardinality_count.value >= cardinality.value))
    .map((b: any) => ({
      group: Object.values(b.key).map(String).join("|"),
      value: b.cardinality_count?.value ?? b.doc_count,
      terms: Object.entries(b.key).map(([field, value]) => ({ field, value: value as string | number })),
      lastEventMs: b.max_timestamp.value,
    }));
}
