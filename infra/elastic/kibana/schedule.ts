// When the detections run and which flows each run counts. Flows reach Elasticsearch minutes after their
// @timestamp (Azure appends a block a minute, the collector polls every 60 s, an outage delays more), so a rule that
// looks back exactly its window from "now" never sees a burst whole: its newest flows are not there yet, and the next
// run has moved past them. Each counting rule therefore looks at a window of windowMinutes + interval + 1 minute that
// ends lateArrivalMinutes before the run:
// - windowMinutes: the burst the thresholds are about ("more than N ... in W minutes");
// - + one interval: some run then falls in the slot where a burst's flows have all arrived and are all in its window;
// - + 1 minute: Kibana's default additional look-back for runs that start late (the Security rule form's default);
// - ending lateArrivalMinutes before the run: a flow that late is in Elasticsearch when its window is counted.
// Runs overlap; Kibana keeps one burst one alert (dashboards/kibana/README.md, Detections: late-arriving flows).

export const LATE_ARRIVAL_DEFAULT_MINUTES = 5;

/** Whole minutes a flow may wait for the collector's next poll: 1 at the poll a minute the default 5 assumes. */
export function pollWaitMinutes(pollIntervalSeconds = 60): number {
  return Math.ceil(pollIntervalSeconds / 60);
}

/**
 * The default lateArrivalMinutes for a collector polling every `pollIntervalSeconds`: the 5 minutes assume a poll a
 * minute, and a flow waits up to one poll before the collector reads it, so each further minute between polls adds one.
 */
export function lateArrivalDefaultMinutes(pollIntervalSeconds = 60): number {
  return LATE_ARRIVAL_DEFAULT_MINUTES + Math.max(0, pollWaitMinutes(pollIntervalSeconds) - 1);
}
/** Kibana's default additional look-back (the Security rule form's 1 minute, `from: now-6m` every `5m`). */
export const LATE_RUN_MARGIN_MINUTES = 1;

export interface DetectionTiming {
  /** The burst length the thresholds are about. */
  windowMinutes: number;
  /** How long after its @timestamp a flow may reach Elasticsearch and still be counted. */
  lateArrivalMinutes: number;
  /** How often the rule runs, e.g. "1m" (kibana.alert.interval). */
  interval: string;
}

/** Milliseconds of the units in the intervals and date math the rules use. */
export const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** How far back `now-<n><s|m|h|d|w>` reaches, in ms; undefined for anything else (`now` included). */
export function dateMathBackMs(expression: unknown): number | undefined {
  const match = typeof expression === "string" ? /^now-([1-9]\d*)([smhdw])$/.exec(expression) : null;
  return match ? Number(match[1]) * UNIT_MS[match[2]] : undefined;
}

/** An interval such as "30s" or "1h" in whole minutes, rounded up (a run every 30 s still has minute windows). */
export function intervalMinutes(interval: string): number {
  const match = /^([1-9]\d*)([smhd])$/.exec(interval);
  if (!match) throw new Error(`interval "${interval}" must look like "1m", "30s", "1h"`);
  return Math.ceil((Number(match[1]) * UNIT_MS[match[2]]) / 60_000);
}

/** Minutes a counting rule's run counts: the burst, one interval, the late-run margin. */
export function countedMinutes(timing: DetectionTiming): number {
  return timing.windowMinutes + intervalMinutes(timing.interval) + LATE_RUN_MARGIN_MINUTES;
}

/** `now` or `now-<n>m`. */
const nowMinus = (minutes: number): string => (minutes === 0 ? "now" : `now-${minutes}m`);

/** A Security threshold rule's schedule: every interval (in minutes), counting [now - D - counted, now - D]. */
export function thresholdSchedule(timing: DetectionTiming): { interval: string; from: string; to: string } {
  return {
    interval: `${intervalMinutes(timing.interval)}m`,
    from: nowMinus(timing.lateArrivalMinutes + countedMinutes(timing)),
    to: nowMinus(timing.lateArrivalMinutes),
  };
}

/**
 * A new_terms rule's schedule: every windowMinutes, looking at [now - D - W - 1, now - D]. It counts nothing, so each
 * flow in one run after it arrived is enough; the minute of overlap keeps a pair first seen exactly at a window's
 * start (Kibana keeps first_seen > start) new in the run before it.
 */
export function newTermsSchedule(timing: Omit<DetectionTiming, "interval">): { interval: string; from: string; to: string } {
  return {
    interval: `${timing.windowMinutes}m`,
    from: nowMinus(timing.lateArrivalMinutes + timing.windowMinutes + LATE_RUN_MARGIN_MINUTES),
    to: nowMinus(timing.lateArrivalMinutes),
  };
}

/**
 * An `.es-query` rule's window: Kibana's ends at the run (timeWindowSize back from then, no offset), so the window is
 * D + counted minutes and the rule's query gets `upTo`, a range ending it D minutes before the run. Elasticsearch
 * resolves that `now` when the rule's search runs. Undefined `upTo` when D is 0.
 */
export function esQueryWindow(timing: DetectionTiming): { timeWindowSize: number; timeWindowUnit: "m"; upTo?: Record<string, unknown> } {
  return {
    timeWindowSize: timing.lateArrivalMinutes + countedMinutes(timing),
    timeWindowUnit: "m",
    ...(timing.lateArrivalMinutes > 0 ? { upTo: { range: { "@timestamp": { lte: nowMinus(timing.lateArrivalMinutes) } } } } : {}),
  };
}

/** One sentence for rule descriptions: which flows a run counts. */
export function countedWindowText(timing: DetectionTiming): string {
  const late = timing.lateArrivalMinutes;
  if (late === 0) return `Each run counts the flows of the last ${countedMinutes(timing)} minutes (no allowance for late flows).`;
  return `Each run counts the flows of the ${countedMinutes(timing)} minutes ending ${late} minute${late === 1 ? "" : "s"} before it, so flows reaching Elasticsearch up to ${late} minute${late === 1 ? "" : "s"} late are counted.`;
}
