// `_bulk` requests written as documents arrive: each document's two lines (the `create` action and its source) go
// straight into the request's buffer, cut into requests by count and bytes exactly as sizedBatches cuts them. The
// document text then dies young instead of waiting on the JS heap until the batch is sent (the collector's garbage
// collector was a third of its CPU, mostly copying and promoting such waiting documents). A document's own lines are
// read back from the buffer only when it needs more than one try or becomes a dead letter.
import type { ByteOut, IdentifiedDocument, SourcePosition } from "../model";
import { createAction } from "../ecs/bulk";
import { DOCUMENT_ID_LENGTH } from "../ecs/documentId";
import { putBytes } from "../ecs/jsonBytes";
import type { PendingDocument } from "./httpBulk";

export type Pending = PendingDocument<SourcePosition>;

/**
 * Which write a run of a request's documents came from (writes share requests: bulkCoalescer.ts): `origin` numbers
 * the writes of one shared request, `position` is where the documents were read (for dead letters).
 */
interface Span {
  /** Index of the span's first document. */
  from: number;
  origin: number;
  position?: SourcePosition;
}

/**
 * One `_bulk` request: its body and, for each document in it, where its lines start and which write it is from. Ids
 * are read back from the action lines when asked for (retries, dead letters, the dedupe lookup): an id string kept
 * per waiting document was most of what survived the collector's young-generation collections.
 */
export class BulkRequest {
  private released = false;

  private constructor(
    private readonly bytes: Buffer,
    /** Byte offsets: document i's action line starts at actionStarts[i], its source at sourceStarts[i]; one more entry for the end. */
    private readonly actionStarts: Float64Array,
    private readonly sourceStarts: Float64Array,
    /** The ids of documents whose action line was given as text (it may escape them), by index; the others are read back. */
    private readonly textIds: ReadonlyMap<number, string>,
    /** In document order, the first starting at 0. */
    private readonly spans: Span[],
  ) {}

  /** A request of already built documents (dead letters), in their order, all from one write. */
  static of(items: readonly Pending[]): BulkRequest {
    const writer = new BulkRequestWriter(Infinity, Infinity, items[0]?.position);
    for (const item of items) writer.addLines(item.id, item.action, item.source);
    return writer.finish()[0] ?? new BulkRequest(Buffer.alloc(0), Float64Array.of(0), new Float64Array(0), new Map(), [{ from: 0, origin: 0 }]);
  }

  static build(body: Buffer, actionStarts: Float64Array, sourceStarts: Float64Array, textIds: ReadonlyMap<number, string>, position?: SourcePosition): BulkRequest {
    return new BulkRequest(body, actionStarts, sourceStarts, textIds, [{ from: 0, origin: 0, ...(position ? { position } : {}) }]);
  }

  /** One request of several writes' requests, in order: part k's documents get origin k. */
  static concat(parts: readonly BulkRequest[]): BulkRequest {
    if (parts.length === 1 && parts[0]!.spans.every((span) => span.origin === 0)) return parts[0]!;
    return BulkRequest.combine(parts, (_, k) => k);
  }

  /** One request of pieces of one request, in order, each document still from its write. */
  static join(parts: readonly BulkRequest[]): BulkRequest {
    return parts.length === 1 ? parts[0]! : BulkRequest.combine(parts, (span) => span.origin);
  }

