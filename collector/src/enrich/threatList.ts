// A user's threat list: a text file of IPv4/IPv6 addresses and CIDRs, one per line. `#` and `;` start a comment
// (Spamhaus DROP's `1.2.3.0/24 ; SBL123` included: the comment becomes the entry's description); blank lines are
// skipped. Pure: text in, a lookup and the bad lines out (the service reads the file and reloads it).
import type { ThreatIndicator, ThreatLookup } from "../model";
import { ipBytes, ipv4Value } from "../ecs/communityId";
import { quote } from "../safeText";
import { Ipv4RangeTable, Ipv6RangeTable, type AddressBlock } from "./ipRangeTable";

/** A line that is not an address, a CIDR, a comment or blank: reported with its number, the rest still loads. */
export interface BadLine {
  line: number;
  reason: string;
}

export interface ParsedThreatList {
  list: ThreatList;
  badLines: BadLine[];
}

/** Longest description kept from a line's comment (a keyword in the index; the rest of the comment is dropped). */
const DESCRIPTION_CHARS = 256;

export class ThreatList implements ThreatLookup {
  private readonly words = new Uint32Array(4);

  constructor(
    private readonly v4: Ipv4RangeTable<ThreatIndicator>,
    private readonly v6: Ipv6RangeTable<ThreatIndicator>,
    /** Entries loaded (duplicates included). */
    readonly entries: number,
  ) {}

  // No per-address cache: on distinct addresses its upkeep cost more than the search it would save (collector/README.md).
  match(ip: string): ThreatIndicator | undefined {
    const v4 = ipv4Value(ip);
    if (v4 !== undefined) return this.v4.find(v4);
    const { words } = this;
    if (!ipv6Words(ip, words)) {
      const bytes = ipBytes(ip); // an embedded dotted IPv4 tail or a zone index: the slow general parser
      if (!bytes || bytes.length !== 16) return undefined;
      for (let word = 0; word < 4; word++) words[word] = bytes.readUInt32BE(word * 4);
    }
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return this.v4.find(words[3]!); // ::ffff:a.b.c.d
    return this.v6.find(words);
  }
}

const groups = new Uint16Array(8);

/**
 * Plain hex IPv6 text (with or without "::") into four 32-bit words, without allocating. False for anything else
 * (a dotted IPv4 tail, a zone index), which the caller parses the slow way.
 */
function ipv6Words(ip: string, words: Uint32Array): boolean {
  let count = 0;
  let gap = -1;
  let i = 0;
  const length = ip.length;
  if (length >= 2 && ip.charCodeAt(0) === 58 && ip.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < length) {
    let value = 0;
    let digits = 0;
    for (; i < length && digits <= 4; i++) {
      const c = ip.charCodeAt(i);
      const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (digit < 0) break;
      value = value * 16 + digit;
      digits++;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = value;
    if (i === length) break;
    if (ip.charCodeAt(i) !== 58) return false;
    i++;
    if (i < length && ip.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === length) return false; // a trailing single ":"
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const shift = gap < 0 ? 0 : 8 - count;
  for (let word = 0; word < 4; word++) {
    const high = groupAt(2 * word, gap, shift, count);
    const low = groupAt(2 * word + 1, gap, shift, count);
    words[word] = ((high << 16) | low) >>> 0;
  }
  return true;
}

/** Group `position` of the full eight, given `count` parsed groups with a "::" gap of `shift` zero groups at `gap`. */
function groupAt(position: number, gap: number, shift: number, count: number): number {
  if (gap < 0 || position < gap) return groups[position]!;
  if (position < gap + shift) return 0;
  const index = position - shift;
  return index < count ? groups[index]! : 0;
}

/** Parses a list's text; `provider` (the file's name) goes into every indicator. Never throws on bad lines. */
export function parseThreatList(text: string, provider: string): ParsedThreatList {
  const v4: AddressBlock<ThreatIndicator>[] = [];
  const v6: AddressBlock<ThreatIndicator>[] = [];
  const badLines: BadLine[] = [];
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const commentAt = line.search(/[#;]/);
    const entry = (commentAt < 0 ? line : line.slice(0, commentAt)).trim();
    if (entry === "") continue;
    const comment = commentAt < 0 ? "" : line.slice(commentAt + 1).trim().slice(0, DESCRIPTION_CHARS);
    const block = parseEntry(entry);
    if (typeof block === "string") {
      badLines.push({ line: i + 1, reason: `${block} (line: ${quote(line.trimEnd(), 100)})` });
      continue;
    }
    const indicator: ThreatIndicator = comment
      ? { name: entry, type: block.family === 4 ? "ipv4-addr" : "ipv6-addr", description: comment, provider }
      : { name: entry, type: block.family === 4 ? "ipv4-addr" : "ipv6-addr", provider };
    (block.family === 4 ? v4 : v6).push({ first: block.first, last: block.last, value: indicator });
  }
  return { list: new ThreatList(new Ipv4RangeTable(v4), new Ipv6RangeTable(v6), v4.length + v6.length), badLines };
}

interface Block {
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

/** An address or CIDR as a block of addresses, or the reason it is not one. */
function parseEntry(entry: string): Block | string {
  if (/\s/.test(entry)) return "more than one value on the line: write one address or CIDR per line, comments after # or ;";
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const prefixText = slash < 0 ? undefined : entry.slice(slash + 1);
  let family: 4 | 6;
  let value: bigint;
  const v4 = ipv4Value(address);
  if (v4 !== undefined) {
    family = 4;
    value = BigInt(v4);
  } else {
    const bytes = address.includes(":") && !address.includes("%") ? ipBytes(address) : undefined;
    if (!bytes || bytes.length !== 16) return `${quote(entry)} is not an IPv4 or IPv6 address or CIDR`;
    family = 6;
    value = bytes.readBigUInt64BE(0) << 64n | bytes.readBigUInt64BE(8);
  }
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      return `prefix length /${prefixText.slice(0, 20)} is not a whole number from 0 to ${bits} (IPv${family})`;
    }
    prefix = Number(prefixText);
  }
  const hostBits = BigInt(bits - prefix);
  const first = (value >> hostBits) << hostBits;
  if (first !== value) return `host bits are set after /${prefix}: write the network's first address (${formatNetwork(family, first)}/${prefix})`;
  const last = first | ((1n << hostBits) - 1n);
  // ::ffff:a.b.c.d/96+ is IPv4 space: it matches (and is matched by) the plain IPv4 addresses.
  if (family === 6 && prefix >= 96 && first >> 32n === 0xffffn) return { family: 4, first: first & 0xffffffffn, last: last & 0xffffffffn };
  return { family, first, last };
}

function formatNetwork(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(":");
}
