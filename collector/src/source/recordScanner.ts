// Finds record boundaries in the bytes of a PT1H.json, fed in arbitrary pieces (windows cut anywhere, blocks cut
// anywhere). Tracks only string/escape state and bracket depth, so a record is handed on exactly as its bytes are
// in the blob. A record up to `recordBytes` is kept whole; a longer one is only measured, its bytes shown to an
// observer as they pass (pass 1 of the streamed path, which then needs no download of its own), and read again
// only by pass 2: memory stays bounded whatever the data.

const HEAD = Buffer.from('{"records":[');
const BOM = [0xef, 0xbb, 0xbf];
const EXCERPT_BYTES = 2_000;
/**
 * Brackets a record may hold open at once. Azure's records nest 7 levels; a record of nothing but `[` would otherwise
 * keep one entry per byte here, and one frame per byte in the streamed path's first pass (recordStream.ts): out of
 * the heap on a few MB. Deeper is set aside as broken, as a mismatched bracket is.
 */
export const MAX_RECORD_DEPTH = 64;

/**
 * Items one scan step hands over at most (and the reader's chunk holds before it is delivered): each is an object
 * and a view on the JS heap, and a window of 3-byte records (`{},{},…`: 1.4 million in 4 MiB) ran the image's 128 MB
 * heap out in one step, at every restart, before its tries could set anything aside.
 */
export const ITEMS_PER_STEP = 4_096;

/** Sees the bytes of one record too long to keep, in order, exactly once, as the scan passes them. */
export interface LongRecordObserver {
  push(bytes: Buffer): void;
}

export type ScanItem<Observer extends LongRecordObserver = LongRecordObserver> =
  /** A record of at most recordBytes: its exact bytes. */
  | { kind: "record"; start: number; end: number; bytes: Buffer }
  /**
   * A longer record: its range, its first EXCERPT_BYTES bytes (for a dead letter's excerpt), and the observer that
   * saw its bytes (when the scanner was given a factory).
   */
  | { kind: "large"; start: number; end: number; head: Buffer; observer?: Observer }
  /** Bytes that are not a record (junk between records, a bad head). `start` includes any separator before it. */
  | { kind: "malformed"; start: number; end: number; reason: string; raw: string };

/** A record that cannot be JSON: still open where the data ends, or with a mismatched bracket. */
export interface Unfinished {
  /** Where the item began (after the previous item), and where its `{` is. */
  start: number;
  recordStart: number;
  /** Where the record is known to be broken (just after a mismatched bracket); absent: at the end of the data. */
  end?: number;
  raw: string;
  /** Why it is broken, when known before the data ends. */
  reason?: string;
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

export class RecordScanner<Observer extends LongRecordObserver = LongRecordObserver> {
  private phase: "head" | "data" | "tail" | "end";
  private headMatched = 0;
  /** Brackets open in the current record, innermost last. */
  private open: number[] = [];
  /** Set when the open record cannot be JSON (mismatched bracket): the caller resynchronises. */
  broken: Unfinished | undefined;
  private inString = false;
  private escape = false;
  private recordStart = -1;
  /** Where the current item began: the end of the previous one (separators belong to the next item). */
  private itemStart: number;
  private junkStart = -1;
  private junkReason = "";
  private parts: Buffer[] = [];
  /** The first bytes of an open record too long to keep (for the excerpt if it never closes). */
  private recordHead: Buffer | undefined;
  /** Sees the open record's bytes once it is too long to keep. */
  private observer: Observer | undefined;
  private partBytes = 0;
  /**
   * Separators and junk before the current item, for its excerpt: copied byte by byte, since a view would keep the
   * whole downloaded window alive after its records were handed over.
   */
  private readonly excerpt = Buffer.allocUnsafe(EXCERPT_BYTES);
  private excerptBytes = 0;
  /** Absolute offset of the next byte. */
  position: number;
  /**
   * A `{` after a stray `]` or `]}` whose piece ended within what could be a second `{"records":[` head: too few bytes
   * to tell it from a record, so it is scanned again in front of the next piece.
   */
  private undecided: Buffer | undefined;

  constructor(
    start: number, inHead: boolean, private readonly recordBytes: number, private readonly observe?: () => Observer,
  ) {
    this.position = start;
    this.itemStart = start;
    this.phase = inHead ? "head" : "data";
  }

  /** Feed the next bytes; returns the items completed in them. */
  push(chunk: Buffer): ScanItem<Observer>[] {
    return [...this.steps(chunk)].flat();
  }

  /**
   * The items completed in the next bytes, one scan step at a time: a step ends right after a record too long to
   * keep, and the next one runs only when asked for, so a caller that finishes with that record's observer first
   * (the reader delivers it) never has two observers holding bytes.
   */
  *steps(chunk: Buffer): Generator<ScanItem<Observer>[]> {
    if (this.undecided) {
      chunk = Buffer.concat([this.undecided, chunk]);
      this.undecided = undefined;
    }
    for (let rest = chunk; rest.length > 0 && !this.broken && !this.undecided;) {
      const from = this.position;
      yield this.pushUpToLong(rest);
      rest = rest.subarray(this.position - from);
    }
  }

