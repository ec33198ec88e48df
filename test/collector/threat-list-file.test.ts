// The threat list file in the service (collector/src/service/threatListFile.ts) and its settings: loaded at start-up
// (an unusable list stops it with the variable named), reloaded when the file changes (driven by calling refresh,
// as the poll loop does, on a real file), a bad new version refused with the old list kept and the reason logged once,
// bad lines warned with their numbers while the good entries work.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, describeConfig, loadConfig, threatListFileProblem } from "../../collector/src/service/config";
import type { LogEvent, Logger } from "../../collector/src/service/logger";
import { Metrics } from "../../collector/src/service/metrics";
import { ThreatListFile } from "../../collector/src/service/threatListFile";
import { mulberry32 } from "../support/flowLogWriter";

const ROOT = resolve(__dirname, "../..");

const storage = { FLOWLOGS_STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net", FLOWLOGS_SINK: "stdout" };

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "threat-list-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function recorder(): { log: Logger; events: LogEvent[] } {
  const events: LogEvent[] = [];
  const log: Logger = (level, event, fields = {}) => events.push({ time: "", level, event, ...fields });
  return { log, events };
}

/** Replaces the file as an editor or a copy tool would, with a modification time that surely differs. */
let tick = 1_800_000_000;
function rewrite(file: string, text: string): void {
  writeFileSync(`${file}.new`, text);
  renameSync(`${file}.new`, file);
  tick += 10;
  utimesSync(file, tick, tick);
}

