// ip-location-db's ASN CSV (`first,last,asn,organization`, the -num files: addresses as decimal integers, RFC 4180
// quoting) straight from the file's bytes into typed arrays: no string per line, no array per row, and a string
// only for each organization not seen before. Pure: bytes in, rows and the bad lines out (asnTable.ts reads files).
// Rows are left sorted and non-overlapping whatever the file's order: a row overlapping the one before it gives up
// the overlap (the row starting first keeps it), so every address has one answer.

/** A line that could not be read: skipped and reported, the rest still loads. */
export interface AsnBadLine {
  line: number;
  reason: string;
}

export interface AsnRows {
  /** Address words per range: 1 for IPv4, 4 (big-endian) for IPv6. */
  width: 1 | 4;
  firsts: Uint32Array;
  lasts: Uint32Array;
  asns: Uint32Array;
  /** Index into the OrganizationNames the rows were parsed with. */
  organizations: Uint32Array;
  /** Lines skipped (the first few kept with their reasons) and how many there were. */
  badLines: AsnBadLine[];
  badLineCount: number;
  /** Rows the file gave out of address order (sorted here) and rows trimmed or dropped because they overlapped. */
  unsorted: boolean;
  overlapsResolved: number;
}

const KEPT_BAD_LINES = 10;

/** Organization names, each kept once across the files parsed with it (500,000 rows carry about 80,000 names). */
export class OrganizationNames {
  readonly names: string[] = [];
  private readonly indexOfName = new Map<string, number>();
  /**
   * The name last given for each AS number: most rows repeat it, and comparing bytes to it allocates nothing. An
   * open-addressing table in typed arrays (AS numbers reach 2^32 - 2, which a Map would box on every lookup).
   */
  private asnKeys = new Uint32Array(1 << 18);
  private asnNames = new Int32Array(1 << 18).fill(-1);
  private asnCount = 0;

  /** The index of the name in bytes[start, end) (`escaped`: a quoted field with "" standing for " inside). */
  indexOf(asn: number, bytes: Buffer, start: number, end: number, escaped: boolean): number {
    let slot = this.slotOf(asn);
    const known = this.asnNames[slot]!;
    if (known >= 0 && !escaped && sameAscii(this.names[known]!, bytes, start, end)) return known;
    let name = bytes.toString("utf8", start, end);
    if (escaped) name = name.replaceAll('""', '"');
    let index = this.indexOfName.get(name);
    if (index === undefined) {
      index = this.names.length;
      this.names.push(name);
      this.indexOfName.set(name, index);
    }
    if (known < 0) {
      if (++this.asnCount * 2 > this.asnKeys.length) {
        this.grow();
        slot = this.slotOf(asn);
      }
      this.asnKeys[slot] = asn;
    }
    this.asnNames[slot] = index;
    return index;
  }

  /** The slot holding `asn`, or the empty slot where it goes (linear probing). */
  private slotOf(asn: number): number {
    const mask = this.asnKeys.length - 1;
    let slot = (Math.imul(asn, 0x9e3779b1) >>> 0) & mask;
    while (this.asnNames[slot]! >= 0 && this.asnKeys[slot] !== asn) slot = (slot + 1) & mask;
    return slot;
  }

  private grow(): void {
    const keys = this.asnKeys;
    const names = this.asnNames;
    this.asnKeys = new Uint32Array(keys.length * 2);
    this.asnNames = new Int32Array(keys.length * 2).fill(-1);
    for (let slot = 0; slot < keys.length; slot++) {
      if (names[slot]! < 0) continue;
      const to = this.slotOf(keys[slot]!);
      this.asnKeys[to] = keys[slot]!;
      this.asnNames[to] = names[slot]!;
    }
  }
}

