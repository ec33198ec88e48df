// The shipped ASN tables pre-parsed (#12). Parsing the package's 32 MB of CSV took about 0.4 s of wall time and 0.5 s
// of CPU on every start, most of the collector's start-up. The collector's build (`npm run build`, which the image
// runs) parses them once and writes the parsed tables as one file next to the compiled asnTable.js; start-up reads it
// into typed arrays and checks them in 30-40 ms. A file made from another version of the package, or missing (a run from
// the sources), is not used: the CSV files are parsed as before.
//
// Layout: a uint32 (little-endian) header length, the header as JSON, zero padding to a multiple of 4, then uint32
// arrays in the header's `arrays` order, each as long as the header says. Typed arrays use the machine's byte order,
// so the header records it and another order is refused.
import { readFileSync, writeFileSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import type { AsnRows } from "./asnCsv";
import { AsnTable, PackedNames, SHIPPED_ASN_FILES, loadAsnTable, type LoadedAsnTable } from "./asnTable";

export const PACKED_FORMAT = "flowlogs-asn-tables/1";
/** Where the build writes the packed tables and start-up looks for them: beside the compiled code. */
export const PACKED_ASN_FILE = join(__dirname, "asn-tables.bin");

interface PackedHeader {
  format: string;
  /** The version of npm @ip-location-db/asn the tables were parsed from. */
  asnPackage: string;
  endianness: "LE" | "BE";
  /** Array names and lengths (uint32 elements), in file order. */
  arrays: Array<[string, number]>;
  badLines: LoadedAsnTable["badLines"];
  badLineCount: number;
  overlapsResolved: number;
  /** The names' UTF-8 length (their array is padded to whole words). */
  nameBytes: number;
}

/** The version of the installed ASN package: packed tables are used only when made from it. */
export function shippedAsnVersion(): string {
  return (JSON.parse(readFileSync(require.resolve("@ip-location-db/asn/package.json"), "utf8")) as { version: string }).version;
}

/** The packed form of a loaded table, tied to `asnPackage` (the version its CSV files came from). */
export function packAsnTable(loaded: LoadedAsnTable, asnPackage: string): Buffer {
  const { v4, v6, names } = loaded.table.parts;
  const arrays: Array<[string, Uint32Array]> = [
    ["v4.firsts", v4.firsts], ["v4.lasts", v4.lasts], ["v4.asns", v4.asns], ["v4.organizations", v4.organizations],
    ["v6.firsts", v6.firsts], ["v6.lasts", v6.lasts], ["v6.asns", v6.asns], ["v6.organizations", v6.organizations],
    ["names.offsets", names.offsets], ["names.bytes", bytesAsWords(names.bytes)],
  ];
  const header: PackedHeader = {
    format: PACKED_FORMAT, asnPackage, endianness: endianness(), arrays: arrays.map(([name, array]) => [name, array.length]),
    badLines: loaded.badLines, badLineCount: loaded.badLineCount, overlapsResolved: loaded.overlapsResolved,
    nameBytes: names.bytes.length,
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const start = align4(4 + json.length);
  const total = arrays.reduce((at, [, array]) => at + array.byteLength, start);
  const file = Buffer.alloc(total);
  file.writeUInt32LE(json.length, 0);
  json.copy(file, 4);
  let at = start;
  for (const [, array] of arrays) {
    file.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), at);
    at += array.byteLength;
  }
  return file;
}

/**
 * The table from packed bytes, or why they cannot be used (another package version, byte order or format; cut short).
 * The arrays are views of `file`, not copies.
 */
export function unpackAsnTable(file: Buffer, asnPackage: string): LoadedAsnTable | { unusable: string } {
  if (file.length < 4) return { unusable: "shorter than its header" };
  const headerLength = file.readUInt32LE(0);
  if (4 + headerLength > file.length) return { unusable: "shorter than its header" };
  let header: PackedHeader;
  try {
    header = JSON.parse(file.toString("utf8", 4, 4 + headerLength)) as PackedHeader;
  } catch {
    return { unusable: "its header is not JSON" };
  }
  if (typeof header !== "object" || header === null) return { unusable: "its header is not an object" };
  if (header.format !== PACKED_FORMAT) return { unusable: `format ${JSON.stringify(header.format)}, expected ${PACKED_FORMAT}` };
  if (header.asnPackage !== asnPackage) return { unusable: `made from @ip-location-db/asn ${header.asnPackage}, installed ${asnPackage}` };
  if (header.endianness !== endianness()) return { unusable: `${header.endianness} byte order, this machine is ${endianness()}` };
  // Views need 4-byte alignment: a file read whole has its own memory at offset 0, but a copy is made if not.
  const words = file.byteOffset % 4 === 0 ? file : Buffer.from(file);
  const views = new Map<string, Uint32Array>();
  let at = align4(4 + headerLength);
  if (!Array.isArray(header.arrays) || !header.arrays.every(isArrayEntry)) return { unusable: "its header does not list its arrays as [name, length] pairs" };
  for (const [name, length] of header.arrays) {
    if (at + 4 * length > words.length) return { unusable: `cut short in ${name}` };
    views.set(name, new Uint32Array(words.buffer, words.byteOffset + at, length));
    at += 4 * length;
  }
  if (at !== words.length) return { unusable: `${words.length - at} bytes after its arrays` };
  const view = (name: string): Uint32Array => views.get(name) ?? new Uint32Array(0);
  const rows = (family: "v4" | "v6", width: 1 | 4): AsnRows => ({
    width, firsts: view(`${family}.firsts`), lasts: view(`${family}.lasts`), asns: view(`${family}.asns`),
    organizations: view(`${family}.organizations`), badLines: [], badLineCount: 0, unsorted: false, overlapsResolved: 0,
  });
  const nameWords = view("names.bytes");
  if (!(Number.isInteger(header.nameBytes) && header.nameBytes >= 0 && header.nameBytes <= nameWords.byteLength)) {
    return { unusable: `names hold ${nameWords.byteLength} bytes, the header says ${header.nameBytes}` };
  }
  const names = new PackedNames(Buffer.from(nameWords.buffer, nameWords.byteOffset, header.nameBytes), view("names.offsets"));
  const [v4, v6] = [rows("v4", 1), rows("v6", 4)];
  const wrong = checkRows(v4, names) ?? checkRows(v6, names) ?? checkNames(names);
  if (wrong) return { unusable: wrong };
  return {
    table: new AsnTable(v4, v6, names),
    badLines: Array.isArray(header.badLines) ? header.badLines : [], badLineCount: header.badLineCount, overlapsResolved: header.overlapsResolved,
  };
}

