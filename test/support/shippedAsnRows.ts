// The shipped ASN CSV rows read the plain way (text, split per line, RFC 4180 by regular expression), independent
// of the collector's byte parser, so tests take their expected answers from the data itself.
import { readFileSync } from "node:fs";
import { SHIPPED_ASN_FILES } from "../../collector/src/enrich/asnTable";

export interface AsnCsvRow {
  line: number;
  first: bigint;
  last: bigint;
  asn: number;
  organization: string;
}

const ROW = /^(\d+),(\d+),(\d+),(?:"((?:[^"]|"")*)"|([^"\r\n]*))\r?$/;

export function asnCsvRows(family: 4 | 6): AsnCsvRow[] {
  const text = readFileSync(family === 4 ? SHIPPED_ASN_FILES.ipv4 : SHIPPED_ASN_FILES.ipv6, "utf8");
  const rows: AsnCsvRow[] = [];
  text.split("\n").forEach((line, i) => {
    if (line === "") return;
    const match = ROW.exec(line);
    if (!match) throw new Error(`line ${i + 1} is not first,last,asn,organization: ${line}`);
    rows.push({
      line: i + 1, first: BigInt(match[1]!), last: BigInt(match[2]!), asn: Number(match[3]),
      organization: match[4] !== undefined ? match[4].replaceAll('""', '"') : match[5]!,
    });
  });
  return rows;
}

/** An address's text from its number. */
export function addressText(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(":");
}
