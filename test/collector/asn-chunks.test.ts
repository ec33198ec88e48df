// The ASN CSV read in pieces (enrich/asnCsv.ts AsnCsvParser, enrich/asnTable.ts readAsnCsv): whatever the cut points,
// the rows, names, bad lines and their line numbers are exactly those of the whole-file parse.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AsnCsvParser, OrganizationNames, parseAsnCsv, type AsnRows } from "../../collector/src/enrich/asnCsv";
import { SHIPPED_ASN_FILES, readAsnCsv } from "../../collector/src/enrich/asnTable";
import { scratchDir } from "../support/scratchDir";

const ip4 = (text: string) => text.split(".").reduce((value, part) => value * 256 + Number(part), 0);

/** Every case the parser knows, several of them spanning what will be cut points. */
const TRICKY_V4 = [
  `${ip4("1.0.0.0")},${ip4("1.0.0.255")},13335,"Cloudflare, Inc."`,
  `${ip4("1.0.1.0")},${ip4("1.0.1.255")},201907,"LLC ""SPUTNIK"""\r`,
  `${ip4("1.0.2.0")},${ip4("1.0.2.255")},64500,"Two\nlines, ""quoted"" and\r\nCRLF"`,
  "",
  `${ip4("1.0.3.0")},${ip4("1.0.3.255")},3320,Deutsche Telekom AG\r`,
  "first,last,asn,organization",
  `${ip4("1.0.4.0")},${ip4("1.0.4.255")},x,Bad number`,
  `4294967296,4294967297,3,Too wide for IPv4`,
  `${ip4("1.0.5.255")},${ip4("1.0.5.0")},4,Backwards`,
  `${ip4("1.0.6.0")},${ip4("1.0.6.255")},5,"Quoted" and more`,
  `${ip4("1.0.7.0")},${ip4("1.0.7.255")},6,"Quoted\nthen" text`,
  `${ip4("0.9.0.0")},${ip4("1.0.0.127")},7,Out of order and overlapping`,
  `${ip4("1.0.8.0")},${ip4("1.0.8.255")},28573,Claro S.A. – Brasil ÄÖÜ`,
  `${ip4("1.0.9.0")},${ip4("1.0.9.255")},8,`,
  `${ip4("1.0.10.0")},${ip4("1.0.10.255")},9,""`,
  "\r",
  `${ip4("1.0.11.0")},${ip4("1.0.11.255")},10,No final newline`,
].join("\n");
const max = (1n << 128n) - 1n;
const TRICKY_V6 = [
  `${0x20010db8n << 96n},${(0x20010db8n << 96n) | ((1n << 96n) - 1n)},64500,"Docu""mentation"""`,
  `${max - 255n},${max},64501,Top of the space`,
  `${max + 1n},${max + 1n},64502,Too wide`,
  "",
].join("\r\n");
const UNCLOSED = `${ip4("3.0.0.0")},${ip4("3.0.0.255")},1,One\n${ip4("3.0.1.0")},${ip4("3.0.1.255")},2,"Never closed\n${ip4("3.0.2.0")},${ip4("3.0.2.255")},3,Three\n`;

/**
 * The parser fed `size`-byte pieces the way a reader does: what it leaves unread goes in front of the next piece.
 * Room for one row to start with, so its arrays grow (double) several times on the way.
 */
function parseInPieces(bytes: Buffer, family: 4 | 6, names: OrganizationNames, size: number): AsnRows {
  const parser = new AsnCsvParser(family, names, 1);
  let rest = Buffer.alloc(0);
  for (let at = 0; at < bytes.length; at += size) {
    const piece = Buffer.concat([rest, bytes.subarray(at, at + size)]);
    rest = Buffer.from(piece.subarray(parser.parse(piece, false)));
  }
  assert.equal(parser.parse(rest, true), rest.length, "the end of the file is read whole");
  return parser.finish();
}

