// `npm run demo` end to end with its default settings, on the runner's Elasticsearch (ES_URL, so only one cluster
// runs): its summary reports the exact document count Elasticsearch holds, only the planted detections and the
// connections as Elasticsearch holds them, and it leaves nothing running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { connect } from "node:net";
import { esClient } from "../support/esClient";
import { elasticsearchUrl } from "../support/env";
import { ROOT, countDocuments, waitFor } from "./e2eSupport";
import { demoConversations, type DemoConversation } from "../../scripts/demo/conversations";
import { checkExternalSection } from "../support/externalSection";

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startDemo(args: string[], onStdout?: (text: string, pid: number) => void): Promise<DemoRun> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", ...args], {
    cwd: ROOT, env: { ...process.env, ES_URL: elasticsearchUrl() }, stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => { stdout += String(chunk); onStdout?.(stdout, child.pid!); });
  child.stderr!.on("data", (chunk) => { stderr += String(chunk); });
  return new Promise((done) => child.once("exit", (code) => done({ code, stdout, stderr })));
}

function azuritePort(stderr: string): number {
  const match = /^azurite: http:\/\/127\.0\.0\.1:(\d+)\//m.exec(stderr);
  assert.ok(match, `the demo names its Azurite:\n${stderr}`);
  return Number(match[1]);
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

/** Processes still running whose command line names `needle` (e.g. the demo's Azurite port). */
function processesNaming(needle: string): string[] {
  return execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).split("\n").filter((line) => line.includes(needle) && !line.includes("ps -eo"));
}

async function assertExactCount(run: DemoRun): Promise<number> {
  const indexed = /^ {2}documents indexed +([\d,]+) +\(tuples written: ([\d,]+), all accounted for\)$/m.exec(run.stdout);
  assert.ok(indexed, `the summary reports the documents indexed:\n${run.stdout}`);
  const [documents, written] = [indexed[1], indexed[2]].map((n) => Number(n.replace(/,/g, "")));
  assert.equal(documents, written);
  const stream = /^ {2}data stream +(logs-azure\.flowlogs-\w+)$/m.exec(run.stdout);
  assert.ok(stream, "the summary names its data stream");
  const es = esClient(elasticsearchUrl());
  try {
    assert.equal(await countDocuments(es, stream[1]), documents, "the printed count is what Elasticsearch holds");
  } finally {
    await es.close();
  }
  return documents;
}

/**
 * The "Top connections" table: the demo's long conversations first (records, duration and state sequence known by
 * construction), and every printed row equal to what Elasticsearch's documents of that Community ID say, counted
 * here from the documents themselves (not through the panel's search).
 */
async function assertConnections(run: DemoRun, planted: DemoConversation[]): Promise<void> {
  const lines = section(run.stdout, "Top connections");
  assert.match(lines[0], /community id +records +first seen +last seen +duration +bytes sent +received +states/);
  const rows = lines.slice(1).map((line) => {
    const m = /^ {2}(\S+) +(\d+) +(\d\d:\d\d:\d\d) +(\d\d:\d\d:\d\d) +(\d+) s +([\d,]+) +([\d,]+) {2}(.+)$/.exec(line);
    assert.ok(m, `a connection row: ${JSON.stringify(line)}`);
    const n = (text: string) => Number(text.replace(/,/g, ""));
    return { communityId: m[1], records: n(m[2]), first: m[3], last: m[4], duration: n(m[5]), sent: n(m[6]), received: n(m[7]), states: m[8] };
  });
  assert.equal(rows.length, 10, run.stdout);
  assert.deepEqual(rows.slice(0, planted.length).map(({ records, duration, states }) => ({ records, duration, states })),
    planted.map((c) => ({ records: c.records, duration: c.durationSeconds, states: c.states })), run.stdout);
  const stream = /^ {2}data stream +(logs-azure\.flowlogs-\w+)$/m.exec(run.stdout)![1];
  const es = esClient(elasticsearchUrl());
  try {
    for (const row of rows) {
      const answer = await es.search({ index: stream, size: 1000, query: { term: { "network.community_id": row.communityId } } });
      const docs = answer.hits.hits.map((hit) => hit._source as any);
      const times = docs.map((d) => Date.parse(d["@timestamp"]));
      const count = (state: string) => docs.filter((d) => d.azure?.flowlog?.state === state).length;
      const sequence = ([["begin", "B"], ["continuing", "C"], ["end", "E"], ["deny", "D"]] as const)
        .flatMap(([state, letter]) => (count(state) === 0 ? [] : [count(state) === 1 ? letter : `${letter}×${count(state)}`])).join(" ") || "-";
      const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);
      assert.deepEqual(row, {
        communityId: row.communityId, records: docs.length, first: hhmmss(Math.min(...times)), last: hhmmss(Math.max(...times)),
        duration: Math.round((Math.max(...times) - Math.min(...times)) / 1000),
        sent: docs.reduce((sum, d) => sum + (d.source?.bytes ?? 0), 0), received: docs.reduce((sum, d) => sum + (d.destination?.bytes ?? 0), 0), states: sequence,
      }, `connection ${row.communityId} as Elasticsearch holds it`);
    }
  } finally {
    await es.close();
  }
}

