// The shipped ASN data (enrich/asnCsv.ts, enrich/asnTable.ts): the byte parser against RFC 4180 and bad input, and
// the loaded tables against the CSV files themselves (read independently, test/support/shippedAsnRows.ts); the
// build's pre-parsed form of them (enrich/asnPacked.ts) against the parsed tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OrganizationNames, parseAsnCsv, type AsnRows } from "../../collector/src/enrich/asnCsv";
import { AsnTable, PackedNames, loadAsnTable } from "../../collector/src/enrich/asnTable";
import { loadShippedAsnTable, packAsnTable, shippedAsnVersion, unpackAsnTable } from "../../collector/src/enrich/asnPacked";
import { addressText, asnCsvRows, type AsnCsvRow } from "../support/shippedAsnRows";
import { scratchDir } from "../support/scratchDir";

function table(v4Text: string, v6Text = ""): { table: AsnTable; v4: AsnRows; v6: AsnRows } {
  const names = new OrganizationNames();
  const v4 = parseAsnCsv(Buffer.from(v4Text), 4, names);
  const v6 = parseAsnCsv(Buffer.from(v6Text), 6, names);
  return { table: new AsnTable(v4, v6, names.names), v4, v6 };
}

const ip4 = (text: string) => text.split(".").reduce((value, part) => value * 256 + Number(part), 0);

test("CSV: RFC 4180 quoting (commas, doubled quotes, UTF-8), CRLF line ends, no final newline; names kept once", () => {
  const { table: asn, v4 } = table([
    `${ip4("1.0.0.0")},${ip4("1.0.0.255")},13335,"Cloudflare, Inc."`,
    `${ip4("1.0.1.0")},${ip4("1.0.1.255")},201907,"LLC ""SPUTNIK"""\r`,
    `${ip4("1.0.2.0")},${ip4("1.0.2.255")},3320,Deutsche Telekom AG\r`,
    `${ip4("1.0.3.0")},${ip4("1.0.3.255")},13335,"Cloudflare, Inc."`,
    `${ip4("1.0.4.0")},${ip4("1.0.4.255")},7922,Comcast`,
    `${ip4("1.0.5.0")},${ip4("1.0.5.255")},7922,Comcast Cable`,
    `${ip4("1.0.6.0")},${ip4("1.0.6.255")},28573,Claro S.A. – Brasil ÄÖÜ`,
  ].join("\n"));
  assert.deepEqual(asn.lookup("1.0.0.7"), { number: 13335, organization: { name: "Cloudflare, Inc." } });
  assert.deepEqual(asn.lookup("1.0.1.255"), { number: 201907, organization: { name: 'LLC "SPUTNIK"' } });
  assert.deepEqual(asn.lookup("1.0.2.0"), { number: 3320, organization: { name: "Deutsche Telekom AG" } });
  assert.deepEqual(asn.lookup("1.0.3.1"), { number: 13335, organization: { name: "Cloudflare, Inc." } });
  assert.deepEqual(asn.lookup("1.0.4.1"), { number: 7922, organization: { name: "Comcast" } });
  assert.deepEqual(asn.lookup("1.0.5.1"), { number: 7922, organization: { name: "Comcast Cable" } }, "a new name for a known AS");
  assert.deepEqual(asn.lookup("1.0.6.1"), { number: 28573, organization: { name: "Claro S.A. – Brasil ÄÖÜ" } });
  assert.equal(asn.lookup("1.0.7.0"), undefined);
  assert.equal(asn.lookup("0.255.255.255"), undefined);
  assert.deepEqual([v4.badLineCount, v4.overlapsResolved, v4.unsorted], [0, 0, false]);
  assert.equal(asn.sizes.organizations, 6, "Cloudflare once");
});