  /** One scan step: like push, but stops right after a record too long to keep (`position` says how far it read). */
  private pushUpToLong(chunk: Buffer): ScanItem<Observer>[] {
    const items: ScanItem<Observer>[] = [];
    const base = this.position;
    let keptFrom = -1; // index in chunk where the open record's kept bytes start
    let nextBackslash = -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      const at = base + i;
      if (this.recordStart >= 0) {
        if (this.inString) {
          if (this.escape) {
            this.escape = false;
            continue;
          }
          // Most bytes are inside tuple strings: jump to the next quote or backslash.
          if (nextBackslash < i) nextBackslash = indexOrEnd(chunk, 0x5c, i);
          const stop = Math.min(indexOrEnd(chunk, 0x22, i), nextBackslash);
          if (stop >= chunk.length) break;
          i = stop;
          if (chunk[i] === 0x5c) this.escape = true;
          else this.inString = false;
          continue;
        }
        if (byte === 0x22) this.inString = true;
        else if (byte === 0x7b || byte === 0x5b) {
          if (this.open.length >= MAX_RECORD_DEPTH) {
            // Not a flow-log record, and the brackets it keeps open would cost memory per byte. No `end`: the record
            // goes on past this bracket, so it is set aside up to the next plausible record start.
            this.breakAt(chunk, keptFrom, i, base, `it nests deeper than ${MAX_RECORD_DEPTH} levels at offset ${at}`);
            return items;
          }
          this.open.push(byte);
        } else if (byte === 0x7d || byte === 0x5d) {
          if (this.open.pop() !== byte - 2) {
            // `}` closes `{` and `]` closes `[` (0x7b/0x7d, 0x5b/0x5d): anything else cannot be JSON.
            this.breakAt(chunk, keptFrom, i, base, `${String.fromCharCode(byte)} at offset ${at} does not match its opening bracket`, at + 1);
            return items;
          }
          if (this.open.length === 0) {
            const item = this.closeRecord(chunk, keptFrom < 0 ? 0 : keptFrom, i + 1, at + 1);
            items.push(item);
            keptFrom = -1;
            if (item.kind === "large" || items.length >= ITEMS_PER_STEP) {
              this.position = base + i + 1;
              return items;
            }
          }
        }
        continue;
      }
      if (byte === 0x7b && (this.phase === "tail" || this.phase === "end")) {
        if (chunk.length - i < HEAD.length && startsHead(chunk, i)) {
          this.undecided = Buffer.from(chunk.subarray(i)); // an own copy: at most 11 bytes, not the window
          this.position = base + i;
          return items;
        }
        // A `{` after the closing `]` or `]}`: that was not the end. A second head (two documents end to end) is junk
        // up to its first record; any other `{` starts a record, read whole, and the stray bytes before it are set aside.
        this.openJunk(at, "bytes between records are not a record");
        if (startsHead(chunk, i)) {
          for (let k = i; k < Math.min(chunk.length, i + HEAD.length); k++) this.keepExcerpt(chunk, k);
          i += HEAD.length - 1;
          continue;
        }
      }
      if (this.phase === "data" && byte === 0x7b) {
        this.closeJunk(at, items);
        this.recordStart = at;
        this.open = [byte];
        keptFrom = i;
        continue;
      }
      this.keepExcerpt(chunk, i); // separators and junk, for the excerpt of what follows
      if (this.phase === "head") {
        this.headByte(byte, at);
        continue;
      }
      if (isSpace(byte)) continue;
      if (this.junkStart >= 0) continue;
      if (this.phase === "data" && byte === 0x2c) continue;
      if (this.phase === "data" && byte === 0x5d) this.phase = "tail";
      else if (this.phase === "tail" && byte === 0x7d) this.phase = "end";
      else this.openJunk(at, this.phase === "data" ? "bytes between records are not a record" : "bytes after the closing ]} of the records array");
    }
    if (this.recordStart >= 0) this.keep(keptFrom >= 0 ? chunk.subarray(keptFrom) : chunk);
    this.position = base + chunk.length;
    return items;
  }

  /** The data ended: closes open junk; reports an open record (the caller resynchronises). */
  finish(): { items: ScanItem<Observer>[]; unfinished?: Unfinished } {
    const items: ScanItem<Observer>[] = [];
    if (this.undecided) {
      // The data ends inside what began like a head: bytes after the records, not a record.
      this.openJunk(this.position, "bytes between records are not a record");
      for (let k = 0; k < this.undecided.length; k++) this.keepExcerpt(this.undecided, k);
      this.position += this.undecided.length;
      this.undecided = undefined;
    }
    if (this.recordStart >= 0) {
      return { items, unfinished: { start: this.itemStart, recordStart: this.recordStart, raw: this.excerptText() } };
    }
    this.closeJunk(this.position, items);
    return { items };
  }

