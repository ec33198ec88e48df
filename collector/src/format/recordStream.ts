// A record too long to parse whole is walked in two passes over its bytes, fed in pieces (pure: no I/O here).
// Pass 1 (RecordSkeleton) keeps everything except the contents of its flowTuples arrays, so metadata is known
// wherever it sits in key order (JSON allows it after the tuples), counts and validates each array's elements, and
// parses the rest with the ordinary record walker. Pass 2 (TupleStream) hands out the elements one by one, to be
// walked with the same tuple walker: the documents and rejects equal those of the whole-record path.
import type { FlowEnrichment, IdentifiedDocument, Reject } from "../model";
import { recordOutput, walkRecord } from "./parse";
import { StreamedTuples } from "./streamedTuples";
import { walkTuple, type RecordSink } from "./walk";

/** The record cannot be streamed: not valid JSON, or its metadata or one tuple exceeds the bound. */
export class RecordStreamError extends Error {}

const TUPLES_KEY = "flowTuples";
const KEY_CAPTURE_LIMIT = 128;

interface Frame {
  array: boolean;
  expectKey: boolean;
  key?: string;
}

/** Shared byte-level tokenizer: string/escape state, the containers open, the keys, the flowTuples arrays. */
abstract class TuplesTokenizer {
  private stack: Frame[] = [];
  private inString = false;
  private escape = false;
  private keyBytes: number[] | undefined;
  /** Stack depth of the open flowTuples array, -1 outside one. */
  private tuplesDepth = -1;
  private ordinal = -1;
  private elementIndex = 0;
  private elementParts: Buffer[] = [];
  private elementBytes = 0;
  private inElement = false;
  protected bytesSeen = 0;
  protected started = false;

  constructor(protected readonly limit: number) {}

  push(chunk: Buffer): void {
    let copyFrom = this.tuplesDepth < 0 ? 0 : -1;
    let elementFrom = this.inElement ? 0 : -1;
    let nextBackslash = -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.inString) {
        if (!this.escape && !this.keyBytes) {
          // Tuple strings are most of the bytes: jump to the next quote or backslash.
          if (nextBackslash < i) nextBackslash = indexOrEnd(chunk, 0x5c, i);
          const stop = Math.min(indexOrEnd(chunk, 0x22, i), nextBackslash);
          if (stop >= chunk.length) break;
          i = stop;
          if (chunk[i] === 0x5c) this.escape = true;
          else this.inString = false;
          continue;
        }
        if (this.escape) this.escape = false;
        else if (byte === 0x5c) this.escape = true;
        else if (byte === 0x22) {
          this.inString = false;
          if (this.keyBytes) this.endKey();
        }
        if (this.keyBytes && this.inString && this.keyBytes.length <= KEY_CAPTURE_LIMIT) this.keyBytes.push(byte);
        continue;
      }
      const top = this.stack[this.stack.length - 1];
      const atArrayLevel = this.tuplesDepth >= 0 && this.stack.length - 1 === this.tuplesDepth;
      switch (byte) {
        case 0x22:
          this.inString = true;
          if (top && !top.array && top.expectKey) this.keyBytes = [];
          break;
        case 0x7b:
          this.stack.push({ array: false, expectKey: true });
          break;
        case 0x5b: {
          const tuples = this.tuplesDepth < 0 && top !== undefined && !top.array && top.key === TUPLES_KEY;
          this.stack.push({ array: true, expectKey: false });
          if (tuples) {
            this.tuplesDepth = this.stack.length - 1;
            this.ordinal++;
            this.elementIndex = 0;
            if (copyFrom >= 0) this.copy(chunk.subarray(copyFrom, i + 1));
            copyFrom = -1;
            this.inElement = true;
            elementFrom = i + 1;
          }
          break;
        }
        case 0x7d:
        case 0x5d:
          if (atArrayLevel && byte === 0x5d) {
            this.endElement(chunk.subarray(elementFrom, i), true);
            this.inElement = false;
            elementFrom = -1;
            this.closeTuples(this.ordinal, this.elementIndex);
            this.tuplesDepth = -1;
            copyFrom = i;
          }
          this.stack.pop();
          if (this.stack.length === 0) this.started = true;
          break;
        case 0x3a:
          if (top && !top.array) top.expectKey = false;
          break;
        case 0x2c:
          if (top && !top.array) {
            top.expectKey = true;
            top.key = undefined;
          } else if (atArrayLevel) {
            this.endElement(chunk.subarray(elementFrom, i), false);
            elementFrom = i + 1;
          }
          break;
      }
    }
    if (copyFrom >= 0) this.copy(chunk.subarray(copyFrom));
    if (this.inElement) this.keepElement(chunk.subarray(Math.max(elementFrom, 0)));
    this.bytesSeen += chunk.length;
  }

  /** Throws unless exactly one complete value was fed. */
  protected checkClosed(): void {
    if (!this.started || this.stack.length > 0 || this.inString) throw new RecordStreamError("record is not valid JSON: it does not close");
  }

  /** Bytes outside the flowTuples arrays' contents (pass 1 keeps them). */
  protected copy(_bytes: Buffer): void {}
  protected abstract element(ordinal: number, index: number, text: string): void;
  protected closeTuples(_ordinal: number, _count: number): void {}

  private endKey(): void {
    const bytes = this.keyBytes!;
    this.keyBytes = undefined;
    const top = this.stack[this.stack.length - 1];
    if (!top || top.array || bytes.length > KEY_CAPTURE_LIMIT) return;
    const raw = Buffer.from(bytes).toString("utf8");
    try {
      // Escaped keys decode as JSON.parse decodes them, so `flow\u0054uples` is the same key.
      top.key = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
    } catch {
      top.key = undefined;
    }
  }

  private keepElement(bytes: Buffer): void {
    this.elementBytes += bytes.length;
    if (this.elementBytes > this.limit) {
      throw new RecordStreamError(`flowTuples element ${this.elementIndex} is longer than ${this.limit} bytes`);
    }
    this.elementParts.push(Buffer.from(bytes));
  }

  private endElement(last: Buffer, closing: boolean): void {
    const bytes = this.elementParts.length ? Buffer.concat([...this.elementParts, last]) : last;
    this.elementParts = [];
    this.elementBytes = 0;
    if (bytes.length > this.limit) throw new RecordStreamError(`flowTuples element ${this.elementIndex} is longer than ${this.limit} bytes`);
    const text = bytes.toString("utf8");
    // `[]` has no element; `[1,]` or `[,1]` is not JSON (pass 1 rejects it when parsing the element).
    if (closing && this.elementIndex === 0 && text.trim() === "") return;
    this.element(this.ordinal, this.elementIndex++, text);
  }
}

