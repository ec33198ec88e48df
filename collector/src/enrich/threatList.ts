// A user's threat list: a text file of IPv4/IPv6 addresses and CIDRs, one per line. `#` and `;` start a comment
// (Spamhaus DROP's `1.2.3.0/24 ; SBL123` included: the comment becomes the entry's description); blank lines are
// skipped. Pure: text in, a lookup and the bad lines out (the service reads the file and reloads it).
import type { ThreatIndicator, ThreatLookup } from "../model";
import { ipBytes, ipv4Value } from "../ipAddress";
import { quote } from "../safeText";
import { addressWords } from "./addressWords";
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
    const family = addressWords(ip, this.words);
    return family === 4 ? this.v4.find(this.words[3]!) : family === 6 ? this.v6.find(this.words) : undefined;
  }
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
