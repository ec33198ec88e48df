// The declared rules run after run, as Kibana schedules them, over whatever Elasticsearch holds at each run: the
// window each run searches (from the declared body, resolved against the run), and what Kibana keeps between runs so
// overlapping windows raise one alert per burst. For the demo and the tests (nothing here is deployed). Sources
// (elastic/kibana):
// - Security rules: rule_types/utils/utils.ts getRuleRangeTuples (from/to date math with forceNow: startedAt);
//   threshold/threshold.ts with threshold/utils.ts getSignalHistory (history entries kept while newer than the run's
//   from) and build_signal_history.ts (an alert's newest event, its original time, per term set).
// - `.es-query`: es_query/executor.ts (dateStart = dateEnd - timeWindowSize, dateEnd the run; one alert per group,
//   the same alert while the group keeps matching run after run, recovered when it stops).
import type { ThresholdRuleBody } from "./detections";
import { intervalMinutes, UNIT_MS } from "./schedule";
import { resolveDateMath } from "./newTermsQuery";
import {
  esQueryRuleAlerts, esQueryRuleSearch, thresholdRuleAlerts, thresholdRuleSearch,
  type RuleAlert, type RuleSearch, type RuleWindow, type SignalHistoryEntry,
} from "./ruleQuery";

export type Search = (request: RuleSearch) => Promise<any>;

/** The window a Security rule run at `runAt` searches: its from and to resolved against the run. */
export function securityRuleWindow(rule: { from: string; to: string }, runAt: Date): RuleWindow {
  return { from: resolveDateMath(rule.from, runAt.toISOString()), to: resolveDateMath(rule.to, runAt.toISOString()) };
}

/** The window an `.es-query` rule run at `runAt` searches: timeWindowSize back from the run. */
export function esQueryRuleWindow(params: Record<string, any>, runAt: Date): RuleWindow {
  const ms = Number(params.timeWindowSize) * UNIT_MS[params.timeWindowUnit];
  if (!Number.isFinite(ms)) throw new Error(`timeWindowSize ${params.timeWindowSize} ${params.timeWindowUnit} is not a duration`);
  return { from: new Date(runAt.getTime() - ms).toISOString(), to: runAt.toISOString() };
}

/** The runs of a rule with this interval from `first` up to `last` (inclusive). */
export function runTimes(interval: string, first: Date, last: Date): Date[] {
  const step = intervalMinutes(interval) * 60_000;
  const runs: Date[] = [];
  for (let at = first.getTime(); at <= last.getTime(); at += step) runs.push(new Date(at));
  return runs;
}

/** A threshold rule run after run with Kibana's signal history: a burst that stays in later windows alerts once. */
export class ThresholdRuleReplay {
  private history = new Map<string, SignalHistoryEntry>();

  constructor(readonly rule: ThresholdRuleBody, private readonly search: Search) {}

  /** The alerts the run at `runAt` creates. */
  async run(runAt: Date): Promise<RuleAlert[]> {
    const window = securityRuleWindow(this.rule, runAt);
    const from = Date.parse(window.from);
    for (const [key, entry] of this.history) if (entry.lastSignalMs <= from) this.history.delete(key);
    const alerts = thresholdRuleAlerts(this.rule, await this.search(thresholdRuleSearch(this.rule, window, [...this.history.values()])));
    for (const alert of alerts) {
      const key = JSON.stringify(alert.terms);
      const known = this.history.get(key);
      if (!known || alert.lastEventMs! > known.lastSignalMs) this.history.set(key, { terms: alert.terms!, lastSignalMs: alert.lastEventMs! });
    }
    return alerts;
  }
}

/**
 * An `.es-query` rule run after run: `matched` is every group over the threshold in the run, `started` those that
 * were not in the run before (a new alert: what notify_when onActionGroupChange notifies).
 */
export class EsQueryRuleReplay {
  private active = new Set<string>();

  constructor(readonly params: Record<string, any>, private readonly search: Search) {}

  async run(runAt: Date): Promise<{ matched: RuleAlert[]; started: RuleAlert[] }> {
    const matched = esQueryRuleAlerts(this.params, await this.search(esQueryRuleSearch(this.params, esQueryRuleWindow(this.params, runAt))));
    const started = matched.filter((alert) => !this.active.has(alert.group));
    this.active = new Set(matched.map((alert) => alert.group));
    return { matched, started };
  }
}

/** A rule as a replay drives it: its interval, and per run the groups it matched and the alerts it raised. */
export interface RuleRunner {
  interval: string;
  run(runAt: Date): Promise<{ matched: RuleAlert[]; raised: RuleAlert[] }>;
}

/** A declared threshold rule: each alert it creates is raised (the signal history hides a burst after its alert). */
export function thresholdRunner(body: ThresholdRuleBody, search: Search): RuleRunner {
  const replay = new ThresholdRuleReplay(body, search);
  return { interval: body.interval, run: async (runAt) => { const alerts = await replay.run(runAt); return { matched: alerts, raised: alerts }; } };
}

/** A declared `.es-query` rule: a group is raised when its alert becomes active (notify_when onActionGroupChange). */
export function esQueryRunner(args: { interval: unknown; params: unknown }, search: Search): RuleRunner {
  const replay = new EsQueryRuleReplay(args.params as Record<string, any>, search);
  return { interval: String(args.interval), run: async (runAt) => { const { matched, started } = await replay.run(runAt); return { matched, raised: started }; } };
}

/** Whether a rule with this interval, first run at `start`, runs at `at`. */
export function runsAt(interval: string, start: Date, at: Date): boolean {
  const elapsed = at.getTime() - start.getTime();
  return elapsed >= 0 && elapsed % (intervalMinutes(interval) * 60_000) === 0;
}
