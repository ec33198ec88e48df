// The shipped ASN data (npm @ip-location-db/asn, CC BY 4.0: RouteViews, the five RIRs via NRO, DB-IP; see
// collector/README.md) as range tables: loaded once at start-up (the file reads are the only I/O here), then
// answering `as.number` / `as.organization.name` by binary search over typed arrays.
import { closeSync, openSync, readSync } from "node:fs";
import { dirname, join } from "node:path";
import type { EndpointAs } from "../model";
import { addressWords } from "./addressWords";
import { AsnCsvParser, OrganizationNames, type AsnBadLine, type AsnRows } from "./asnCsv";
import { Ipv4Ranges, Ipv6Ranges } from "./ipRangeTable";

/**
 * The two files loaded: the -num ones (decimal addresses, read without parsing address text). The package's other
 * two files (the same ranges as address text) are not read, and the image leaves them out (collector/Dockerfile).
 */
const SHIPPED_ASN_DIRECTORY = dirname(require.resolve("@ip-location-db/asn/package.json"));
export const SHIPPED_ASN_FILES = { ipv4: join(SHIPPED_ASN_DIRECTORY, "asn-ipv4-num.csv"), ipv6: join(SHIPPED_ASN_DIRECTORY, "asn-ipv6-num.csv") };

/** Where AS answers come from: the shipped table or a user's ASN .mmdb (geoIp.ts). */
export interface AsnLookup {
  /** A fresh object per call (the enrichment's cache keeps and freezes it). */
  lookup(ip: string): EndpointAs | undefined;
}

export class AsnTable implements AsnLookup {
  private readonly words = new Uint32Array(4);
  private readonly v4: Ipv4Ranges;
  private readonly v6: Ipv6Ranges;

  private readonly names: PackedNames;

  /** `names`: the organization names the rows index, as parsed or already packed (asnPacked.ts). */
  constructor(private readonly v4Rows: AsnRows, private readonly v6Rows: AsnRows, names: readonly string[] | PackedNames) {
    this.names = names instanceof PackedNames ? names : PackedNames.of(names);
    this.v4 = new Ipv4Ranges(v4Rows.firsts, v4Rows.lasts);
    this.v6 = new Ipv6Ranges(v6Rows.firsts, v6Rows.lasts);
  }

  /** What the table is made of, for packing it (asnPacked.ts). */
  get parts(): { v4: AsnRows; v6: AsnRows; names: PackedNames } {
    return { v4: this.v4Rows, v6: this.v6Rows, names: this.names };
  }

  /** Ranges held per family and distinct organization names (start-up log line and tests). */
  get sizes(): { ipv4: number; ipv6: number; organizations: number } {
    return { ipv4: this.v4.size, ipv6: this.v6.size, organizations: this.names.length };
  }

  lookup(ip: string): EndpointAs | undefined {
    const family = addressWords(ip, this.words);
    let rows: AsnRows;
    let index: number;
    if (family === 4) {
      rows = this.v4Rows;
      index = this.v4.indexOf(this.words[3]!);
    } else if (family === 6) {
      rows = this.v6Rows;
      index = this.v6.indexOf(this.words);
    } else return undefined;
    if (index < 0) return undefined;
    return { number: rows.asns[index]!, organization: { name: this.names.at(rows.organizations[index]!) } };
  }
}

/**
 * The organization names as one UTF-8 buffer and their offsets: 2.4 MB outside the heap for the shipped 81,000 names
 * instead of about 4.8 MB of strings on it (start-up and peak memory, #12). A name is decoded per lookup; the
 * enrichment's cache keeps the answers for repeated addresses.
 */
export class PackedNames {
  /** Name i is bytes[offsets[i], offsets[i + 1]). */
  constructor(readonly bytes: Buffer, readonly offsets: Uint32Array) {}

  static of(names: readonly string[]): PackedNames {
    const offsets = new Uint32Array(names.length + 1);
    let length = 0;
    for (let i = 0; i < names.length; i++) offsets[i + 1] = length += Buffer.byteLength(names[i]!);
    const bytes = Buffer.allocUnsafeSlow(length); // its own memory, not a slice of Node's shared pool
    for (let i = 0; i < names.length; i++) bytes.write(names[i]!, offsets[i]!, "utf8");
    return new PackedNames(bytes, offsets);
  }

  get length(): number {
    return this.offsets.length - 1;
  }

  at(index: number): string {
    return this.bytes.toString("utf8", this.offsets[index]!, this.offsets[index + 1]!);
  }
}

export interface LoadedAsnTable {
  table: AsnTable;
  /** Lines of the files that were skipped, for the start-up log (none in the shipped files). */
  badLines: (AsnBadLine & { file: string })[];
  badLineCount: number;
  overlapsResolved: number;
}

/** Reads and parses the two CSV files; throws the read error (the caller names the setting). */
export function loadAsnTable(files: { ipv4: string; ipv6: string } = SHIPPED_ASN_FILES): LoadedAsnTable {
  const names = new OrganizationNames();
  const v4 = readAsnCsv(files.ipv4, 4, names);
  const v6 = readAsnCsv(files.ipv6, 6, names);
  return {
    table: new AsnTable(v4, v6, names.names),
    badLines: [...v4.badLines.map((bad) => ({ ...bad, file: files.ipv4 })), ...v6.badLines.map((bad) => ({ ...bad, file: files.ipv6 }))],
    badLineCount: v4.badLineCount + v6.badLineCount,
    overlapsResolved: v4.overlapsResolved + v6.overlapsResolved,
  };
}

/** Bytes read at a time: the file is never held whole, so start-up memory does not peak with the file's size. */
export const ASN_READ_BYTES = 1 << 20;
const LF = 10;

/**
 * One file through the parser in pieces of `readBytes` in one reused buffer, the unread end of each piece (a line
 * cut off) moved to the front for the next. A line longer than the buffer doubles it (not in the shipped files).
 */
export function readAsnCsv(file: string, family: 4 | 6, names: OrganizationNames, readBytes = ASN_READ_BYTES): AsnRows {
  const fd = openSync(file, "r");
  try {
    let buffer = Buffer.allocUnsafe(readBytes);
    // A first pass counting lines (cheap next to parsing) sizes the parser's arrays: no copies to grow them.
    let lines = 1;
    for (let read: number; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) {
      for (let at = buffer.indexOf(LF); at >= 0 && at < read; at = buffer.indexOf(LF, at + 1)) lines++;
    }
    const parser = new AsnCsvParser(family, names, lines);
    let position = 0;
    let held = 0;
    for (;;) {
      if (held === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const read = readSync(fd, buffer, held, buffer.length - held, position);
      position += read;
      const final = read === 0;
      const length = held + read;
      const used = parser.parse(buffer.subarray(0, length), final);
      if (final) break;
      buffer.copyWithin(0, used, length);
      held = length - used;
    }
    return parser.finish();
  } finally {
    closeSync(fd);
  }
}
