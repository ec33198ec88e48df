// The searches the Security app's new_terms rule runs (the aggregation approach every licence gets), rebuilt from
// Kibana's code so a test can run them on a real Elasticsearch. Sources (elastic/kibana,
// x-pack/solutions/security/plugins/security_solution/server/lib/detection_engine/rule_types/):
// - new_terms/execute_new_terms_aggregation_approach.ts: phase 1, a composite aggregation over the rule window
//   (`buildRecentTermsAgg`, pages of 10,000) listing every combination of the new_terms_fields seen in it;
// - new_terms/multi_terms_composite.ts (more than one field): phase 2 takes those combinations in batches of 500,
//   filters the history window + rule window to them (`bool.should` of one `match` per field) and runs the same
//   composite with `first_seen: min(@timestamp)` and a bucket_selector `first_seen > tuple.from`
//   (`buildCompositeNewTermsAgg`); phase 3 runs it again with a `top_hits` of the oldest document
//   (`buildCompositeDocFetchAgg`), one alert per bucket;
// - new_terms/utils.ts: history_window_start is date math resolved against the window's end (forceNow: tuple.to);
// - utils/build_events_query.ts: `bool.filter [rule filter, range on @timestamp]`, size 0, sort @timestamp asc.
import { kqlToQuery } from "./lensQuery";
import type { NewTermsRuleBody } from "./detections";
import type { RuleSearch, RuleWindow } from "./ruleQuery";
import { dateMathBackMs } from "./schedule";

const PAGE_SIZE = 10000;
const BATCH_SIZE = 500;

export type TermsKey = Record<string, string | number | null>;

/** `now` or `now-<n><s|m|h|d|w>` resolved against `now` (the date math this project writes; anything else fails). */
export function resolveDateMath(expression: string, now: string): string {
  if (expression === "now") return new Date(Date.parse(now)).toISOString();
  const back = dateMathBackMs(expression);
  if (back === undefined) throw new Error(`date math "${expression}" is not "now" or of the form now-<n><s|m|h|d|w>`);
  return new Date(Date.parse(now) - back).toISOString();
}

function eventsSearch(rule: NewTermsRuleBody, from: string, to: string, extraFilter: Record<string, unknown> | undefined, aggs: Record<string, unknown>): RuleSearch {
  const ruleFilter = kqlToQuery(rule.query, `rule ${rule.rule_id}`, rule.language);
  return {
    index: rule.index,
    body: {
      size: 0,
      query: {
        bool: {
          filter: [
            extraFilter ? { bool: { filter: [ruleFilter, extraFilter] } } : ruleFilter,
            { range: { "@timestamp": { lte: to, gte: from, format: "strict_date_optional_time" } } },
          ],
        },
      },
      sort: [{ "@timestamp": { order: "asc", unmapped_type: "date" } }],
      aggs,
    },
  };
}

const composite = (fields: string[], size: number, after?: TermsKey) => ({
  sources: fields.map((field) => ({ [field]: { terms: { field } } })),
  size,
  ...(after ? { after } : {}),
});

/** Phase 1: every combination of the new-terms fields in the rule window, one page (`after` = the previous page's after_key). */
export function recentTermsSearch(rule: NewTermsRuleBody, window: RuleWindow, after?: TermsKey): RuleSearch {
  return eventsSearch(rule, window.from, window.to, undefined, { new_terms: { composite: composite(rule.new_terms_fields, PAGE_SIZE, after) } });
}

/** Phase 1's combinations in the batches phase 2 and 3 take them (500 each). */
export function termBatches(keys: TermsKey[]): TermsKey[][] {
  const batches: TermsKey[][] = [];
  for (let i = 0; i < keys.length; i += BATCH_SIZE) batches.push(keys.slice(i, i + BATCH_SIZE));
  return batches;
}

/**
 * Phase 2 (`withDocs` false) or 3 (true) for one batch: the history window plus the rule window, restricted to the
 * batch's combinations, each combination's first sighting, kept when it falls after the rule window's start.
 * `after` is the last key of the previous batch (or the phase-1 page's incoming after key), as Kibana pages it.
 */
export function newTermsSearch(rule: NewTermsRuleBody, window: RuleWindow, batch: TermsKey[], after: TermsKey | undefined, withDocs: boolean): RuleSearch {
  if (rule.new_terms_fields.length < 2) throw new Error("only the multi-field path (2 or 3 new_terms_fields) is rebuilt here");
  const historyStart = resolveDateMath(rule.history_window_start, window.to);
  const batchFilter = { bool: { should: batch.map((key) => ({ bool: { must: Object.keys(key).map((field) => ({ match: { [field]: key[field] } })) } })) } };
  const aggs: Record<string, unknown> = {
    first_seen: { min: { field: "@timestamp" } },
    filtering_agg: {
      bucket_selector: {
        buckets_path: { first_seen_value: "first_seen" },
        script: { params: { start_time: Date.parse(window.from) }, source: "params.first_seen_value > params.start_time" },
      },
    },
    ...(withDocs ? { docs: { top_hits: { size: 1, sort: [{ "@timestamp": "asc" }] } } } : {}),
  };
  return eventsSearch(rule, historyStart, window.to, batchFilter, { new_terms: { composite: composite(rule.new_terms_fields, batch.length, after), aggs } });
}

export interface NewTermsAlert {
  /** The new combination, field by field. */
  terms: TermsKey;
  /** When it was first seen (the alert's source document's time). */
  firstSeen: string;
  /** That document, from the phase-3 top_hits (when the response has it). */
  event?: Record<string, unknown>;
}

/**
 * The alerts of a phase-2/3 answer: buckets whose first sighting is after the window's start (the bucket_selector's
 * test, applied here as well so the search can run without pipeline aggregations: see withoutPipelineAggs).
 */
export function newTermsAlerts(window: RuleWindow, response: any): NewTermsAlert[] {
  const start = Date.parse(window.from);
  return (response.aggregations?.new_terms?.buckets ?? [])
    .filter((b: any) => b.first_seen.value > start)
    .map((b: any) => ({
      terms: b.key,
      firstSeen: new Date(b.first_seen.value).toISOString(),
      ...(b.docs ? { event: b.docs.hits.hits[0]?._source } : {}),
    }));
}

/**
 * One run of the rule over `window`, phase by phase as Kibana pages it: phase-1 pages until one has no after_key,
 * each page's combinations in batches through phase 2, and phase 3 for a batch that has new ones. `search` runs a
 * request (e.g. on a client, with withoutPipelineAggs where the engine lacks them).
 */
export async function runNewTermsRule(rule: NewTermsRuleBody, window: RuleWindow, search: (request: RuleSearch) => Promise<any>): Promise<NewTermsAlert[]> {
  const alerts: NewTermsAlert[] = [];
  let afterKey: TermsKey | undefined;
  for (;;) {
    const page = await search(recentTermsSearch(rule, window, afterKey));
    const recent = page.aggregations?.new_terms;
    if (!recent) throw new Error("aggregations were missing on the recent-terms search result");
    if (recent.after_key == null) break;
    let batchAfter = afterKey;
    for (const batch of termBatches(recent.buckets.map((b: any) => b.key))) {
      if (newTermsAlerts(window, await search(newTermsSearch(rule, window, batch, batchAfter, false))).length) {
        alerts.push(...newTermsAlerts(window, await search(newTermsSearch(rule, window, batch, batchAfter, true))));
      }
      batchAfter = batch[batch.length - 1];
    }
    afterKey = recent.after_key;
  }
  return alerts;
}
