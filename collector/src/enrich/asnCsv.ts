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

export function parseAsnCsv(bytes: Buffer, family: 4 | 6, names: OrganizationNames): AsnRows {
  const width = family === 4 ? 1 : 4;
  let capacity = 1;
  for (let at = bytes.indexOf(LF); at >= 0; at = bytes.indexOf(LF, at + 1)) capacity++;
  let firsts = new Uint32Array(capacity * width);
  let lasts = new Uint32Array(capacity * width);
  const asns = new Uint32Array(capacity);
  const organizations = new Uint32Array(capacity);
  const badLines: AsnBadLine[] = [];
  let badLineCount = 0;
  let rows = 0;
  let line = 0;
  let at = 0;
  const length = bytes.length;
  const bad = (reason: string, lineStart: number) => {
    badLineCount++;
    if (badLines.length < KEPT_BAD_LINES) {
      const end = bytes.indexOf(LF, lineStart);
      badLines.push({ line, reason: `${reason} (line: ${JSON.stringify(bytes.toString("utf8", lineStart, Math.min(end < 0 ? length : end, lineStart + 100)))})` });
    }
  };

  while (at < length) {
    line++;
    const lineStart = at;
    if (bytes[at] === LF || (bytes[at] === CR && bytes[at + 1] === LF)) {
      at = bytes.indexOf(LF, at) + 1; // a blank line (the file's last, usually)
      continue;
    }
    // first, last: decimal integers of the family's width, written into the arrays in place.
    let end = readInteger(bytes, at, firsts, rows * width, width);
    if (end < 0 || bytes[end] !== COMMA) end = -1;
    else end = readInteger(bytes, end + 1, lasts, rows * width, width);
    const asnEnd = end < 0 || bytes[end] !== COMMA ? -1 : readInteger(bytes, end + 1, asnWord, 0, 1);
    if (asnEnd < 0 || bytes[asnEnd] !== COMMA) {
      bad(`expected first,last,asn,organization with decimal numbers (IPv${family})`, lineStart);
      const next = bytes.indexOf(LF, lineStart);
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
      if (i < 0) {
        bad("a quoted organization is never closed", lineStart);
        break; // it runs to the end of the file: nothing after it can be read as rows
      }
      nameEnd = i;
      next = i + 1;
      if (bytes[next] === CR) next++;
      if (next < length && bytes[next] !== LF) {
        bad("text after a quoted organization", lineStart);
        const lineEnd = bytes.indexOf(LF, next);
        at = lineEnd < 0 ? length : lineEnd + 1;
        continue;
      }
      next++;
    } else {
      const lineEnd = bytes.indexOf(LF, nameStart);
      nameEnd = lineEnd < 0 ? length : lineEnd;
      next = nameEnd + 1;
      if (nameEnd > nameStart && bytes[nameEnd - 1] === CR) nameEnd--;
    }
    if (compareAt(firsts, rows, lasts, rows, width) > 0) {
      bad("first address after last", lineStart);
      at = next;
      continue;
    }
    asns[rows] = asnWord[0]!;
    organizations[rows] = names.indexOf(asnWord[0]!, bytes, nameStart, nameEnd, escaped);
    rows++;
    at = next;
  }

  firsts = firsts.subarray(0, rows * width);
  lasts = lasts.subarray(0, rows * width);
  const sorted = orderRows(firsts, lasts, asns.subarray(0, rows), organizations.subarray(0, rows), width);
  const flat = resolveOverlaps(sorted, width);
  return { width, ...flat, badLines, badLineCount, unsorted: sorted.unsorted };
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
  // Copies, so the arrays sized for the whole file (and any sort buffers) are released.
  return {
    firsts: firsts.slice(0, kept * width), lasts: lasts.slice(0, kept * width),
    asns: asns.slice(0, kept), organizations: organizations.slice(0, kept), overlapsResolved,
  };
}
