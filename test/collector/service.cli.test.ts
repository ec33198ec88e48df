import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { PassThrough } from "node:stream";
import { DefaultAzureCredential } from "@azure/identity";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";
import { azuriteConnectionString } from "../support/env";
import { startFaultyProxy } from "../support/faultyProxy";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { readFileSync } from "node:fs";
import { runCommand } from "../../collector/src/commands/run";
import { VARIABLES } from "../../collector/src/service/config";
import { createBlobService } from "../../collector/src/source/storage";
import { TokenDeadlineCredential } from "../../collector/src/source/tokenDeadline";
import { startStatusServer } from "../../collector/src/service/httpServer";
import { Metrics } from "../../collector/src/service/metrics";

const root = resolve(__dirname, "../..");
const scratch = scratchContainers(azuriteConnectionString());

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => { out += String(d); });
  stderr.on("data", (d) => { err += String(d); });
  return { io: { stdin: new PassThrough(), stdout, stderr }, text: () => ({ out, err }) };
}

test("run --help lists every setting; a bad setting exits 2 naming the variable", async () => {
  const help = io();
  assert.equal(await runCommand.run(["--help"], help.io), 0);
  assert.match(help.text().out, /FLOWLOGS_STORAGE_ACCOUNT_URL/);
  assert.match(help.text().out, /FLOWLOGS_LEASE_SECONDS/);
  const saved = { ...process.env };
  try {
    for (const key of Object.keys(process.env)) if (key.startsWith("FLOWLOGS_")) delete process.env[key];
    process.env.FLOWLOGS_STORAGE_CONNECTION_STRING = "UseDevelopmentStorage=maybe";
    const bad = io();
    assert.equal(await runCommand.run(["--once"], bad.io), 2);
    assert.match(bad.text().err, /FLOWLOGS_STORAGE_CONNECTION_STRING does not look like a storage connection string/);
    assert.ok(!bad.text().err.includes("maybe"), "the value of a secret is not echoed");
    const usage = io();
    assert.equal(await runCommand.run(["--twice"], usage.io), 2);
    assert.match(usage.text().err, /unknown argument "--twice"/);
  } finally {
    process.env = saved;
  }
});

test("the service README documents every environment variable the configuration reads", () => {
  const readme = readFileSync(resolve(root, "collector/src/service/README.md"), "utf8");
  for (const [name, text] of Object.entries(VARIABLES)) assert.ok(readme.includes(`| \`${name}\` | ${text.replace(/\|/g, "\\|")} |`), `${name} is missing or stale in the README table`);
});

test("contract: with an account URL the collector authenticates with DefaultAzureCredential, never a key, its tokens under the storage deadline", () => {
  const client = createBlobService({ accountUrl: "https://acct.blob.core.windows.net", managedIdentityClientId: "11111111-2222-3333-4444-555555555555" }, 45_000);
  assert.equal(client.url, "https://acct.blob.core.windows.net/");
  assert.ok(client.credential instanceof TokenDeadlineCredential);
  assert.ok(client.credential.credential instanceof DefaultAzureCredential);
  assert.equal(client.credential.ms, 45_000);
  assert.equal(client.accountName, "acct");
});

test("`flowlogs-collector run --once` with the stdout sink prints a bulk action and a document per tuple", async () => {
  const source = scratch.container("cli-src");
  const checkpoints = scratch.container("cli-cp");
  await source.create();
  const writer = new FlowLogBlobWriter(source, { kind: "nsg-v2", hour: new Date("2026-11-20T09:00:00Z"), seed: 31 });
  for (let i = 0; i < 3; i++) await writer.appendMinute({ records: 2 });
  const child = spawn(process.execPath, ["--import", "tsx", "collector/src/cli.ts", "run", "--once"], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
      FLOWLOGS_CONTAINERS: source.containerName,
      FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
      FLOWLOGS_SINK: "stdout",
      FLOWLOGS_METRICS_PORT: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => { out += String(d); });
  child.stderr!.on("data", (d) => { err += String(d); });
  const status = await new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  assert.equal(status, 0, err);
  const lines = out.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.equal(lines.length, 2 * writer.tuples);
  assert.equal(lines.filter((l) => l.create).length, writer.tuples);
  assert.equal(lines[0].create._index, "logs-azure.flowlogs-default");
  const events = err.trimEnd().split("\n").map((line) => JSON.parse(line).event);
  assert.ok(events.includes("collector.start") && events.includes("blob.read.end") && events.includes("collector.stop"), events.join(","));
  assert.ok(!err.includes("AccountKey="), "no storage key in logs");
});