/** The packed shipped tables, if the build wrote them for the installed package; else why not. */
export function readPackedShippedAsn(path = PACKED_ASN_FILE): LoadedAsnTable | { unusable: string } {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (error) {
    return { unusable: `not read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  return unpackAsnTable(file, shippedAsnVersion());
}

/** Writes the shipped tables, parsed from the CSV files, packed at `path` (the build step). */
export function writePackedShippedAsn(loaded: LoadedAsnTable, path = PACKED_ASN_FILE): number {
  const file = packAsnTable(loaded, shippedAsnVersion());
  writeFileSync(path, file);
  return file.length;
}

/**
 * What makes rows unfit for the lookups (asnCsv.ts guarantees it for parsed rows; a file could be damaged): arrays of
 * matching lengths, names that exist, and ranges that are in order and do not overlap, as the binary search assumes.
 * 3-5 ms for the shipped tables once warm, about 15 ms at a cold start.
 */
function checkRows(rows: AsnRows, names: PackedNames): string | undefined {
  const { width, firsts, lasts, asns, organizations } = rows;
  const family = width === 1 ? "IPv4" : "IPv6";
  const count = asns.length;
  if (organizations.length !== count || firsts.length !== count * width || lasts.length !== count * width) {
    return `${family} arrays of different lengths`;
  }
  const nameCount = names.length;
  for (let i = 0; i < count; i++) {
    if (organizations[i]! >= nameCount) return `${family} row ${i} names organization ${organizations[i]} of ${nameCount}`;
  }
  let previousLast = -1;
  for (let i = 0; i < count; i++) {
    // IPv4 rows are one word each, compared directly (412,000 of them); IPv6 rows four.
    if (width === 1 ? firsts[i]! > lasts[i]! : compare(firsts, i, lasts, i, width) > 0) return `${family} row ${i} ends before it starts`;
    if (i > 0 && (width === 1 ? previousLast >= firsts[i]! : compare(lasts, i - 1, firsts, i, width) >= 0)) {
      return `${family} rows ${i - 1} and ${i} overlap or are out of order`;
    }
    if (width === 1) previousLast = lasts[i]!;
  }
  return undefined;
}

function checkNames(names: PackedNames): string | undefined {
  const { offsets, bytes } = names;
  if (offsets.length === 0 || offsets[0] !== 0 || offsets[offsets.length - 1] !== bytes.length) return "name offsets do not span the names";
  for (let i = 1; i < offsets.length; i++) if (offsets[i]! < offsets[i - 1]!) return `name offsets out of order at ${i}`;
  return undefined;
}

/** a[i] against b[j], `width` big-endian words each. */
function compare(a: Uint32Array, i: number, b: Uint32Array, j: number, width: number): number {
  for (let k = 0; k < width; k++) {
    const difference = a[i * width + k]! - b[j * width + k]!;
    if (difference !== 0) return difference;
  }
  return 0;
}

/** A header's `arrays` entry: a name and a whole, non-negative length. */
function isArrayEntry(entry: unknown): entry is [string, number] {
  return Array.isArray(entry) && typeof entry[0] === "string" && Number.isInteger(entry[1]) && (entry[1] as number) >= 0;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** `bytes` as uint32 words, zero-padded to a multiple of 4 (the header keeps the true length). */
function bytesAsWords(bytes: Buffer): Uint32Array {
  const padded = new Uint8Array(align4(bytes.length));
  padded.set(bytes);
  return new Uint32Array(padded.buffer);
}

/**
 * The shipped ASN tables: packed by the build when it made them for the installed package (`source: "packed"`),
 * otherwise parsed from the package's CSV files, with why the packed file was not used.
 */
export function loadShippedAsnTable(
  path = PACKED_ASN_FILE, csvFiles = SHIPPED_ASN_FILES,
): LoadedAsnTable & { source: "packed" | "csv"; packedUnusable?: string } {
  const packed = readPackedShippedAsn(path);
  if (!("unusable" in packed)) return { ...packed, source: "packed" };
  try {
    return { ...loadAsnTable(csvFiles), source: "csv", packedUnusable: packed.unusable };
  } catch (error) {
    // The image ships no CSV: say why the pre-parsed tables were not used as well.
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`pre-parsed tables ${path} ${packed.unusable}, and the CSV files cannot be read (${reason})`);
  }
}