test("CSV: bad lines are skipped and reported with their number and reason; every good line around them loads", () => {
  const { table: asn, v4 } = table([
    `${ip4("2.0.0.0")},${ip4("2.0.0.255")},1,One`,
    "first,last,asn,organization",
    `${ip4("2.0.1.0")},${ip4("2.0.1.255")},x,Bad number`,
    `4294967296,4294967297,3,Too wide for IPv4`,
    `${ip4("2.0.3.255")},${ip4("2.0.3.0")},4,Backwards`,
    `${ip4("2.0.4.0")},${ip4("2.0.4.255")},5,"Quoted" and more`,
    `${ip4("2.0.5.0")},${ip4("2.0.5.255")},6,Six`,
    "",
  ].join("\n"));
  assert.equal(v4.badLineCount, 5);
  assert.deepEqual(v4.badLines.map((bad) => bad.line), [2, 3, 4, 5, 6]);
  assert.match(v4.badLines[0]!.reason, /expected first,last,asn,organization with decimal numbers \(IPv4\) \(line: "first,last,asn,organization"\)/);
  assert.match(v4.badLines[2]!.reason, /^expected first,last/);
  assert.match(v4.badLines[3]!.reason, /^first address after last/);
  assert.match(v4.badLines[4]!.reason, /^text after a quoted organization/);
  assert.deepEqual(asn.lookup("2.0.0.1"), { number: 1, organization: { name: "One" } });
  assert.deepEqual(asn.lookup("2.0.5.1"), { number: 6, organization: { name: "Six" } });
  for (const ip of ["2.0.1.1", "2.0.3.1", "2.0.4.1"]) assert.equal(asn.lookup(ip), undefined, ip);
  // An unclosed quote runs to the end of the file: reported, the rows before it kept.
  const { table: open, v4: openRows } = table(`${ip4("3.0.0.0")},${ip4("3.0.0.255")},1,One\n${ip4("3.0.1.0")},${ip4("3.0.1.255")},2,"Never closed\n`);
  assert.equal(openRows.badLineCount, 1);
  assert.match(openRows.badLines[0]!.reason, /never closed/);
  assert.deepEqual(open.lookup("3.0.0.1"), { number: 1, organization: { name: "One" } });
});

test("CSV: rows out of order are sorted; an overlapping row gives up the overlap to the row starting first, a covered one is dropped", () => {
  const { table: asn, v4 } = table([
    `${ip4("9.0.0.0")},${ip4("9.0.0.255")},9,Nine`,
    `${ip4("5.0.0.0")},${ip4("5.0.1.255")},5,Five`,
    `${ip4("5.0.1.0")},${ip4("5.0.2.255")},6,Six overlaps Five`,
    `${ip4("5.0.2.0")},${ip4("5.0.2.127")},7,Seven inside Six`,
    `${ip4("255.255.255.0")},${ip4("255.255.255.255")},8,Top`,
    `${ip4("255.255.255.255")},${ip4("255.255.255.255")},10,Top again`,
  ].join("\n"));
  assert.equal(v4.unsorted, true);
  assert.equal(v4.overlapsResolved, 3);
  assert.equal(asn.lookup("5.0.1.7")!.number, 5, "the overlap stays with the row starting first");
  assert.equal(asn.lookup("5.0.2.7")!.number, 6, "the rest of the overlapping row is kept");
  assert.equal(asn.lookup("5.0.2.200")!.number, 6);
  assert.equal(asn.lookup("9.0.0.1")!.number, 9);
  assert.equal(asn.lookup("255.255.255.255")!.number, 8);
  assert.equal(asn.sizes.ipv4, 4);
});