function configError(env: Record<string, string>): string {
  try {
    loadConfig({ ...storage, ...env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail("expected a ConfigError");
}

test("settings: the list's path and size bound, shown in collector.start; a missing file or a directory is a ConfigError naming the key", (t) => {
  const dir = tempDir(t);
  const file = join(dir, "drop.txt");
  writeFileSync(file, "192.0.2.0/24\n");
  assert.equal(loadConfig(storage).threatList, undefined);
  assert.equal(describeConfig(loadConfig(storage)).threatList, "off");
  assert.deepEqual(loadConfig({ ...storage, FLOWLOGS_THREAT_LIST_FILE: file }).threatList, { file, maxBytes: 4 << 20 });
  assert.deepEqual(loadConfig({ ...storage, FLOWLOGS_THREAT_LIST_FILE: file, FLOWLOGS_THREAT_LIST_MAX_BYTES: "4096" }).threatList, { file, maxBytes: 4096 });
  assert.deepEqual(describeConfig(loadConfig({ ...storage, FLOWLOGS_THREAT_LIST_FILE: file })).threatList, { file, maxBytes: 4 << 20 });

  assert.match(configError({ FLOWLOGS_THREAT_LIST_FILE: join(dir, "missing.txt") }), /^FLOWLOGS_THREAT_LIST_FILE ".*missing\.txt" does not exist: put the list there \(in Azure: the stack's collector\.threatListFile, .*\), or unset the variable/);
  assert.match(configError({ FLOWLOGS_THREAT_LIST_FILE: dir }), /^FLOWLOGS_THREAT_LIST_FILE .* is not a file/);
  assert.match(configError({ FLOWLOGS_THREAT_LIST_FILE: join(file, "below-a-file.txt") }), /does not exist: put the list there/);
  // A folder the (non-root) user may not search answers EACCES: said as such, not as a missing file. (Root, as the
  // tests run here, searches any folder, so the error is the one stat gives then.)
  const denied = Object.assign(new Error(`EACCES: permission denied, stat '/etc/flowlogs/threat-list/list.txt'`), { code: "EACCES" });
  const message = threatListFileProblem("/etc/flowlogs/threat-list/list.txt", denied);
  assert.match(message, /^FLOWLOGS_THREAT_LIST_FILE "\/etc\/flowlogs\/threat-list\/list\.txt" cannot be looked at by this process \(uid \d+\): EACCES: permission denied/);
  assert.match(message, /readable by that user/);
  assert.doesNotMatch(message, /does not exist/);
  assert.match(configError({ FLOWLOGS_THREAT_LIST_FILE: file, FLOWLOGS_THREAT_LIST_MAX_BYTES: "12" }), /^FLOWLOGS_THREAT_LIST_MAX_BYTES "12" is not a whole number from 1024 to 268435456/);
  assert.match(configError({ FLOWLOGS_THREAT_LIST_MAX_BYTES: "4096" }), /^FLOWLOGS_THREAT_LIST_MAX_BYTES applies only with FLOWLOGS_THREAT_LIST_FILE/);
});

test("start-up: a list with no usable line, too large, or not UTF-8 stops the collector with the key and the first bad line", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "list.txt");
  const { log } = recorder();
  const openError = async (text: string | Buffer, maxBytes = 1 << 20): Promise<string> => {
    writeFileSync(file, text);
    const error = await ThreatListFile.open({ file, maxBytes }, log).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  };
  assert.match(await openError("# comment\n<html>\n<body>\n"), /^FLOWLOGS_THREAT_LIST_FILE .*list\.txt: no line is an address or CIDR \(2 bad lines; line 2: "<html>" is not an IPv4 or IPv6 address or CIDR .*\); fix the file, or unset the variable/);
  assert.match(await openError("192.0.2.0/24\n".repeat(200), 1024), /is 2600 bytes, more than FLOWLOGS_THREAT_LIST_MAX_BYTES \(1024\): raise it or shorten the list/);
  assert.match(await openError(Buffer.from([0x31, 0x2e, 0xff, 0xfe, 0x0a])), /is not UTF-8 text/);
  // An empty list (or comments only) is a valid list that tags nothing.
  writeFileSync(file, "; nothing listed yet\n");
  assert.equal((await ThreatListFile.open({ file, maxBytes: 1024 }, log)).entries, 0);
});

test("reload: a changed file is used from the next check on; touching it without a change parses nothing", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "drop.txt");
  rewrite(file, "192.0.2.0/24 ; SBL1\n");
  const { log, events } = recorder();
  const list = await ThreatListFile.open({ file, maxBytes: 1 << 20 }, log);
  assert.deepEqual(events.map((e) => e.event), ["threatlist.loaded"]);
  assert.equal(events[0]!.entries, 1);
  assert.equal(list.match("192.0.2.9")?.description, "SBL1");
  assert.equal(await list.refresh(), "unchanged", "unchanged file");

  rewrite(file, "198.51.100.0/24 ; SBL2\n2001:db8::/32\n");
  assert.equal(await list.refresh(), "reloaded");
  assert.equal(list.match("192.0.2.9"), undefined);
  assert.equal(list.match("198.51.100.9")?.description, "SBL2");
  assert.equal(list.entries, 2);
  assert.deepEqual(events.at(-1), { time: "", level: "info", event: "threatlist.reloaded", file, entries: 2, sha256: events.at(-1)!.sha256, badLines: 0 });

  const before = events.length;
  tick += 10;
  utimesSync(file, tick, tick); // touched, same bytes
  assert.equal(await list.refresh(), "unchanged");
  assert.equal(events.length, before);
  assert.equal(list.match("198.51.100.9")?.description, "SBL2");
});

test("reload: a bad new version keeps the old list and is reported once; a fixed version is then taken", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "drop.txt");
  rewrite(file, "192.0.2.0/24 ; SBL1\n");
  const { log, events } = recorder();
  const list = await ThreatListFile.open({ file, maxBytes: 1 << 20 }, log);

  rewrite(file, "{\"not\": \"a list\"}\n");
  assert.equal(await list.refresh(), "refused");
  assert.equal(await list.refresh(), "unchanged", "the same bad version is not reported again");
  const failures = events.filter((e) => e.event === "threatlist.reload.failed");
  assert.equal(failures.length, 1, "reported once per file version");
  assert.match(String(failures[0]!.reason), /no line is an address or CIDR \(1 bad lines; line 1: /);
  assert.match(String(failures[0]!.action), /still using the list loaded before \(1 entries, sha256 [0-9a-f]{16}\)/);
  assert.equal(list.match("192.0.2.9")?.description, "SBL1");

  rmSync(file);
  assert.equal(await list.refresh(), "refused");
  assert.match(String(events.at(-1)!.reason), /does not exist/);
  assert.equal(list.match("192.0.2.9")?.description, "SBL1", "a deleted file keeps the list too");

  rewrite(file, "203.0.113.0/24\n");
  assert.equal(await list.refresh(), "reloaded");
  assert.equal(list.match("192.0.2.9"), undefined);
  assert.ok(list.match("203.0.113.1"));
});

