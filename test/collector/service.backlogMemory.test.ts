// The first listing of a collector switched on over days of flow logs, measured on the heap of a child process: with
// the scheduler's bound on unread blobs of past hours (pollListing.ts, BACKLOG_BLOBS_PER_POLL; 1,000 here) what the poll
// holds stays small however many were listed; holding every one, as before the bound, costs about 800 bytes a blob
// (which ran the image's 128 MB heap out at about 130,000: service README, "Backlog"). The real SDK parses real
// listing pages from an Azurite of the test's own: thousands of blobs slow the shared one down for the other tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { imageNode } from "../support/env";
import { startAzurite } from "../support/azurite";
import { forEachLimited } from "../../collector/src/service/jobBudget";

const BLOBS = 12_000;
const BOUND = 1_000;
const NICS = 400;

function blobName(i: number): string {
  const hour = new Date(Date.UTC(2026, 10, 20, 0) - Math.floor(i / NICS) * 3_600_000);
  const two = (n: number) => String(n).padStart(2, "0");
  return "flowLogResourceID=/1A2B3C4D-0000-1111-2222-333344445555_NETWORKWATCHERRG/NETWORKWATCHER_WESTEUROPE_VNET-PROD-FLOWLOG/" +
    `y=${hour.getUTCFullYear()}/m=${two(hour.getUTCMonth() + 1)}/d=${two(hour.getUTCDate())}/h=${two(hour.getUTCHours())}/m=00/` +
    `macAddress=000D3A${(i % NICS).toString(16).padStart(6, "0").toUpperCase()}/PT1H.json`;
}

/**
 * One poll of the service in a child on the image's Node.js (its jobs stopped as the first starts), and the heap it
 * holds as the poll ends, over what it held before it started (both after full collections).
 */
async function firstPoll(connectionString: string, source: string, checkpoints: string, backlogBlobsPerPoll: number) {
  const script = `
    const { runCollector } = require(${JSON.stringify(resolve(__dirname, "../../collector/src/service/collector.ts"))});
    const { loadConfig } = require(${JSON.stringify(resolve(__dirname, "../../collector/src/service/config.ts"))});
    const controller = new AbortController();
    const sink = { async write(batch) { return { indexed: batch.length, duplicates: 0, deadLettered: 0, retries: 0 }; }, async deadLetter() {}, async close() {} };
    let pollEnd;
    let heldMb;
    const config = loadConfig(process.env);
    gc(); gc();
    const before = process.memoryUsage().heapUsed;
    runCollector({
      config, sink, signal: controller.signal, writeLog: () => {}, enrichment: null,
      now: () => Date.parse("2026-11-20T06:00:00Z"), backlogBlobsPerPoll: ${backlogBlobsPerPoll},
      onEvent: (e) => {
        if (e.event === "blob.read.start") controller.abort();
        if (e.event === "poll.end") { pollEnd = e; gc(); gc(); heldMb = (process.memoryUsage().heapUsed - before) / 1048576; }
      },
    }).then(() => process.stdout.write(JSON.stringify({ candidates: pollEnd.candidates, left: pollEnd.leftForNextPoll, listed: pollEnd.listed, heldMb }) + "\\n"));
  `;
  const child = spawn(imageNode(), ["--expose-gc", "--import", "tsx", "-e", script], {
    env: {
      ...process.env,
      FLOWLOGS_STORAGE_CONNECTION_STRING: connectionString,
      FLOWLOGS_CONTAINERS: source,
      FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints,
      FLOWLOGS_SINK: "stdout",
      FLOWLOGS_METRICS_PORT: "off",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let errors = "";
  child.stdout!.on("data", (data) => { output += String(data); });
  child.stderr!.on("data", (data) => { errors += String(data); });
  const status = await new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  assert.equal(status, 0, errors.slice(-2000));
  return JSON.parse(output) as { candidates: number; left?: number; listed: number; heldMb: number };
}

test(`a first listing of ${BLOBS.toLocaleString("en")} unread blobs of past hours holds ${BOUND.toLocaleString("en")} of them with the bound, a few MB of heap; holding them all costs about 800 bytes a blob`, { timeout: 600_000 }, async () => {
  const azurite = await startAzurite();
  try {
    const source = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("backlog");
    await source.create();
    const body = Buffer.from('{"records":[]}');
    await forEachLimited(Array.from({ length: BLOBS }, (_, i) => i), 64, async (i) => {
      await source.getBlockBlobClient(blobName(i)).upload(body, body.length);
    });
    const bounded = await firstPoll(azurite.connectionString, "backlog", "checkpoints-bounded", BOUND);
    const unbounded = await firstPoll(azurite.connectionString, "backlog", "checkpoints-unbounded", Infinity);
    console.log(`held as the first poll ends: ${bounded.heldMb.toFixed(1)} MB with the bound, ${unbounded.heldMb.toFixed(1)} MB without`);
    assert.deepEqual({ ...bounded, heldMb: undefined }, { candidates: BOUND, left: BLOBS - BOUND, listed: BLOBS, heldMb: undefined });
    assert.deepEqual({ ...unbounded, heldMb: undefined }, { candidates: BLOBS, listed: BLOBS, heldMb: undefined });
    assert.ok(bounded.heldMb < 5, `${bounded.heldMb} MB held with the bound`);
    const perBlob = (unbounded.heldMb - bounded.heldMb) * 1048576 / (BLOBS - BOUND);
    assert.ok(perBlob > 400 && perBlob < 2_000, `${perBlob.toFixed(0)} bytes per blob held beyond the bound`);
  } finally {
    await azurite.stop();
  }
});