test("CSV: IPv6 rows as 128-bit decimals; plain, compressed, upper-case and IPv4-mapped forms; bad widths rejected", () => {
  const max = (1n << 128n) - 1n;
  const { table: asn, v6 } = table(`${ip4("8.8.8.0")},${ip4("8.8.8.255")},15169,Google LLC`, [
    `${0x20010db8n << 96n},${(0x20010db8n << 96n) | ((1n << 96n) - 1n)},64500,Documentation`,
    `${max - 255n},${max},64501,Top of the space`,
    `${max + 1n},${max + 1n},64502,Too wide`,
  ].join("\n"));
  assert.equal(v6.badLineCount, 1);
  assert.deepEqual(asn.lookup("2001:db8::1"), { number: 64500, organization: { name: "Documentation" } });
  assert.equal(asn.lookup("2001:DB8:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF")!.number, 64500);
  assert.equal(asn.lookup("2001:db9::"), undefined);
  assert.equal(asn.lookup("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00")!.number, 64501);
  assert.equal(asn.lookup("::ffff:8.8.8.8")!.number, 15169, "IPv4-mapped: the IPv4 table answers");
  assert.equal(asn.lookup("::ffff:808:808")!.number, 15169);
  assert.equal(asn.lookup("not an address"), undefined);
});

test("loading files: unreadable lines come back with their file and line number, the rest loads", (t) => {
  const dir = scratchDir(t, "asn-csv-");
  const files = { ipv4: join(dir, "v4.csv"), ipv6: join(dir, "v6.csv") };
  writeFileSync(files.ipv4, `${ip4("4.0.0.0")},${ip4("4.0.0.255")},3356,Level 3\nnot,a,row\n`);
  writeFileSync(files.ipv6, `${0x20010db8n << 96n},${(0x20010db8n << 96n) + 255n},64500,Documentation\n`);
  const loaded = loadAsnTable(files);
  assert.equal(loaded.badLineCount, 1);
  assert.deepEqual(loaded.badLines.map((bad) => [bad.file, bad.line]), [[files.ipv4, 2]]);
  assert.equal(loaded.table.lookup("4.0.0.1")!.number, 3356);
  assert.equal(loaded.table.lookup("2001:db8::ff")!.number, 64500);
  assert.throws(() => loadAsnTable({ ipv4: join(dir, "missing.csv"), ipv6: files.ipv6 }), /ENOENT/);
});

test("the shipped files: every sampled row answers its own ASN and name at its first, last and middle address; gaps answer nothing", () => {
  const { table: asn, badLineCount, overlapsResolved } = loadAsnTable();
  assert.equal(badLineCount, 0, "the shipped files read cleanly");
  for (const family of [4, 6] as const) {
    const rows = asnCsvRows(family);
    assert.ok(rows.length > (family === 4 ? 300_000 : 80_000), `${rows.length} IPv${family} rows`);
    // Rows overlapping the one before are the parser's to settle (trimmed, or dropped when covered); the rest answer
    // as written. The shipped files are in address order.
    const overlapping = new Set<AsnCsvRow>();
    let covered = 0;
    for (let i = 1; i < rows.length; i++) {
      assert.ok(rows[i]!.first >= rows[i - 1]!.first, `line ${rows[i]!.line} in order`);
      if (rows[i]!.first <= rows[i - 1]!.last) overlapping.add(rows[i]!);
      if (rows[i]!.last <= rows[i - 1]!.last) covered++;
    }
    if (family === 4) assert.equal(overlapping.size, overlapsResolved, "every overlap found was resolved");
    assert.equal(asn.sizes[family === 4 ? "ipv4" : "ipv6"], rows.length - covered);
    let checked = 0;
    let gaps = 0;
    for (let i = 0; i < rows.length; i += 97) { // a fixed stride: deterministic, about 5,000 rows spread over the file
      const row = rows[i]!;
      if (overlapping.has(row)) continue;
      for (const value of [row.first, row.last, (row.first + row.last) / 2n]) {
        assert.deepEqual(asn.lookup(addressText(family, value)), { number: row.asn, organization: { name: row.organization } }, `line ${row.line}: ${addressText(family, value)}`);
      }
      checked++;
      const next = rows[i + 1];
      if (next && next.first > row.last + 1n) {
        assert.equal(asn.lookup(addressText(family, row.last + 1n)), undefined, `the gap after line ${row.line}`);
        gaps++;
      }
    }
    assert.ok(checked > 1000 && gaps > 100, `IPv${family}: ${checked} rows, ${gaps} gaps checked`);
  }
});

