import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { main } from "../../collector/src/cli";
import { parseFlowLogText } from "../../collector/src/format";
import { openGeoIp } from "../../collector/src/enrich/geoIp";

const root = resolve(__dirname, "..", "..");
const fixturePath = (name: string): string => join("test", "fixtures", name);

interface Run { status: number | null; stdout: string; stderr: string }

/** Runs the real CLI the way `npm run collector -- ...` does. */
function cli(args: string[], stdin?: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", "collector/src/cli.ts", ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => { stdout += String(chunk); });
    child.stderr.on("data", (chunk) => { stderr += String(chunk); });
    child.once("error", fail);
    child.once("close", (status) => done({ status, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

const lines = (text: string): string[] => text.split("\n").filter((line) => line !== "");

test("cli parse <file> prints one {_id, ...document} line per tuple in file order and a summary on stderr", async () => {
  const run = await cli(["parse", fixturePath("nsg-v2.json")]);
  assert.equal(run.status, 0, run.stderr);
  // The same documents the service writes: geo enrichment on by default, from the shipped database.
  const enrichment = { addresses: openGeoIp({ enabled: true, cacheEntries: 100 }) };
  const expected = parseFlowLogText(readFileSync(join(root, fixturePath("nsg-v2.json")), "utf8"), enrichment).documents;
  const printed = lines(run.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(printed.length, 6);
  printed.forEach((line, i) => {
    const { _id, ...doc } = line;
    assert.equal(_id, expected[i].id);
    assert.deepEqual(doc, expected[i].doc);
  });
  assert.deepEqual(lines(run.stderr), [`parse: ${fixturePath("nsg-v2.json")}: 6 documents, 0 rejects (0 tuples, 0 records or groups)`]);
});

test("cli parse follows the service's FLOWLOGS_GEOIP settings: off prints documents without geo, a bad database exits 2 naming the variable", async () => {
  const text = readFileSync(join(root, fixturePath("nsg-v2.json")), "utf8");
  const on = await cli(["parse", fixturePath("nsg-v2.json")]);
  assert.ok(on.stdout.includes('"geo":'), "public endpoints enriched by default");
  const off = await cli(["parse", fixturePath("nsg-v2.json")], undefined, { FLOWLOGS_GEOIP: "off" });
  assert.equal(off.status, 0, off.stderr);
  assert.deepEqual(lines(off.stdout).map((line) => JSON.parse(line) as { _id: string }).map(({ _id, ...doc }) => [_id, doc]),
    parseFlowLogText(text).documents.map((d) => [d.id, d.doc]));
  const bad = await cli(["parse", fixturePath("nsg-v2.json")], undefined, { FLOWLOGS_GEOIP_DATABASE: fixturePath("nsg-v2.json") });
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, "");
  assert.match(bad.stderr, /^parse: FLOWLOGS_GEOIP_DATABASE: ".*nsg-v2\.json" is not a MaxMind-format \.mmdb database/);
});

test("cli parse skips invalid tuples and records, reports each with record/tuple index and reason, exits 0", async () => {
  const run = await cli(["parse", fixturePath("malformed-tuples.json")]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(lines(run.stdout).length, 3);
  const errors = lines(run.stderr);
  assert.equal(errors.length, 17);
  assert.match(errors[0], /^rejected record 0, tuple 1: properties\.flows\[0\]\.flows\[0\]\.flowTuples\[1\]: nsg-v2 tuple has 8 comma-separated fields, expected 13 \| raw: 1708978215,/);
  assert.match(errors[15], /^rejected record 1: flowRecords\.flows\[0\]\.flowGroups\[1\]\.flowTuples is a string/);
  assert.equal(errors[16], `parse: ${fixturePath("malformed-tuples.json")}: 3 documents, 16 rejects (15 tuples, 1 records or groups)`);
});

test("cli parse - reads stdin", async () => {
  const run = await cli(["parse", "-"], readFileSync(join(root, fixturePath("vnet-v4.json")), "utf8"));
  assert.equal(run.status, 0, run.stderr);
  const printed = lines(run.stdout).map((line) => JSON.parse(line) as { _id: string; rule?: { name: string } });
  assert.equal(printed.length, 7);
  assert.equal(printed[6].rule?.name, "unspecified");
  assert.match(run.stderr, /^parse: stdin: 7 documents, 0 rejects/);
});

test("cli parse of something that is not a flow-log document exits 1 with one line and no output", async () => {
  for (const [name, message] of [["not-json.txt", /input is not JSON/], ["unknown-records.json", /none of the 2 records is a known flow log/]] as const) {
    const run = await cli(["parse", fixturePath(name)]);
    assert.equal(run.status, 1, name);
    assert.equal(run.stdout, "");
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, message);
  }
});

test("cli parse of a missing file exits 1 naming the file", async () => {
  const run = await cli(["parse", "test/fixtures/does-not-exist.json"]);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /^parse: cannot read test\/fixtures\/does-not-exist\.json: ENOENT/);
});

// Dispatch and usage errors, in-process (no child needed).
async function inProcess(argv: string[]): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk) => { out += String(chunk); });
  stderr.on("data", (chunk) => { err += String(chunk); });
  const status = await main(argv, { stdin: new PassThrough(), stdout, stderr });
  return { status, stdout: out, stderr: err };
}