  private static combine(parts: readonly BulkRequest[], originOf: (span: Span, part: number) => number): BulkRequest {
    const count = parts.reduce((sum, part) => sum + part.length, 0);
    const actionStarts = new Float64Array(count + 1);
    const sourceStarts = new Float64Array(count);
    const textIds = new Map<number, string>();
    const spans: Span[] = [];
    let bytes = 0;
    let first = 0;
    parts.forEach((part, k) => {
      for (const span of part.spans) spans.push({ ...span, from: span.from + first, origin: originOf(span, k) });
      for (let i = 0; i < part.length; i++) {
        actionStarts[first + i] = part.actionStarts[i]! + bytes;
        sourceStarts[first + i] = part.sourceStarts[i]! + bytes;
      }
      for (const [i, id] of part.textIds) textIds.set(first + i, id);
      bytes += part.body.length;
      first += part.length;
    });
    actionStarts[count] = bytes;
    const body = reusedBodies.take(bytes) ?? Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const part of parts) at += part.body.copy(body, at);
    return new BulkRequest(body.subarray(0, bytes), actionStarts, sourceStarts, textIds, spans);
  }

  /** The NDJSON body, every byte of it meant to be sent. Throws once released: nothing may read reused memory. */
  get body(): Buffer {
    if (this.released) throw new Error("a bulk request's body was used after its release");
    return this.bytes;
  }

  /**
   * Gives the body's memory back for the next request to be written into (reusedBodies). Only its sender calls it,
   * once no try of it can be under way and nothing will read it again; any later use of `body` throws.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    reusedBodies.give(this.bytes);
  }

  get length(): number {
    return this.sourceStarts.length;
  }

  /** Every document's id, in order. */
  get ids(): string[] {
    return Array.from({ length: this.length }, (_, i) => this.idOf(i));
  }

  /** Document `i`'s id: given as text, or read back from its action line, which ends `<id>"}}` and a newline. */
  idOf(i: number): string {
    const given = this.textIds.get(i);
    if (given !== undefined) return given;
    const end = this.sourceStarts[i]! - ACTION_END.length;
    let open = end - 1;
    while (this.body[open] !== QUOTE) open--;
    return this.body.toString("latin1", open + 1, end);
  }

  /** The write document `i` came from (0 unless this request is shared). */
  originOf(i: number): number {
    return this.spanOf(i).origin;
  }

  /** Document `i` with its lines, read back from the body. */
  item(i: number): Pending {
    const action = this.body.toString("utf8", this.actionStarts[i], this.sourceStarts[i]);
    const source = this.body.toString("utf8", this.sourceStarts[i], this.actionStarts[i + 1]! - 1);
    const { position } = this.spanOf(i);
    return { id: this.idOf(i), action, source, bytes: this.actionStarts[i + 1]! - this.actionStarts[i]!, ...(position ? { position } : {}) };
  }

  /** Documents `indices` (ascending) as a request of their own, each still from its write; this one when all are kept. */
  pick(indices: readonly number[]): BulkRequest {
    if (indices.length === this.length) return this;
    const actionStarts = new Float64Array(indices.length + 1);
    const sourceStarts = new Float64Array(indices.length);
    const textIds = new Map<number, string>();
    const spans: Span[] = [];
    let bytes = 0;
    for (const i of indices) bytes += this.actionStarts[i + 1]! - this.actionStarts[i]!;
    const body = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      const span = this.spanOf(i);
      const last = spans.at(-1);
      if (!last || last.origin !== span.origin || last.position !== span.position) spans.push({ ...span, from: k });
      actionStarts[k] = at;
      sourceStarts[k] = at + this.sourceStarts[i]! - this.actionStarts[i]!;
      const given = this.textIds.get(i);
      if (given !== undefined) textIds.set(k, given);
      at += this.body.copy(body, at, this.actionStarts[i]!, this.actionStarts[i + 1]!);
    }
    actionStarts[indices.length] = at;
    return new BulkRequest(body, actionStarts, sourceStarts, textIds, spans.length ? spans : [{ from: 0, origin: 0 }]);
  }

  /** The documents in runs, in order, each of lines adding up to at most `maxBytes` (a longer document alone). */
  runsWithin(maxBytes: number): number[][] {
    const runs: number[][] = [];
    let run: number[] = [];
    let bytes = 0;
    for (let i = 0; i < this.length; i++) {
      const size = this.actionStarts[i + 1]! - this.actionStarts[i]!;
      if (run.length && bytes + size > maxBytes) {
        runs.push(run);
        run = [];
        bytes = 0;
      }
      run.push(i);
      bytes += size;
    }
    if (run.length) runs.push(run);
    return runs;
  }

  /** The documents whose ids are not in `drop`, as a request of their own (or this one when none is dropped). */
  without(drop: ReadonlySet<string>): BulkRequest {
    const kept: number[] = [];
    for (let i = 0; i < this.length; i++) if (!drop.has(this.idOf(i))) kept.push(i);
    return this.pick(kept);
  }

  private spanOf(i: number): Span {
    // A request holds one span per write it carries (a handful): a scan from the end is enough.
    for (let s = this.spans.length - 1; s > 0; s--) if (this.spans[s]!.from <= i) return this.spans[s]!;
    return this.spans[0]!;
  }
}