test("CSV: 300,000 distinct AS numbers (past the first size of the AS-to-name table) each keep their own name", () => {
  const lines: string[] = [];
  const asnOf = (i: number) => (i * 2_654_435_761) % 4_294_967_295; // spread over the whole 32-bit range
  for (let i = 0; i < 300_000; i++) lines.push(`${i * 16},${i * 16 + 15},${asnOf(i)},Org ${i % 1000}`);
  for (let i = 0; i < 300_000; i += 7) lines.push(`${(300_000 + i) * 16},${(300_000 + i) * 16 + 15},${asnOf(i)},Org ${i % 1000}`); // repeats: the known-AS path
  const { table: asn, v4 } = table(lines.join("\n"));
  assert.equal(v4.badLineCount, 0);
  assert.equal(asn.sizes.organizations, 1000);
  for (let i = 0; i < 300_000; i += 131) {
    const ip = [24, 16, 8, 0].map((shift) => ((i * 16 + 5) >>> shift) & 255).join(".");
    assert.deepEqual(asn.lookup(ip), { number: asnOf(i), organization: { name: `Org ${i % 1000}` } }, ip);
  }
  // 0.73.62.5 = 300,000 * 16 + 5: the first repeated row, AS asnOf(7 * 0) again.
  assert.deepEqual(asn.lookup("0.73.62.5"), { number: asnOf(0), organization: { name: "Org 0" } });
  assert.deepEqual(asn.lookup("0.73.62.117"), { number: asnOf(7), organization: { name: "Org 7" } });
});

test("the shipped data loads within bounds: CPU time and retained memory (heap + array buffers) measured in a fresh process", { timeout: 120_000 }, () => {
  const script = `
    const { loadAsnTable } = require(${JSON.stringify(require.resolve("../../collector/src/enrich/asnTable"))});
    (async () => {
    global.gc(); const before = process.memoryUsage(); const cpu = process.cpuUsage();
    const loaded = loadAsnTable();
    const used = process.cpuUsage(cpu);
    // Array buffers are freed after the collection that finds them dead: settle before measuring.
    for (let i = 0; i < 3; i++) { global.gc(); await new Promise((resolve) => setTimeout(resolve, 50)); }
    const after = process.memoryUsage();
    process.stdout.write(JSON.stringify({ cpuMs: (used.user + used.system) / 1000, heapMb: (after.heapUsed - before.heapUsed) / 1048576,
      buffersMb: (after.arrayBuffers - before.arrayBuffers) / 1048576, ranges: loaded.table.sizes.ipv4 }));
    })();
  `;
  // The image's heap cap: the tables must load under it with room to spare for the collector.
  const out = execFileSync(process.execPath, ["--expose-gc", "--max-old-space-size=128", "--import", "tsx", "-e", script], { encoding: "utf8" });
  const measured = JSON.parse(out) as { cpuMs: number; heapMb: number; buffersMb: number; ranges: number };
  console.log(`shipped ASN data: ${measured.cpuMs.toFixed(0)} ms CPU to load, retains ${measured.heapMb.toFixed(1)} MB heap + ${measured.buffersMb.toFixed(1)} MB array buffers`);
  assert.ok(measured.ranges > 300_000);
  // 515,000 ranges of 16 (IPv4) or 40 (IPv6) bytes in typed arrays, plus 81,000 names packed in a buffer: about 13 MB.
  assert.ok(measured.heapMb + measured.buffersMb < 24, "retained memory");
  // The 81,000 names are packed in one buffer (2.4 MB), not kept as strings on the heap (4.8 MB): #12.
  assert.ok(measured.heapMb < 2, `heap retained: ${measured.heapMb.toFixed(1)} MB`);
  assert.ok(measured.cpuMs < 10_000, "load CPU time, generous for a loaded machine");
});