test("/healthz answers 503 after three poll intervals without progress, 200 once a batch or poll completes", async () => {
  const metrics = new Metrics();
  const server = await startStatusServer(metrics, "127.0.0.1", 0, 60, Date.now() - 181_000);
  try {
    const stalled = await fetch(`${server.url}/healthz`);
    assert.equal(stalled.status, 503);
    assert.equal(((await stalled.json()) as { status: string }).status, "stalled");
    metrics.lastProgress = Date.now();
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/metrics`, { method: "POST" })).status, 405);
  } finally {
    await server.close();
  }
});

test("lag is the age of the oldest data seen changed and not yet read", () => {
  const metrics = new Metrics();
  const now = Date.parse("2026-11-20T10:30:00Z");
  assert.equal(metrics.lagSeconds(now), 0);
  metrics.pendingSince.set("c/a", now - 30_000);
  metrics.pendingSince.set("c/b", now - 90_000);
  assert.equal(metrics.lagSeconds(now), 90);
  assert.match(metrics.render(now), /^flowlogs_lag_seconds 90$/m);
  assert.match(metrics.render(now), /^flowlogs_blobs_pending 2$/m);
});

test("the service stopped by SIGTERM exits 0 although it waited out an error on the way (its usage: 0 when stopped by a signal)", async () => {
  const source = scratch.container("sig-src");
  await source.create();
  await new FlowLogBlobWriter(source, { kind: "nsg-v2", hour: new Date("2026-11-20T09:00:00Z"), seed: 3 }).appendMinute({ records: 1, tuplesPerRecord: 2 });
  let listings = 0;
  // The first listing of the source answers 400 (a hiccup, counted as an error); later polls read the blob.
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method, path }) =>
    method === "GET" && path.includes(`/${source.containerName}?`) && path.includes("comp=list") && listings++ === 0 ? { status: 400 } : "forward");
  const saved = { ...process.env };
  try {
    for (const key of Object.keys(process.env)) if (key.startsWith("FLOWLOGS_")) delete process.env[key];
    Object.assign(process.env, {
      FLOWLOGS_STORAGE_CONNECTION_STRING: viaProxy(azuriteConnectionString(), proxy.url), FLOWLOGS_CONTAINERS: source.containerName,
      FLOWLOGS_CHECKPOINT_CONTAINER: scratch.container("sig-cp").containerName, FLOWLOGS_SINK: "stdout", FLOWLOGS_METRICS_PORT: "off",
      FLOWLOGS_POLL_INTERVAL_SECONDS: "1", FLOWLOGS_GEOIP: "off",
    });
    const run = io();
    let signalled = false;
    run.io.stderr.on("data", () => {
      // Once a poll has read the blob, the platform stops the container (a deploy, a scale-in).
      if (!signalled && run.text().err.includes('"event":"blob.read.end"')) {
        signalled = true;
        setTimeout(() => process.emit("SIGTERM"), 100);
      }
    });
    assert.equal(await runCommand.run([], run.io), 0);
    assert.match(run.text().err, /"event":"list.failed"/, "the error it waited out");
  } finally {
    process.env = saved;
    await proxy.stop();
  }
});

test("`run --once` whose stdout reader goes away exits 1, not 0, and releases its leases (the blobs are read by the next run)", async () => {
  const source = scratch.container("epipe-src");
  await source.create();
  const writers = [1, 2].map((seed) => new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T09:00:00Z"), seed, mac: `000D3A00000${seed}` }));
  for (const writer of writers) for (let i = 0; i < 4; i++) await writer.appendMinute({ records: 2, tuplesPerRecord: 200 });
  const env = {
    PATH: process.env.PATH, FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(), FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: scratch.container("epipe-cp").containerName, FLOWLOGS_SINK: "stdout", FLOWLOGS_METRICS_PORT: "off",
    FLOWLOGS_GEOIP: "off", FLOWLOGS_LEASE_SECONDS: "60",
  };
  const runOnce = (keepReading: boolean) => new Promise<{ status: number | null; out: string; err: string }>((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", "collector/src/cli.ts", "run", "--once"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr!.on("data", (d) => { err += String(d); });
    child.stdout!.on("data", (d: Buffer) => {
      out += String(d);
      // A consumer that reads 64 KB and goes away (it crashed, or `| head -c 65536`).
      if (!keepReading && out.length >= 65_536) child.stdout!.destroy();
    });
    child.once("exit", (status) => done({ status, out, err }));
  });
  const cut = await runOnce(false);
  assert.equal(cut.status, 1, "the pass did not finish");
  assert.match(cut.err, /"event":"collector.stop"/, "it stopped through its own finally blocks");
  // Within the 60 s leases: a lease left held would make the next pass skip that blob as busy.
  const again = await runOnce(true);
  assert.equal(again.status, 0);
  const ids = new Set(again.out.split("\n").filter((line) => line.startsWith('{"create"')).map((line) => (JSON.parse(line) as { create: { _id: string } }).create._id));
  assert.equal(ids.size, writers.reduce((n, w) => n + w.tuples, 0), "every tuple printed by the second pass");
});