test("bad lines: the good entries load, the bad ones are warned with their line numbers", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "mixed.txt");
  const lines = ["192.0.2.0/24", "1.2.3.4/24", "203.0.113.5", ...Array.from({ length: 30 }, (_, i) => `bad-${i}`)];
  rewrite(file, lines.join("\n"));
  const { log, events } = recorder();
  const list = await ThreatListFile.open({ file, maxBytes: 1 << 20 }, log);
  assert.equal(list.entries, 2);
  assert.ok(list.match("192.0.2.1") && list.match("203.0.113.5"));
  const warning = events.find((e) => e.event === "threatlist.lines.rejected")!;
  assert.equal(warning.level, "warn");
  assert.equal(warning.count, 31);
  const named = warning.lines as Array<{ line: number; reason: string }>;
  assert.equal(named.length, 20, "the first 20 are named; count has them all");
  assert.deepEqual(named.slice(0, 2).map((bad) => bad.line), [2, 4]);
  assert.match(named[0]!.reason, /host bits are set/);
  assert.match(String(warning.action), /every other entry is in use/);
});

/** Runs `node [flags] --import tsx -e code` from the repository root; resolves with exit code and output. */
function runNode(flags: string[], code: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...flags, "--import", "tsx", "-e", code], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => { stdout += String(c); });
    child.stderr.on("data", (c) => { stderr += String(c); });
    child.once("exit", (exitCode) => done({ code: exitCode, stdout, stderr }));
  });
}

test("memory: a list of the default maximum size (4 MiB) loads in a process capped at a 64 MB heap", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "big.txt");
  const random = mulberry32(21);
  const lines: string[] = [];
  let size = 0;
  while (size < (4 << 20) - 64) {
    const prefix = 16 + Math.floor(random() * 17);
    const network = (((random() * 2 ** 32) >>> 0) >>> (32 - prefix) << (32 - prefix)) >>> 0;
    const line = `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}/${prefix} ; SBL${lines.length}`;
    lines.push(line);
    size += line.length + 1;
  }
  writeFileSync(file, lines.join("\n"));
  const run = await runNode(["--max-old-space-size=64"], `
    const { ThreatListFile } = require("./collector/src/service/threatListFile");
    ThreatListFile.open({ file: process.env.LIST, maxBytes: 4 << 20 }, () => undefined).then((list) => {
      console.log(JSON.stringify({ entries: list.entries, heapMb: process.memoryUsage().heapUsed / 1e6 }));
    });`, { LIST: file });
  assert.equal(run.code, 0, run.stderr.slice(-1500));
  const { entries, heapMb } = JSON.parse(run.stdout) as { entries: number; heapMb: number };
  console.log(`${entries} entries (${size} bytes) under a 64 MB heap cap: ${heapMb.toFixed(0)} MB heap used after loading`);
  assert.equal(entries, lines.length);
});

test("run: a list that cannot be used at start-up exits with status 2 and the variable named, before reading any blob", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "list.txt");
  writeFileSync(file, "<html>\n");
  const env = {
    FLOWLOGS_STORAGE_CONNECTION_STRING: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1",
    FLOWLOGS_SINK: "stdout", FLOWLOGS_METRICS_PORT: "off", FLOWLOGS_THREAT_LIST_FILE: file,
  };
  const run = await new Promise<{ code: number | null; stderr: string }>((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", "collector/src/cli.ts", "run", "--once"], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env } });
    let stderr = "";
    child.stderr.on("data", (c) => { stderr += String(c); });
    child.once("exit", (code) => done({ code, stderr }));
  });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /run: FLOWLOGS_THREAT_LIST_FILE .*list\.txt: no line is an address or CIDR \(1 bad lines; line 1: "<html>"/);
  assert.doesNotMatch(run.stderr, /blob\.|poll\./, "no blob was read");
});

test("metrics: the list's entries and refused versions, only when a list is configured", () => {
  const metrics = new Metrics();
  assert.doesNotMatch(metrics.render(), /threat_list/);
  metrics.noteThreatList("unchanged", 3);
  metrics.noteThreatList("refused", 3);
  metrics.noteThreatList("reloaded", 5);
  assert.match(metrics.render(), /\n# TYPE flowlogs_threat_list_entries gauge\nflowlogs_threat_list_entries 5\n/);
  assert.match(metrics.render(), /\n# TYPE flowlogs_threat_list_refused_total counter\nflowlogs_threat_list_refused_total 1\n/);
});
