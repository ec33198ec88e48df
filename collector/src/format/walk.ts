// Shared plumbing for walking one record: reporting problems with their position, and reading one flowTuples
// array. The record walkers (nsg.ts, vnet.ts) only know where things live in their format.
import type { FlowContext, ParsedFlow } from "./flow";
import { StreamedTuples } from "./streamedTuples";
import { parseTuple, TupleError, type TupleLayout } from "./tuple";

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
    sink.flow({ context, tuple: parseTuple(text, layout), indexInGroup: i, text });
  } catch (error) {
    if (!(error instanceof TupleError)) throw error;
    sink.reject(`${path}[${i}]: ${error.message}`, text, tupleNumber);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A string field, or undefined when absent/empty/not a string (optional metadata is omitted, not invented). */
export function optionalString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** A readable, bounded excerpt of a raw value for reports. */
export function excerpt(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > RAW_LIMIT ? `${text.slice(0, RAW_LIMIT)}…` : text;
}
