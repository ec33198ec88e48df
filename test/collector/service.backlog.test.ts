// A listing that finds more unread blobs of older hours than the collector takes on per poll (BACKLOG_BLOBS_PER_POLL,
// here 3): it takes that many, in listing order, plus the hours still being written, and the next poll lists again.
// Everything is read exactly once in the end, in the service and in a one-pass run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "../support/env";
import { startFaultyProxy } from "../support/faultyProxy";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector } from "../../collector/src/service/collector";
import { azuriteCollectorConfig } from "./azuriteCollectorConfig";
import type { LogEvent } from "../../collector/src/service/logger";
import type { Sink } from "../../collector/src/model";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";

const scratch = scratchContainers(azuriteConnectionString());
const NOW = Date.parse("2026-11-20T10:05:00Z");

/** Seven NICs' blobs of hours 01:00-07:00 (a backlog) and one of the current hour, each with one minute written. */
async function estate(name: string) {
  const source = scratch.container(name);
  await source.create();
  const old = [1, 2, 3, 4, 5, 6, 7].map((h) => new FlowLogBlobWriter(source, {
    kind: "vnet-v4", hour: new Date(Date.UTC(2026, 10, 20, h)), seed: h, mac: `000D3A00000${h}`,
  }));
  const current = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 9, mac: "000D3A000009" });
  for (const writer of [...old, current]) await writer.appendMinute({ records: 1 });
  const config = azuriteCollectorConfig(source, scratch.container(`${name}-cp`));
  return { writers: [...old, current], current, config };
}

const polls = (events: LogEvent[]) => events.filter((e) => e.event === "poll.end").map((e) => [e.listing, e.candidates, e.leftForNextPoll]);

test("backlog, service: each poll takes 3 blobs of older hours and the current hour's, lists in full again while blobs were left, then goes back to recent listings", async () => {
  const { writers, current, config } = await estate("backlog-svc");
  const sink = new RecordingSink();
  const events: LogEvent[] = [];
  const controller = new AbortController();
  const pending: number[] = [];
  let url = "";
  let polled = 0;
  const summary = await runCollector({
    config: { ...config, metricsHost: "127.0.0.1", metricsPort: 0 }, sink, blobService: scratch.service, writeLog: () => {},
    onEvent: (e) => events.push(e), onListening: (u) => { url = u; }, now: () => NOW, signal: controller.signal,
    backlogBlobsPerPoll: 3, fullListingBelowBlobs: 0,
    sleep: async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      pending.push(Number(/^flowlogs_blobs_pending (\d+)$/m.exec(metrics)?.[1]));
      if (++polled === 1) await current.appendMinute({ records: 1 }); // the current hour grows meanwhile
      if (polled === 4) controller.abort();
    },
  });
  assert.deepEqual(polls(events), [
    ["full", 4, 4], // 3 of the backlog and the current hour's blob; 4 left
    ["full", 4, 1], // 3 more, and the current blob, which grew
    ["full", 1, undefined], // the last one
    ["recent", 0, undefined], // nothing left: back to the recent hours
  ]);
  assert.deepEqual(pending, [4, 1, 0, 0], "flowlogs_blobs_pending counts the blobs left for later");
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds(writers));
  assert.equal(sink.documents.size, writers.reduce((n, w) => n + w.tuples, 0), "each tuple once");
  assert.equal(summary.metrics.duplicates, 0);
});

test("backlog, wide listing: blobs a wide listing left for later are listed wide again by the next poll, then polls go back to recent listings", async () => {
  const source = scratch.container("backlog-wide");
  await source.create();
  const config = azuriteCollectorConfig(source, scratch.container("backlog-wide-cp"), { FLOWLOGS_FULL_LISTING_MINUTES: "30" });
  const current = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 9, mac: "000D3A000009" });
  await current.appendMinute({ records: 1 });
  // Written after the first (full) listing, in hours it does not list again until a wide one: late blobs of a NIC.
  const late = [5, 6, 7, 8, 9].map((h) => new FlowLogBlobWriter(source, {
    kind: "vnet-v4", hour: new Date(Date.UTC(2026, 10, 20, h)), seed: 20 + h, mac: `000D3A0000${20 + h}`,
  }));
  let now = NOW;
  const sink = new RecordingSink();
  const events: LogEvent[] = [];
  const controller = new AbortController();
  const steps: Array<() => Promise<void>> = [
    async () => { for (const writer of late) await writer.appendMinute({ records: 1 }); now += 31 * 60_000; },
    async () => {},
    async () => {},
    async () => controller.abort(),
  ];
  await runCollector({
    config, sink, blobService: scratch.service, writeLog: () => {}, onEvent: (e) => events.push(e), now: () => now, signal: controller.signal,
    backlogBlobsPerPoll: 3, fullListingBelowBlobs: 0, sleep: () => steps.shift()!(),
  });
  assert.deepEqual(polls(events), [
    ["full", 1, undefined], // the current hour's blob
    ["wide", 3, 2], // 3 of the 5 late blobs of past hours; the current blob is caught up
    ["wide", 2, undefined], // the other 2
    ["recent", 0, undefined],
  ]);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([current, ...late]));
  assert.equal(sink.documents.size, [current, ...late].reduce((n, w) => n + w.tuples, 0));
});