function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
}

/** Pass 1: the record's skeleton (flowTuples arrays replaced by StreamedTuples), parsed. */
export class RecordSkeleton extends TuplesTokenizer {
  private parts: Buffer[] = [];
  private size = 0;

  protected override copy(bytes: Buffer): void {
    this.size += bytes.length;
    if (this.size > this.limit) {
      throw new RecordStreamError(`record has more than ${this.limit} bytes outside its flowTuples arrays (FLOWLOGS_RECORD_BYTES)`);
    }
    this.parts.push(Buffer.from(bytes));
  }

  protected override element(ordinal: number, index: number, text: string): void {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new RecordStreamError(`record is not valid JSON: element ${index} of flowTuples list ${ordinal}: ${(error as Error).message}`);
    }
  }

  protected override closeTuples(ordinal: number, count: number): void {
    const marker = Buffer.from(`${ordinal},${count}`);
    this.parts.push(marker);
    this.size += marker.length;
  }

  /** The parsed skeleton and its flowTuples stand-ins by ordinal. */
  finish(): { record: unknown; lists: Map<number, StreamedTuples> } {
    this.checkClosed();
    const lists = new Map<number, StreamedTuples>();
    let record: unknown;
    try {
      // Every array left under a flowTuples key is a stand-in `[ordinal,count]`: the real ones were emptied.
      record = JSON.parse(Buffer.concat(this.parts).toString("utf8"), (key, value: unknown) => {
        if (key !== TUPLES_KEY || !Array.isArray(value)) return value;
        const list = new StreamedTuples(value[0] as number, value[1] as number);
        lists.set(list.ordinal, list);
        return list;
      });
    } catch (error) {
      throw new RecordStreamError(`record is not valid JSON: ${(error as Error).message}`);
    }
    return { record, lists };
  }
}

/** Pass 2: the flowTuples elements, parsed, in order. */
export class TupleStream extends TuplesTokenizer {
  private ready: Array<{ ordinal: number; index: number; value: unknown }> = [];

  protected override element(ordinal: number, index: number, text: string): void {
    this.ready.push({ ordinal, index, value: JSON.parse(text) });
  }

  /** The elements completed by the bytes pushed so far. */
  take(): Array<{ ordinal: number; index: number; value: unknown }> {
    const out = this.ready;
    this.ready = [];
    return out;
  }
}

/** Walks a skeleton's metadata (pass 1 result) into `sink`, binding its lists. */
export function walkSkeleton(record: unknown, sink: RecordSink): void {
  walkRecord(record, sink);
}

/** Walks one streamed element (pass 2) into `sink`; elements of lists the walker did not bind are not tuples. */
export function walkStreamedElement(lists: Map<number, StreamedTuples>, ordinal: number, index: number, value: unknown, sink: RecordSink): void {
  const binding = lists.get(ordinal)?.binding;
  if (!binding) return;
  walkTuple(value, index, binding.firstTuple + index, binding.path, binding.layout, binding.context, sink);
}

/**
 * The streaming path over one record's bytes fed in pieces of `pieceBytes`, all in memory (the `parse` command and
 * tests; the service drives the same classes over ranged downloads). Throws RecordStreamError like pass 1 does.
 */
export function parseRecordStreaming(
  bytes: Buffer, recordIndex: number, limit: number, pieceBytes: number, enrichment?: FlowEnrichment,
): { documents: IdentifiedDocument[]; rejects: Reject[] } {
  const skeleton = new RecordSkeleton(limit);
  for (let at = 0; at < bytes.length; at += pieceBytes) skeleton.push(bytes.subarray(at, at + pieceBytes));
  const { record, lists } = skeleton.finish();
  const output = recordOutput(recordIndex, [], [], enrichment);
  walkSkeleton(record, output.sink);
  const tuples = new TupleStream(limit);
  for (let at = 0; at < bytes.length; at += pieceBytes) {
    tuples.push(bytes.subarray(at, at + pieceBytes));
    for (const element of tuples.take()) walkStreamedElement(lists, element.ordinal, element.index, element.value, output.sink);
  }
  return { documents: output.documents, rejects: output.rejects };
}
