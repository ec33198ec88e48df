// Shared plumbing for walking one record: reporting problems with their position, and reading one flowTuples
// array. The record walkers (nsg.ts, vnet.ts) only know where things live in their format.
import type { FlowContext, ParsedFlow } from "./flow";
import { StreamedTuples } from "./streamedTuples";
import { parseTuple, TupleError, type TupleLayout } from "./tuple";
import { asJson, quote } from "../safeText";

/** Longest excerpt of offending input kept in a reject. */
export const RAW_LIMIT = 300;

export interface RecordSink {
  flow(flow: ParsedFlow): void;
  /** A problem with the whole record (tuple undefined) or with one tuple of it. */
  reject(reason: string, raw: unknown, tuple?: number): void;
}

/** Tuples are numbered across the whole record (all rules/groups), as `Reject.tuple` requires. */
export interface TupleCounter {
  next: number;
}

export function walkTuples(
  tuples: unknown,
  path: string,
  layout: TupleLayout,
  context: FlowContext,
  counter: TupleCounter,
  sink: RecordSink,
): void {
  if (tuples instanceof StreamedTuples) {
    // A long record's list, streamed later through walkTuple with the same numbering.
    tuples.binding = { path, layout, context, firstTuple: counter.next };
    counter.next += tuples.count;
    return;
  }
  if (!Array.isArray(tuples)) {
    sink.reject(`${path} is ${describe(tuples)}, expected an array of tuple strings`, tuples);
    return;
  }
  for (let i = 0; i < tuples.length; i++) walkTuple(tuples[i], i, counter.next++, path, layout, context, sink);
}

/** One element `i` of a flowTuples array: a flow, or a reject numbered `tupleNumber`. */
export function walkTuple(
  text: unknown, i: number, tupleNumber: number, path: string, layout: TupleLayout, context: FlowContext, sink: RecordSink,
): void {
  if (typeof text !== "string") {
    sink.reject(`${path}[${i}] is ${describe(text)}, expected a tuple string`, text, tupleNumber);
    return;
  }
  try {
    const tuple = parseTuple(text, layout);
    checkPlausible(tuple.timestampMs, text, windowOf(context));
    sink.flow({ context, tuple, indexInGroup: i, text });
  } catch (error) {
    if (!(error instanceof TupleError)) throw error;
    sink.reject(`${path}[${i}]: ${error.message}`, text, tupleNumber);
  }
}

// Tuple times are checked against a window, not a clock (the parser stays pure): within a day of the record's own
// `time` when it has a readable one, and always within 2010..2100, so a forged or garbled time is a reject, not a
// document dated 1970 or 2286.
const EARLIEST_MS = Date.UTC(2010, 0, 1);
const LATEST_MS = Date.UTC(2100, 0, 1);
const DAY_MS = 86_400_000;
const ISO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,3})\d*)?(Z|[+-]\d{2}:\d{2})$/;

interface TimeWindow {
  /** The record time the window was made from, as written. */
  recordTime: string | undefined;
  /** Its instant, when it is a readable time (else only the fixed bounds apply). */
  recordMs?: number;
}

// The window depends on the record's time alone, which all groups of a record share: the last one is kept.
let lastWindow: TimeWindow | undefined;

function windowOf(context: FlowContext): TimeWindow {
  if (lastWindow === undefined || lastWindow.recordTime !== context.recordTime) lastWindow = plausibleWindow(context.recordTime);
  return lastWindow;
}

function plausibleWindow(recordTime: string | undefined): TimeWindow {
  const match = recordTime === undefined ? null : ISO_TIME.exec(recordTime);
  const recordMs = match ? Date.parse(`${match[1]}.${(match[2] ?? "").padEnd(3, "0")}${match[3]}`) : NaN;
  return Number.isFinite(recordMs) ? { recordTime, recordMs } : { recordTime };
}

function checkPlausible(timestampMs: number, text: string, window: TimeWindow): void {
  if (timestampMs < EARLIEST_MS || timestampMs > LATEST_MS) {
    throw new TupleError(`${shownTime(timestampMs, text)} is outside 2010-01-01..2100-01-01`);
  }
  if (window.recordMs !== undefined && Math.abs(timestampMs - window.recordMs) > DAY_MS) {
    throw new TupleError(`${shownTime(timestampMs, text)} is more than a day from the record's time ${window.recordTime}`);
  }
}

function shownTime(timestampMs: number, text: string): string {
  return `timestamp ${text.slice(0, text.indexOf(","))} (${new Date(timestampMs).toISOString()})`;
}

/**
 * Rejects `entry` (reporting `label: <path><key> is ..., expected a string`) when one of `keys` holds something other
 * than a string (absent, null and "" are fine: omitted metadata). Such a value is reported, never coerced or
 * dropped: it is part of the document id. True when rejected: the caller skips the entry.
 */
export function rejectBadMetadata(
  sink: RecordSink, label: string, entry: Record<string, unknown>, keys: readonly string[], path = "",
): boolean {
  for (const key of keys) {
    const value = entry[key];
    if (value !== undefined && value !== null && typeof value !== "string") {
      sink.reject(`${label}: ${path}${key} is ${describe(value)}, expected a string`, value);
      return true;
    }
  }
  return false;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A string field, or undefined when absent/empty/not a string (optional metadata is omitted, not invented). */
export function optionalString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function describe(raw: unknown): string {
  const value = asJson(raw); // a streamed list is an array, as it was in the record
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** A readable, bounded excerpt of a raw value for reports: a string as written, anything else as cut JSON. */
export function excerpt(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return value.length > RAW_LIMIT ? `${value.slice(0, RAW_LIMIT)}…` : value;
  return quote(value, RAW_LIMIT);
}