const INITIAL_BYTES = 64 * 1024;
/** A request is sent in its body's memory when it fills at least this much of it; else copied into a fitting one. */
const LEAST_FILL = 0.75;

/**
 * Memory of sent bodies, written into again (#12). A body (about 1.5 MB per 1,000 documents) often outlives two
 * young collections while it is written, waits and is sent, so it is promoted and only a full collection frees it;
 * V8 counts such memory against the old generation's limit, so fresh bodies started most of the collector's full
 * collections. Bodies are given back by their senders only (BulkRequest.release); a few are kept.
 */
class ReusedBodies {
  private readonly free: ArrayBuffer[] = [];

  constructor(private readonly keep: number, private readonly largest: number) {}

  /** The smallest memory kept that holds `bytes` (and at most `most`), or undefined when none does. */
  take(bytes: number, most = Infinity): Buffer | undefined {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const size = this.free[i]!.byteLength;
      if (size >= bytes && size <= most && (best < 0 || size < this.free[best]!.byteLength)) best = i;
    }
    return best < 0 ? undefined : Buffer.from(this.free.splice(best, 1)[0]!);
  }

  /** Keeps `body`'s memory when it is the whole of an ArrayBuffer of its own (not a slice of Node's shared pool). */
  give(body: Buffer): void {
    const memory = body.buffer as ArrayBuffer;
    if (body.byteOffset !== 0 || memory.byteLength < INITIAL_BYTES || memory.byteLength > this.largest) return;
    if (this.free.includes(memory)) return;
    if (this.free.length >= this.keep) this.free.shift();
    this.free.push(memory);
  }

  /** Keeps nothing (tests start from no kept memory). */
  clear(): void {
    this.free.length = 0;
  }
}

export const reusedBodies = new ReusedBodies(8, 16 * 1024 * 1024);

/** The end of an action line after its id: `"}}` and the newline. */
const ACTION_END = Buffer.from('"}}\n');
const QUOTE = 0x22;

/** Character codes an id may be written with as they are (base64url's alphabet: JSON needs no escape for them). */
const PLAIN_ID_BYTE = new Uint8Array(128);
for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") PLAIN_ID_BYTE[char.charCodeAt(0)] = 1;

/**
 * Where each document's lines start in the request being written, in typed arrays: their memory is outside the JS
 * heap, where a number[] per request (grown by copies, alive until the request is sent) was promoted with it and
 * left for full collections to free.
 */
const MIN_STARTS = 64;

class DocumentStarts {
  private actions: Float64Array;
  private sources: Float64Array;
  length = 0;

  /** `capacity`: documents expected (the last request's count), so the arrays rarely grow. */
  constructor(capacity = MIN_STARTS) {
    this.actions = new Float64Array(capacity + 1);
    this.sources = new Float64Array(capacity);
  }

  push(actionStart: number, sourceStart: number): void {
    if (this.length === this.sources.length) {
      const capacity = Math.max(MIN_STARTS, 2 * this.length);
      const actions = new Float64Array(capacity + 1);
      const sources = new Float64Array(capacity);
      actions.set(this.actions);
      sources.set(this.sources);
      this.actions = actions;
      this.sources = sources;
    }
    this.actions[this.length] = actionStart;
    this.sources[this.length++] = sourceStart;
  }