test("backlog, failed listing: the blobs the last listing left stay known, so the poll after a failed one lists in full again", async () => {
  const { writers, config } = await estate("backlog-failed-list");
  let sourceListings = 0;
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method, path }) =>
    method === "GET" && path.includes(`/${config.containers[0]}?`) && path.includes("comp=list") && ++sourceListings === 2 ? { status: 400 } : "forward");
  const sink = new RecordingSink();
  const events: LogEvent[] = [];
  const controller = new AbortController();
  let polled = 0;
  try {
    await runCollector({
      config, sink, blobService: BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url)), writeLog: () => {},
      onEvent: (e) => events.push(e), now: () => NOW, signal: controller.signal, backlogBlobsPerPoll: 3, fullListingBelowBlobs: 0,
      sleep: async () => { if (++polled === 4) controller.abort(); },
    });
  } finally {
    await proxy.stop();
  }
  assert.deepEqual(polls(events), [
    ["full", 4, 4],
    ["full", 0, 4], // the listing failed (400): nothing listed, the 4 left are still known
    ["full", 3, 1],
    ["full", 1, undefined],
  ]);
  assert.equal(events.filter((e) => e.event === "list.failed").length, 1);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds(writers));
  assert.equal(sink.documents.size, writers.reduce((n, w) => n + w.tuples, 0));
});

test("backlog, one pass: a run --once reads every blob, in polls of 3 from the backlog, and stops when nothing is left", async () => {
  const { writers, config } = await estate("backlog-once");
  const sink = new RecordingSink();
  const events: LogEvent[] = [];
  await runCollector({ config, sink, once: true, blobService: scratch.service, writeLog: () => {}, onEvent: (e) => events.push(e), now: () => NOW, backlogBlobsPerPoll: 3 });
  assert.deepEqual(polls(events), [["full", 4, 4], ["full", 3, 1], ["full", 1, undefined]]);
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds(writers));
  assert.equal(sink.documents.size, writers.reduce((n, w) => n + w.tuples, 0));
});

test("backlog, during a sink outage: the blobs held stay at 3 and the current hour's, however many polls; a run --once ends when a poll resolves none", async () => {
  const { config } = await estate("backlog-fail");
  const down: Sink = {
    async write() { throw new Error("the cluster is down"); },
    async deadLetter() { throw new Error("the cluster is down"); },
    async close() {},
  };
  const events: LogEvent[] = [];
  const controller = new AbortController();
  let polled = 0;
  await runCollector({
    config, sink: down, blobService: scratch.service, writeLog: () => {}, onEvent: (e) => events.push(e), now: () => NOW,
    backlogBlobsPerPoll: 3, fullListingBelowBlobs: 0, signal: controller.signal,
    sleep: async () => { if (++polled === 3) controller.abort(); },
  });
  // The same 3 of the backlog (pending) and the current hour's blob, tried again each poll; no new ones taken on.
  assert.deepEqual(polls(events), [["full", 4, 4], ["full", 4, 4], ["full", 4, 4]]);
  const once: LogEvent[] = [];
  await runCollector({ config, sink: down, once: true, blobService: scratch.service, writeLog: () => {}, onEvent: (e) => once.push(e), now: () => NOW, backlogBlobsPerPoll: 3 })
    .catch(() => {});
  assert.deepEqual(polls(once), [["full", 4, 4]], "nothing resolved: one poll, not a loop");
});