test("cli --help lists the commands; unknown commands and bad parse arguments are usage errors (exit 2)", async () => {
  const help = await inProcess(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: flowlogs-collector <command>/);
  assert.match(help.stdout, /\n {2}parse {2}print the ECS documents/);
  const none = await inProcess([]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /usage:/);
  const unknown = await inProcess(["frobnicate"]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^unknown command "frobnicate"; known commands: parse/);
  const noFile = await inProcess(["parse"]);
  assert.equal(noFile.status, 2);
  assert.match(noFile.stderr, /^parse: expected exactly one file \(or - for stdin\), got 0/);
  const parseHelp = await inProcess(["parse", "--help"]);
  assert.equal(parseHelp.status, 0);
  assert.match(parseHelp.stdout, /usage: flowlogs-collector parse \[--threat-list <list>\] <file\|->/);
});

test("cli parse escapes control characters on stderr: a tuple cannot forge a reject line or clear the terminal", async () => {
  const evil = "1708978215,10.0.0.1\nrejected record 99, tuple 0: forged | raw: x\u001b[2J,10.0.0.2";
  const text = JSON.stringify({
    records: [{
      category: "NetworkSecurityGroupFlowEvent", properties: { Version: 2, flows: [{ rule: "r", flows: [{ mac: "m", flowTuples: [evil] }] }] },
    }],
  });
  const run = await cli(["parse", "-"], text);
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /\u001b/);
  const printed = lines(run.stderr);
  assert.equal(printed.length, 2, run.stderr);
  assert.match(printed[0], /^rejected record 0, tuple 0: /);
  assert.match(printed[1], /^parse: stdin: 0 documents, 1 rejects/);
  assert.match(run.stderr, /\\nrejected record 99, tuple 0: forged \| raw: x\\x1b\[2J/);
});

test("cli parse of a document with a 5,000-deep value prints the good documents and one bounded reject (exit 0)", async () => {
  const good = readFileSync(join(root, fixturePath("nsg-v1.json")), "utf8").trim();
  const text = good.replace(/]\s*}$/, `,{"category":${"[".repeat(5000)}${"]".repeat(5000)}}]}`);
  const run = await cli(["parse", "-"], text);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(lines(run.stdout).length, 3);
  const rejects = lines(run.stderr).filter((line) => line.startsWith("rejected"));
  assert.equal(rejects.length, 1);
  assert.ok(rejects[0].length < 800, `bounded: ${rejects[0].length}`);
  assert.doesNotMatch(run.stderr, /Maximum call stack/);
});

test("cli parse --threat-list tags the flows of listed addresses, reports bad list lines, ids unchanged", async () => {
  const dir = mkdtempSync(join(tmpdir(), "parse-threat-"));
  try {
    const list = join(dir, "drop.txt");
    writeFileSync(list, "; test list\n203.0.113.105 ; SBL-cli\n1.2.3.4/24\n");
    const plain = await cli(["parse", fixturePath("nsg-v2.json")]);
    const run = await cli(["parse", "--threat-list", list, fixturePath("nsg-v2.json")]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /parse: threat list .*drop\.txt line 3: host bits are set after \/24: write the network's first address \(1\.2\.3\.0\/24\) .*; skipped/);
    const tagged = lines(run.stdout).map((line) => JSON.parse(line) as Record<string, any>);
    const untagged = lines(plain.stdout).map((line) => JSON.parse(line) as Record<string, any>);
    assert.deepEqual(tagged.map((d) => d._id), untagged.map((d) => d._id));
    let count = 0;
    tagged.forEach((doc, i) => {
      const listed = [doc.source.ip, doc.destination.ip].includes("203.0.113.105");
      assert.equal(doc.threat !== undefined, listed, `document ${i}`);
      if (!listed) return assert.deepEqual(doc, untagged[i]);
      count++;
      assert.equal(doc.threat.enrichments[0].indicator.description, "SBL-cli");
      assert.equal(doc.threat.enrichments[0].indicator.provider, "drop.txt");
    });
    assert.ok(count > 0, "some flows of the fixture are listed");

    writeFileSync(list, "<html>\n");
    const unusable = await cli(["parse", "--threat-list", list, fixturePath("nsg-v2.json")]);
    assert.equal(unusable.status, 1);
    assert.match(unusable.stderr, /threat list .* has no usable line/);
    assert.equal(unusable.stdout, "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