  /** The starts written, and `end` after the last document's lines, as exact views. */
  finish(end: number): { actionStarts: Float64Array; sourceStarts: Float64Array } {
    this.actions[this.length] = end;
    return { actionStarts: this.actions.subarray(0, this.length + 1), sourceStarts: this.sources.subarray(0, this.length) };
  }
}

/** The size of the last full request, so the next one is allocated once at about its size instead of grown. */
export interface RequestSizeHint {
  bytes: number;
}

/** Writes documents into requests of at most maxCount documents and maxBytes bytes (a lone larger one goes alone). */
export class BulkRequestWriter implements ByteOut {
  private readonly done: BulkRequest[] = [];
  // ByteOut, for documents that write their own bytes (IdentifiedDocument.writeSource): the body being written.
  bytes: Buffer = Buffer.allocUnsafe(0);
  at = 0;
  private starts = new DocumentStarts();
  /** The ids given as text among the documents of the request being written, by index. */
  private textIds = new Map<number, string>();
  private total = 0;
  private actionHead: Buffer | undefined;

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
    private readonly position?: SourcePosition,
    private readonly index?: string,
    private readonly hint: RequestSizeHint = { bytes: INITIAL_BYTES },
  ) {}

  /** Documents written so far. */
  get length(): number {
    return this.total;
  }

  /** A `create` of the document under its id in the writer's index; its source written by itself when it can. */
  addDocument(document: IdentifiedDocument): void {
    if (!document.writeSource) return this.add(document.id, document.source);
    const start = this.at;
    if (document.writeId) this.addWrittenAction(document as Required<Pick<IdentifiedDocument, "writeId">>);
    else if (!this.addAction(document.id, 0)) return this.addLines(document.id, createAction(this.index!, document.id), document.source);
    const sourceStart = this.at;
    try {
      document.writeSource(this);
    } catch (error) {
      this.at = start; // no action line without its source in the body
      throw error;
    }
    this.reserve(1);
    this.endSource(undefined, start, sourceStart);
  }

  /** A `create` of `source` under `id` in the writer's index. */
  add(id: string, source: string): void {
    const start = this.at;
    if (!this.addAction(id, 3 * source.length + 1)) return this.addLines(id, createAction(this.index!, id), source);
    this.addSource(undefined, start, source);
  }

  /**
   * The action line of `id` with room for `sourceBytes` after it, when the id needs no escape (false: nothing
   * written). It is createAction's text; for the collector's ids (base64url) its bytes are written directly, a fixed
   * head, the id, a fixed end, with no action string built per document.
   */
  private addAction(id: string, sourceBytes: number): boolean {
    const head = this.actionHeadBytes();
    this.reserve(head.length + id.length + ACTION_END.length + sourceBytes);
    let at = putBytes(this.bytes, this.at, head);
    for (let i = 0; i < id.length; i++) {
      const code = id.charCodeAt(i);
      if (!PLAIN_ID_BYTE[code]) return false;
      this.bytes[at++] = code;
    }
    this.at = putBytes(this.bytes, at, ACTION_END);
    return true;
  }

  /** The action line of a document that writes its own id (IdentifiedDocument.writeId): no id string is made. */
  private addWrittenAction(document: Required<Pick<IdentifiedDocument, "writeId">>): void {
    const head = this.actionHeadBytes();
    this.reserve(head.length + DOCUMENT_ID_LENGTH + ACTION_END.length);
    const bytes = this.bytes;
    this.at = putBytes(bytes, document.writeId(bytes, putBytes(bytes, this.at, head)), ACTION_END);
  }

  /** createAction's text up to the id, as bytes. */
  private actionHeadBytes(): Buffer {
    return (this.actionHead ??= Buffer.from(createAction(this.index!, "").slice(0, -ACTION_END.length)));
  }

  addLines(id: string, action: string, source: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.reserve(3 * (action.length + source.length) + 1);
    const start = this.at;
    this.at += this.bytes.write(action, this.at);
    this.addSource(id, start, source);
  }

  /**
   * Writes the source line after the action line that starts at `start`, and cuts a request when it is full.
   * `textId`: the id, when the action line was given as text (else it is read back from the body).
   */
  private addSource(textId: string | undefined, start: number, source: string): void {
    const sourceStart = this.at;
    this.at += this.bytes.write(source, this.at);
    this.endSource(textId, start, sourceStart);
  }

  /** Ends the source line that starts at `sourceStart` (its action at `start`), and cuts a request when it is full. */
  private endSource(textId: string | undefined, start: number, sourceStart: number): void {
    this.bytes[this.at++] = 0x0a;
    const size = this.at - start;
    // sizedBatches' rule: a document that would overflow the request (by count or bytes) starts the next one.
    const count = this.starts.length;
    if (count && (count >= this.maxCount || start + size > this.maxBytes)) {
      const lines = Buffer.from(this.bytes.subarray(start, this.at));
      this.at = start;
      this.cut(true);
      this.reserve(lines.length);
      lines.copy(this.bytes, 0);
      this.at = lines.length;
      this.push(textId, 0, sourceStart - start);
    } else {
      this.push(textId, start, sourceStart);
    }
    this.total++;
  }

  /** Every request written, in order; the writer is empty afterwards. */
  finish(): BulkRequest[] {
    if (this.starts.length) this.cut(this.starts.length >= this.maxCount);
    return this.done.splice(0);
  }

  private push(textId: string | undefined, actionStart: number, sourceStart: number): void {
    if (textId !== undefined) this.textIds.set(this.starts.length, textId);
    this.starts.push(actionStart, sourceStart);
  }

  /** `full`: no other document fits (by count or bytes), so the next request will be about this size (the hint). */
  private cut(full: boolean): void {
    // Also when a write ends just full, as the delivery's batches of maxBatchDocuments do: else every next body
    // would start small and grow by doubling, each step a copy (about 1 GB copied per 316,800 documents).
    if (full) this.hint.bytes = this.at;
    // A body grown by doubling may be mostly empty: keep no more than a quarter unused while it waits to be sent (in
    // reused memory when some fits; the writer's own memory, which only it held, is kept for reuse).
    let body = this.bytes.subarray(0, this.at);
    if (this.at < this.bytes.length * LEAST_FILL) {
      body = (reusedBodies.take(this.at, this.at / LEAST_FILL) ?? Buffer.allocUnsafe(this.at)).subarray(0, this.at);
      this.bytes.copy(body, 0, 0, this.at);
      reusedBodies.give(this.bytes);
    }
    const { actionStarts, sourceStarts } = this.starts.finish(this.at);
    this.done.push(BulkRequest.build(body, actionStarts, sourceStarts, this.textIds, this.position));
    this.bytes = Buffer.allocUnsafe(0);
    this.at = 0;
    this.starts = new DocumentStarts(Math.max(MIN_STARTS, this.starts.length));
    this.textIds = new Map();
  }

  /** Room for `bytes` more: a new body is sized by the hint (plus an eighth), a full one grows by doubling. */
  reserve(bytes: number): void {
    if (this.at + bytes <= this.bytes.length) return;
    const first = this.bytes.length === 0 ? Math.ceil(this.hint.bytes * 1.125) : 0;
    const size = Math.max(INITIAL_BYTES, first, this.bytes.length * 2, this.at + bytes);
    // A body sized by the hint takes kept memory only as large as cut() sends as it is for a request of the hint's
    // size: a larger one would have the request copied out of it.
    const most = size === first ? this.hint.bytes / LEAST_FILL : Infinity;
    const grown = reusedBodies.take(size, most) ?? Buffer.allocUnsafe(size);
    this.bytes.copy(grown, 0, 0, this.at);
    reusedBodies.give(this.bytes); // outgrown: only this writer held it
    this.bytes = grown;
  }
}