test("pre-parsed tables (the build's asn-tables.bin): the shipped tables packed and read back hold the same arrays and answer the same", () => {
  const parsed = loadAsnTable();
  const file = packAsnTable(parsed, "9.9.9");
  const unpacked = unpackAsnTable(file, "9.9.9");
  assert.ok(!("unusable" in unpacked), "usable");
  const [a, b] = [parsed.table.parts, unpacked.table.parts];
  for (const family of ["v4", "v6"] as const) {
    for (const array of ["firsts", "lasts", "asns", "organizations"] as const) {
      assert.ok(Buffer.from(a[family][array].buffer, a[family][array].byteOffset, a[family][array].byteLength)
        .equals(Buffer.from(b[family][array].buffer, b[family][array].byteOffset, b[family][array].byteLength)), `${family}.${array}`);
    }
  }
  assert.ok(a.names.bytes.equals(b.names.bytes), "organization names, byte for byte");
  assert.deepEqual([...b.names.offsets], [...a.names.offsets]);
  assert.deepEqual(unpacked.table.sizes, parsed.table.sizes);
  assert.equal(unpacked.overlapsResolved, parsed.overlapsResolved);
  // Lookups through the whole path (the /16 index is rebuilt from the arrays): every 997th range's ends, both families.
  for (const family of [4, 6] as const) {
    const rows = asnCsvRows(family);
    for (let i = 0; i < rows.length; i += 997) {
      for (const value of [rows[i]!.first, rows[i]!.last]) {
        const ip = addressText(family, value);
        assert.deepEqual(unpacked.table.lookup(ip), parsed.table.lookup(ip), ip);
      }
    }
  }
});