/** The lines of one summary section: from its title line to the next blank line. */
function section(stdout: string, title: string): string[] {
  const lines = stdout.split("\n");
  const start = lines.findIndex((line) => line.startsWith(title));
  assert.ok(start >= 0, `the summary has a section "${title}":\n${stdout}`);
  const end = lines.findIndex((line, i) => i > start && line === "");
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

test("npm run demo with its default settings prints the exact count, the panels and exactly the planted detections, and stops everything it started", async () => {
  // No options: the whole simulated hour at the default rate, and the rules' default thresholds. The dataset's
  // ordinary traffic stays under every threshold; only the planted scan (minute 16) and brute force (minute 46) fire.
  const run = await startDemo([]);
  assert.equal(run.code, 0, run.stderr);
  const documents = await assertExactCount(run);
  assert.ok(documents > 1000, "an hour of five NICs");
  assert.match(run.stderr, /using Elasticsearch at .* \(ES_URL\)/);
  assert.doesNotMatch(run.stderr, /starting Elasticsearch/, "no second cluster");
  assert.match(run.stderr, /^wrote minute 60\/60 /m);
  assert.match(run.stderr, /^planting a port scan from 203\.0\.113\.200 .* in minute 16$/m);
  assert.match(run.stderr, /^planting a brute force from 198\.51\.100\.200 .* in minute 46$/m);
  assert.match(run.stderr, /^indexed [\d,]+ documents in [\d.]+ s$/m);
  for (const title of ["Allowed vs denied per 5 minutes", "Top 10 sources", "Top 10 destinations", "Top 10 destination ports", "Denied flows by rule"]) {
    assert.ok(run.stdout.includes(title), `the summary shows "${title}"`);
  }
  assert.match(run.stdout, /^ {2}throughput +[\d,]+ docs\/s/m);

  // The detections: the two planted attacks with their sources and exact counts, and nothing else.
  const detectionLines = section(run.stdout, "Detections that would fire");
  assert.ok(detectionLines.some((line) => /lacks the module/.test(line)), "the header says the pipeline aggregations were applied in code");
  const detections = detectionLines.map((line) => /^ {2}(port scan|host sweep|brute force|denied spike) +(\S+) +(\d+) (.*)$/.exec(line)).filter((m) => m !== null)
    .map((m) => ({ rule: m![1], source: m![2], count: Number(m![3]), rest: m![4] }));
  assert.deepEqual(detections.map(({ rule, source, count }) => ({ rule, source, count })), [
    { rule: "port scan", source: "203.0.113.200", count: 40 },
    { rule: "brute force", source: "198.51.100.200", count: 36 },
  ], run.stdout);
  // Each rule counts 7 minutes ending 5 minutes before its run (lateArrivalMinutes), every minute. The scan's flows
  // (15:05-15:44 of the hour) reach 21 ports at 15:25: the 21:00 run alerts, and Kibana's signal history leaves
  // them out of the runs after it, which would find them again. One alert.
  assert.match(detections[0].rest, /^distinct destination ports +\(first at \d\d:21Z, 1 alert, found by 1 run\) {2}\[planted\]$/);
  // The brute force's (45:02-45:54, 1.5 s apart) pass 30 at 45:47: the runs from 51:00 (window 39:00-46:00) to 57:00
  // (45:00-52:00) each hold all 36, one alert active over seven runs.
  assert.match(detections[1].rest, /^flows to ports 22, 3389, 1433 +\(first at \d\d:51Z, 1 alert, found by 7 runs\) {2}\[planted\]$/);

  // Rule hits: every flow counted once, under its rule; the brute force's allowed SSH flows on nsg-web.
  const ruleHits = section(run.stdout, "Rule hits").slice(1).map((line) => line.trim().split(/ +/));
  const flowsInTable = ruleHits.reduce((sum, cells) => sum + Number(cells[2].replace(/,/g, "")) + Number(cells[3].replace(/,/g, "")), 0);
  assert.equal(flowsInTable, documents, "allowed + denied over every rule row is every document");
  assert.ok(ruleHits.some((cells) => cells[0] === "NSG-WEB" && cells[1] === "UserRule_AllowSsh" && Number(cells[2]) >= 12), run.stdout);

  await assertConnections(run, demoConversations(60));
  // External traffic: the printed tables and new destinations are Elasticsearch's own aggregations; with the default
  // settings the collector enriches from the shipped databases, so there are rows to compare.
  const external = esClient(elasticsearchUrl());
  try {
    const checked = await checkExternalSection(run.stdout, external, /^ {2}data stream +(\S+)$/m.exec(run.stdout)![1]);
    assert.ok(checked.rows > 0 && checked.newDestinations > 0, `external rows ${checked.rows}, new destinations ${checked.newDestinations}`);
  } finally {
    await external.close();
  }

  const port = azuritePort(run.stderr);
  assert.equal(await listening(port), false, "Azurite stopped");
  assert.deepEqual(processesNaming(`--blobPort ${port}`), [], "no Azurite process left");
});

test("npm run demo --keep keeps Azurite up until Ctrl-C, then stops it", async () => {
  let signalled = false;
  let port = 0;
  let servedWhileKept = false;
  const run = await startDemo(["--minutes", "1", "--records-per-minute", "1", "--keep"], (stdout, pid) => {
    if (signalled || !stdout.includes("Ctrl-C stops everything")) return;
    signalled = true;
    const match = /Azurite blobs +http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout);
    port = Number(match?.[1]);
    // Prove it is still serving, then press Ctrl-C.
    void waitFor("Azurite to answer while kept", () => listening(port), 5_000)
      .then(() => { servedWhileKept = true; }, () => {})
      .finally(() => process.kill(pid, "SIGINT"));
  });
  assert.ok(signalled, `the demo announced it kept running:\n${run.stdout}\n${run.stderr}`);
  assert.equal(run.code, 0, run.stderr);
  await assertExactCount(run);
  assert.ok(servedWhileKept, "Azurite answered while the demo was kept running");
  assert.equal(await listening(port), false, "Azurite stopped after Ctrl-C");
  assert.match(run.stderr, /stopped everything the demo started/);
});

test("npm run demo with a bad option exits 2 naming it", async () => {
  const run = await startDemo(["--minutes", "90"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--minutes "90" is not a whole number from 1 to 60/);
});