/** True when `text` is ASCII and equals the bytes (non-ASCII names take the decoding path: they are rare). */
function sameAscii(text: string, bytes: Buffer, start: number, end: number): boolean {
  if (text.length !== end - start) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

/** The whole file at once (tests, small files); asnTable.ts feeds the shipped files in chunks to AsnCsvParser. */
export function parseAsnCsv(bytes: Buffer, family: 4 | 6, names: OrganizationNames): AsnRows {
  let lines = 1;
  for (let at = bytes.indexOf(LF); at >= 0; at = bytes.indexOf(LF, at + 1)) lines++;
  const parser = new AsnCsvParser(family, names, lines);
  parser.parse(bytes, true);
  return parser.finish();
}

/**
 * The parser fed in pieces, so a file is never held whole: `parse` reads the complete lines of the bytes given and
 * returns how many bytes it used; the caller passes the rest again, followed by more of the file (a line, quoted line
 * breaks included, is only read once all of it is there). The rows are exactly those of one whole-file parse.
 */
export class AsnCsvParser {
  private readonly width: 1 | 4;
  private firsts: Uint32Array;
  private lasts: Uint32Array;
  private asns: Uint32Array;
  private organizations: Uint32Array;
  private readonly badLines: AsnBadLine[] = [];
  private badLineCount = 0;
  private rows = 0;
  private line = 0;
  private closed = false;

  /** `rows`: room for that many rows to start with (the file's line count: then the arrays are never copied to grow). */
  constructor(private readonly family: 4 | 6, private readonly names: OrganizationNames, rows = 4096) {
    this.width = family === 4 ? 1 : 4;
    const capacity = Math.max(1, rows);
    this.firsts = new Uint32Array(capacity * this.width);
    this.lasts = new Uint32Array(capacity * this.width);
    this.asns = new Uint32Array(capacity);
    this.organizations = new Uint32Array(capacity);
  }

  /**
   * Reads the lines of `bytes` (which starts at a line start) and returns the index where its unread part starts:
   * the last, incomplete line unless `final` (the end of the file: every byte is read then, the return is its length).
   */
  parse(bytes: Buffer, final: boolean): number {
    if (this.closed) return bytes.length;
    const width = this.width;
    const length = bytes.length;
    let at = 0;
    while (at < length) {
      const lineStart = at;
      if (bytes[at] === LF || (bytes[at] === CR && bytes[at + 1] === LF)) {
        this.line++;
        at = bytes.indexOf(LF, at) + 1; // a blank line (the file's last, usually)
        continue;
      }
      if (!final && bytes[at] === CR && at + 1 === length) return lineStart;
      if (this.rows === this.asns.length) this.grow();
      const rows = this.rows;
      // first, last: decimal integers of the family's width, written into the arrays in place.
      let end = readInteger(bytes, at, this.firsts, rows * width, width);
      if (end < 0 || bytes[end] !== COMMA) end = -1;
      else end = readInteger(bytes, end + 1, this.lasts, rows * width, width);
      const asnEnd = end < 0 || bytes[end] !== COMMA ? -1 : readInteger(bytes, end + 1, asnWord, 0, 1);
      if (asnEnd < 0 || bytes[asnEnd] !== COMMA) {
        // Also where the piece ends inside the numbers: no line end is there yet, so more is asked for.
        const next = bytes.indexOf(LF, lineStart);
        if (next < 0 && !final) return lineStart;
        this.line++;
        this.bad(`expected first,last,asn,organization with decimal numbers (IPv${this.family})`, bytes, lineStart);
        at = next < 0 ? length : next + 1;
        continue;
      }
      // organization: quoted (commas, "" and line breaks allowed inside) or plain up to the line's end.
      let nameStart = asnEnd + 1;
      let nameEnd: number;
      let escaped = false;
      let next: number;
      if (bytes[nameStart] === QUOTE) {
        nameStart++;
        let i = nameStart;
        for (;;) {
          i = bytes.indexOf(QUOTE, i);
          if (i < 0 || bytes[i + 1] !== QUOTE) break;
          escaped = true;
          i += 2;
        }
        // A closing quote as the piece's last byte may be the first of a "" pair, or have a line end after it.
        if (!final && (i < 0 || i + 1 >= length || (bytes[i + 1] === CR && i + 2 >= length))) return lineStart;
        if (i < 0) {
          this.line++;
          this.bad("a quoted organization is never closed", bytes, lineStart);
          this.closed = true; // it runs to the end of the file: nothing after it can be read as rows
          return length;
        }
        nameEnd = i;
        next = i + 1;
        if (bytes[next] === CR) next++;
        if (next < length && bytes[next] !== LF) {
          const lineEnd = bytes.indexOf(LF, next);
          if (lineEnd < 0 && !final) return lineStart;
          this.line++;
          this.bad("text after a quoted organization", bytes, lineStart);
          at = lineEnd < 0 ? length : lineEnd + 1;
          continue;
        }
        this.line++;
        next++;
      } else {
        const lineEnd = bytes.indexOf(LF, nameStart);
        if (lineEnd < 0 && !final) return lineStart;
        this.line++;
        nameEnd = lineEnd < 0 ? length : lineEnd;
        next = nameEnd + 1;
        if (nameEnd > nameStart && bytes[nameEnd - 1] === CR) nameEnd--;
      }
      if (compareAt(this.firsts, rows, this.lasts, rows, width) > 0) {
        this.bad("first address after last", bytes, lineStart);
        at = next;
        continue;
      }
      this.asns[rows] = asnWord[0]!;
      this.organizations[rows] = this.names.indexOf(asnWord[0]!, bytes, nameStart, nameEnd, escaped);
      this.rows++;
      at = next;
    }
    return length;
  }

  /** The rows read, sorted and without overlaps, in arrays of their own size. */
  finish(): AsnRows {
    const { width, rows } = this;
    const sorted = orderRows(this.firsts.subarray(0, rows * width), this.lasts.subarray(0, rows * width), this.asns.subarray(0, rows), this.organizations.subarray(0, rows), width);
    const flat = resolveOverlaps(sorted, width);
    return { width, ...flat, badLines: this.badLines, badLineCount: this.badLineCount, unsorted: sorted.unsorted };
  }

  private bad(reason: string, bytes: Buffer, lineStart: number): void {
    this.badLineCount++;
    if (this.badLines.length < KEPT_BAD_LINES) {
      const end = bytes.indexOf(LF, lineStart);
      const shown = bytes.toString("utf8", lineStart, Math.min(end < 0 ? bytes.length : end, lineStart + 100));
      this.badLines.push({ line: this.line, reason: `${reason} (line: ${JSON.stringify(shown)})` });
    }
  }

  /** Doubles the arrays: a few copies while loading, the final rows trimmed by finish (resolveOverlaps). */
  private grow(): void {
    const grown = (array: Uint32Array) => {
      const bigger = new Uint32Array(array.length * 2);
      bigger.set(array);
      return bigger;
    };
    this.firsts = grown(this.firsts);
    this.lasts = grown(this.lasts);
    this.asns = grown(this.asns);
    this.organizations = grown(this.organizations);
  }
}

const asnWord = new Uint32Array(1);
const TWO_32 = 4_294_967_296;

/**
 * A decimal integer of `width` 32-bit words at bytes[at..] into target[offset..] (big-endian words): the index after
 * its last digit, or -1 when there is no digit or it does not fit.
 */
function readInteger(bytes: Buffer, at: number, target: Uint32Array, offset: number, width: number): number {
  if (width === 1) {
    let value = 0;
    let i = at;
    for (; i < bytes.length && i - at <= 10; i++) {
      const digit = bytes[i]! - 48;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (i === at || value >= TWO_32) return -1;
    target[offset] = value;
    return i;
  }
  for (let word = 0; word < width; word++) target[offset + word] = 0;
  let i = at;
  // Four digits at a time: a word times 10^4 plus the chunk stays below 2^46, exact in a double.
  while (i < bytes.length) {
    let chunk = 0;
    let scale = 1;
    for (; scale < 10_000 && i < bytes.length; i++, scale *= 10) {
      const digit = bytes[i]! - 48;
      if (digit < 0 || digit > 9) break;
      chunk = chunk * 10 + digit;
    }
    if (scale === 1) break;
    let carry = chunk;
    for (let word = offset + width - 1; word >= offset; word--) {
      const value = target[word]! * scale + carry;
      target[word] = value % TWO_32;
      carry = Math.floor(value / TWO_32);
    }
    if (carry !== 0 || i - at > 40) return -1;
    if (scale < 10_000) break;
  }
  return i === at ? -1 : i;
}

/** Sign of (a[i] - b[j]), `width` words each. */
function compareAt(a: Uint32Array, i: number, b: Uint32Array, j: number, width: number): number {
  for (let word = 0; word < width; word++) {
    const difference = a[i * width + word]! - b[j * width + word]!;
    if (difference !== 0) return difference;
  }
  return 0;
}

interface Rows {
  firsts: Uint32Array;
  lasts: Uint32Array;
  asns: Uint32Array;
  organizations: Uint32Array;
}

/** The rows in order of their first address (the shipped files already are: then this is one pass, no copy). */
function orderRows(firsts: Uint32Array, lasts: Uint32Array, asns: Uint32Array, organizations: Uint32Array, width: number): Rows & { unsorted: boolean } {
  const count = asns.length;
  let inOrder = true;
  for (let row = 1; row < count && inOrder; row++) inOrder = compareAt(firsts, row - 1, firsts, row, width) <= 0;
  if (inOrder) return { firsts, lasts, asns, organizations, unsorted: false };
  const order = new Uint32Array(count);
  for (let row = 0; row < count; row++) order[row] = row;
  order.sort((a, b) => compareAt(firsts, a, firsts, b, width) || a - b); // stable: equal starts keep file order
  const sorted = { firsts: new Uint32Array(firsts.length), lasts: new Uint32Array(lasts.length), asns: new Uint32Array(count), organizations: new Uint32Array(count) };
  for (let row = 0; row < count; row++) {
    const from = order[row]!;
    sorted.firsts.set(firsts.subarray(from * width, from * width + width), row * width);
    sorted.lasts.set(lasts.subarray(from * width, from * width + width), row * width);
    sorted.asns[row] = asns[from]!;
    sorted.organizations[row] = organizations[from]!;
  }
  return { ...sorted, unsorted: true };
}

/** Sorted rows made non-overlapping: each row starts after the last kept row ends, or is dropped. Compacts in place. */
function resolveOverlaps(rows: Rows, width: number): Rows & { overlapsResolved: number } {
  const { firsts, lasts, asns, organizations } = rows;
  let kept = 0;
  let overlapsResolved = 0;
  for (let row = 0; row < asns.length; row++) {
    if (kept > 0 && compareAt(firsts, row, lasts, kept - 1, width) <= 0) {
      overlapsResolved++;
      // Start one past the kept row's end, if that is still within this row (and not past the address space).
      if (compareAt(lasts, row, lasts, kept - 1, width) <= 0) continue;
      firsts.set(lasts.subarray((kept - 1) * width, kept * width), row * width);
      for (let word = row * width + width - 1; word >= row * width; word--) {
        firsts[word] = (firsts[word]! + 1) % TWO_32;
        if (firsts[word] !== 0) break;
      }
    }
    if (row !== kept) {
      firsts.copyWithin(kept * width, row * width, row * width + width);
      lasts.copyWithin(kept * width, row * width, row * width + width);
      asns[kept] = asns[row]!;
      organizations[kept] = organizations[row]!;
    }
    kept++;
  }
  // Arrays nearly full are kept as they are (a copy would briefly hold them twice); others are copied to their size, so
  // the room left over (and any sort buffers) is released.
  const fitted = (array: Uint32Array, length: number) => (array.length - length <= array.length >> 6 ? array.subarray(0, length) : array.slice(0, length));
  return {
    firsts: fitted(firsts, kept * width), lasts: fitted(lasts, kept * width),
    asns: fitted(asns, kept), organizations: fitted(organizations, kept), overlapsResolved,
  };
}