  private headByte(byte: number, at: number): void {
    if (this.headMatched === 0 && at < BOM.length && byte === BOM[at]) return; // a UTF-8 byte-order mark, as `parse` accepts
    const expected = HEAD[this.headMatched];
    const inKey = this.headMatched >= 2 && this.headMatched <= 9; // inside "records": no whitespace allowed
    if (byte === expected) {
      if (++this.headMatched === HEAD.length) {
        this.phase = "data";
        this.itemStart = at + 1;
        this.excerptBytes = 0;
      }
      return;
    }
    if (!inKey && isSpace(byte)) return;
    this.phase = "data";
    this.openJunk(this.itemStart, `the blob does not start with ${HEAD.toString()}`);
  }

  private closeRecord(chunk: Buffer, from: number, to: number, end: number): ScanItem<Observer> {
    const start = this.recordStart;
    const tail = chunk.subarray(from, to);
    let item: ScanItem<Observer>;
    if (end - start > this.recordBytes) {
      this.keep(tail); // the observer's last bytes (or all of them, for a record within one download)
      item = { kind: "large", start, end, head: this.recordHead!, observer: this.observer };
    } else {
      // A record within one download is a view of it (no copy): its chunk is delivered before the next download.
      const bytes = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail]);
      item = { kind: "record", start, end, bytes };
    }
    this.recordStart = -1;
    this.parts = [];
    this.partBytes = 0;
    this.recordHead = undefined;
    this.observer = undefined;
    this.inString = false;
    this.escape = false;
    this.itemStart = end;
    this.excerptBytes = 0;
    return item;
  }

  /**
   * The open record cannot be JSON, at chunk[i]: `broken` says so (with `end` when the record is known to end there)
   * and the scan stops right after that byte, for the caller to resynchronise.
   */
  private breakAt(chunk: Buffer, keptFrom: number, i: number, base: number, reason: string, end?: number): void {
    if (!this.isLarge()) this.keep(chunk.subarray(keptFrom < 0 ? 0 : keptFrom, i + 1)); // for the excerpt
    this.broken = { start: this.itemStart, recordStart: this.recordStart, ...(end !== undefined ? { end } : {}), raw: this.excerptText(), reason };
    this.position = base + i + 1;
  }

  private isLarge(): boolean {
    return this.partBytes < 0;
  }

  /** The open record's next bytes: kept while it fits the bound, then shown to its observer instead. */
  private keep(bytes: Buffer): void {
    if (this.isLarge()) {
      // The head grows to its full length even when the record outgrew the bound in small pieces.
      const missing = EXCERPT_BYTES - this.recordHead!.length;
      if (missing > 0) this.recordHead = Buffer.concat([this.recordHead!, bytes.subarray(0, missing)]);
      this.observer?.push(bytes);
      return;
    }
    if (this.partBytes + bytes.length > this.recordBytes) {
      this.recordHead = Buffer.from(Buffer.concat([...this.parts, bytes.subarray(0, EXCERPT_BYTES)]).subarray(0, EXCERPT_BYTES));
      this.observer = this.observe?.();
      for (const part of this.parts) this.observer?.push(part);
      this.parts = [];
      this.partBytes = -1; // too long to keep: measured only
      this.observer?.push(bytes);
      return;
    }
    this.parts.push(Buffer.from(bytes));
    this.partBytes += bytes.length;
  }

  private keepExcerpt(chunk: Buffer, i: number): void {
    if (this.excerptBytes >= EXCERPT_BYTES) return;
    this.excerpt[this.excerptBytes++] = chunk[i];
  }

  private excerptText(): string {
    let text = this.excerpt.toString("utf8", 0, this.excerptBytes);
    if (this.recordStart >= 0) {
      const head = this.parts.length > 0 ? Buffer.concat(this.parts) : this.recordHead;
      if (head) text += head.toString("utf8", 0, EXCERPT_BYTES);
    }
    return text.length > EXCERPT_BYTES ? `${text.slice(0, EXCERPT_BYTES)}…` : text;
  }

  private openJunk(at: number, reason: string): void {
    this.junkStart = Math.min(at, this.itemStart);
    this.junkReason = reason;
    this.phase = "data";
  }

  private closeJunk(at: number, items: ScanItem[]): void {
    if (this.junkStart < 0) return;
    items.push({ kind: "malformed", start: this.junkStart, end: at, reason: this.junkReason, raw: this.excerptText() });
    this.junkStart = -1;
    this.itemStart = at;
    this.excerptBytes = 0;
  }
}

/**
 * Whether `chunk` at `i` holds the head, or as much of it as the chunk has left. Cut there, it is taken for the head:
 * a record right after a stray `]` whose first bytes end a download is then set aside, as it was before this check.
 */
function startsHead(chunk: Buffer, i: number): boolean {
  const end = Math.min(chunk.length, i + HEAD.length);
  return chunk.compare(HEAD, 0, end - i, i, end) === 0;
}

function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
}