function both(v4: string, v6: string, parse: (bytes: Buffer, family: 4 | 6, names: OrganizationNames) => AsnRows) {
  const names = new OrganizationNames();
  return { v4: parse(Buffer.from(v4), 4, names), v6: parse(Buffer.from(v6), 6, names), names: names.names };
}

test("CSV in pieces: 1, 2, 3, 7 and 64 bytes at a time give exactly the whole-file rows, names and bad lines", () => {
  for (const [v4, v6] of [[TRICKY_V4, TRICKY_V6], [UNCLOSED, ""]] as const) {
    const whole = both(v4, v6, parseAsnCsv);
    for (const size of [1, 2, 3, 7, 64]) {
      assert.deepEqual(both(v4, v6, (bytes, family, names) => parseInPieces(bytes, family, names, size)), whole, `${size}-byte pieces`);
    }
  }
  // What the whole-file parse finds here, so the comparison above covers every case it names.
  const whole = both(TRICKY_V4, TRICKY_V6, parseAsnCsv);
  assert.deepEqual(whole.v4.badLines.map((bad) => bad.line), [6, 7, 8, 9, 10, 11]);
  assert.equal(whole.v6.badLineCount, 1);
  assert.ok(whole.names.includes('Two\nlines, "quoted" and\r\nCRLF') && whole.names.includes('Docu"mentation"') && whole.names.includes(""));
  assert.deepEqual([whole.v4.unsorted, whole.v4.overlapsResolved], [true, 1]);
  assert.equal(both(UNCLOSED, "", parseAsnCsv).v4.badLines[0]!.line, 2);
});

test("CSV in pieces: a piece that ends inside a number, a quoted name, a \"\" pair or a CRLF asks for more", () => {
  const line = `${ip4("4.0.0.0")},${ip4("4.0.0.255")},3356,"Level ""3"""\r\n`;
  for (let cut = 1; cut < line.length; cut++) {
    const parser = new AsnCsvParser(4, new OrganizationNames());
    assert.equal(parser.parse(Buffer.from(line.slice(0, cut)), false), 0, `cut after ${JSON.stringify(line.slice(0, cut))}`);
  }
  const parser = new AsnCsvParser(4, new OrganizationNames());
  assert.equal(parser.parse(Buffer.from(line + line.slice(0, 9)), false), line.length, "a whole line is read, the cut one left");
});

test("reading files in pieces (readAsnCsv): 1- and 7-byte reads, and the shipped files in odd-sized reads, equal the whole-file parse", { timeout: 120_000 }, (t) => {
  const dir = scratchDir(t, "asn-chunks-");
  const files = { ipv4: join(dir, "v4.csv"), ipv6: join(dir, "v6.csv") };
  writeFileSync(files.ipv4, TRICKY_V4);
  writeFileSync(files.ipv6, TRICKY_V6);
  const whole = both(TRICKY_V4, TRICKY_V6, parseAsnCsv);
  for (const size of [1, 7]) {
    const names = new OrganizationNames();
    const read = { v4: readAsnCsv(files.ipv4, 4, names, size), v6: readAsnCsv(files.ipv6, 6, names, size), names: names.names };
    assert.deepEqual(read, whole, `${size}-byte reads`);
  }
  const shippedWhole = new OrganizationNames();
  const expected = { v4: parseAsnCsv(readFileSync(SHIPPED_ASN_FILES.ipv4), 4, shippedWhole), v6: parseAsnCsv(readFileSync(SHIPPED_ASN_FILES.ipv6), 6, shippedWhole) };
  const shippedRead = new OrganizationNames();
  const read = { v4: readAsnCsv(SHIPPED_ASN_FILES.ipv4, 4, shippedRead, 65_537), v6: readAsnCsv(SHIPPED_ASN_FILES.ipv6, 6, shippedRead, 4_093) };
  assert.ok(expected.v4.asns.length > 300_000);
  assert.deepEqual(read, expected);
  assert.deepEqual(shippedRead.names, shippedWhole.names);
});