test("pre-parsed tables are used only when they fit: another package version, format or byte order, a cut file or trailing bytes fall back to the CSV with the reason", (t) => {
  const { table: small } = table(`${ip4("4.0.0.0")},${ip4("4.0.0.255")},3356,"Level 3, ""Parent"" Ñ"\n`, `${0x20010db8n << 96n},${(0x20010db8n << 96n) + 255n},64500,Documentation\n`);
  const loaded = { table: small, badLines: [], badLineCount: 0, overlapsResolved: 0 };
  const file = packAsnTable(loaded, "1.2.3");
  const back = unpackAsnTable(file, "1.2.3");
  assert.ok(!("unusable" in back));
  assert.deepEqual(back.table.lookup("4.0.0.7"), { number: 3356, organization: { name: 'Level 3, "Parent" Ñ' } });
  assert.deepEqual(back.table.lookup("2001:db8::1"), { number: 64500, organization: { name: "Documentation" } });
  // Read at an offset that is not a multiple of 4 (a slice of a larger buffer): copied, not misread.
  const shifted = Buffer.concat([Buffer.alloc(1), file]).subarray(1);
  const fromShifted = unpackAsnTable(shifted, "1.2.3");
  assert.ok(!("unusable" in fromShifted));
  assert.equal(fromShifted.table.lookup("4.0.0.7")!.number, 3356);
  const unusable = (bytes: Buffer, version = "1.2.3") => {
    const result = unpackAsnTable(bytes, version);
    return "unusable" in result ? result.unusable : "usable";
  };
  assert.match(unusable(file, "1.2.4"), /made from @ip-location-db\/asn 1\.2\.3, installed 1\.2\.4/);
  assert.match(unusable(file.subarray(0, file.length - 4)), /cut short in names\.bytes/);
  assert.match(unusable(Buffer.concat([file, Buffer.alloc(4)])), /4 bytes after its arrays/);
  assert.match(unusable(file.subarray(0, 2)), /shorter than its header/);
  const headerLength = file.readUInt32LE(0);
  const header = JSON.parse(file.toString("utf8", 4, 4 + headerLength));
  const withHeader = (changed: object) => {
    const json = Buffer.from(JSON.stringify({ ...header, ...changed }));
    const copy = Buffer.from(file);
    assert.equal(json.length, headerLength, "same length, so the arrays stay where they are");
    json.copy(copy, 4);
    return copy;
  };
  assert.match(unusable(withHeader({ endianness: header.endianness === "LE" ? "BE" : "LE" })), /byte order/);
  assert.match(unusable(withHeader({ format: "flowlogs-asn-tables/0" })), /format "flowlogs-asn-tables\/0"/);
  // A header that parses but is damaged (any length: only the header is read before its arrays are refused).
  const withAnyHeader = (json: string) => {
    const text = Buffer.from(json);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(text.length, 0);
    return Buffer.concat([length, text]);
  };
  assert.match(unusable(withAnyHeader("null")), /its header is not an object/);
  assert.match(unusable(withAnyHeader(JSON.stringify({ ...header, arrays: null }))), /does not list its arrays as \[name, length\] pairs/);
  assert.match(unusable(withAnyHeader(JSON.stringify({ ...header, arrays: [["v4.firsts", 1.5]] }))), /does not list its arrays/);
  // Damaged contents behind a sound header: refused too, not searched (the lookups assume sorted, disjoint ranges).
  const rows = (firsts: number[], lasts: number[], organizations: number[]): AsnRows => ({
    width: 1, firsts: Uint32Array.from(firsts), lasts: Uint32Array.from(lasts), asns: Uint32Array.from(firsts, () => 64500),
    organizations: Uint32Array.from(organizations), badLines: [], badLineCount: 0, unsorted: false, overlapsResolved: 0,
  });
  const noV6 = { ...rows([], [], []), width: 4 as const };
  const damaged = (v4: AsnRows, names: readonly string[] | PackedNames = ["A", "B"]) =>
    unusable(packAsnTable({ table: new AsnTable(v4, noV6, names), badLines: [], badLineCount: 0, overlapsResolved: 0 }, "1.2.3"));
  assert.equal(damaged(rows([1, 10], [5, 20], [0, 1])), "usable");
  assert.match(damaged(rows([10, 1], [20, 5], [0, 1])), /IPv4 rows 0 and 1 overlap or are out of order/);
  assert.match(damaged(rows([1, 5], [5, 20], [0, 1])), /IPv4 rows 0 and 1 overlap/);
  assert.match(damaged(rows([1, 10], [0, 20], [0, 1])), /IPv4 row 0 ends before it starts/);
  assert.match(damaged(rows([1, 10], [5, 20], [0, 2])), /IPv4 row 1 names organization 2 of 2/);
  assert.match(damaged(rows([1], [5], [0]), new PackedNames(Buffer.from("AB"), Uint32Array.from([0, 1]))), /name offsets do not span the names/);
  assert.match(damaged(rows([1], [5], [0]), new PackedNames(Buffer.from("AB"), Uint32Array.from([0, 2, 1, 2]))), /name offsets out of order at 2/);
  // The loader: a packed file for the installed package is used; a missing one falls back to the CSV, saying why.
  const dir = scratchDir(t, "asn-packed-");
  const path = join(dir, "asn-tables.bin");
  const missing = loadShippedAsnTable(path);
  assert.equal(missing.source, "csv");
  assert.match(missing.packedUnusable!, /not read \(ENOENT\)/);
  writeFileSync(path, packAsnTable(loaded, shippedAsnVersion()));
  const packed = loadShippedAsnTable(path);
  assert.equal(packed.source, "packed");
  assert.equal(packed.table.lookup("4.0.0.7")!.number, 3356, "the file's tables, not the shipped CSV's");
  writeFileSync(path, packAsnTable(loaded, `${shippedAsnVersion()}-other`));
  assert.equal(loadShippedAsnTable(path).source, "csv");
  // Neither (the image ships no CSV): both reasons in the error, so the start-up error says what to fix.
  assert.throws(() => loadShippedAsnTable(path, { ipv4: join(dir, "missing-v4.csv"), ipv6: join(dir, "missing-v6.csv") }),
    /pre-parsed tables .* made from @ip-location-db\/asn .*-other, installed .*, and the CSV files cannot be read \(ENOENT\)/);
});
