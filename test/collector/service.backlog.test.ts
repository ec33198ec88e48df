// A listing that finds more unread blobs of older hours than the collector takes on per poll (BACKLOG_BLOBS_PER_POLL,
// here 3): it takes that many, in listing order, plus the hours still being written; later polls list on from the
// page that held the first blob left (a full listing's) or list wide again (a wide listing's). Everything is read
// exactly once in the end, in the service and in a one-pass run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "../support/env";
import { startFaultyProxy } from "../support/faultyProxy";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector, type RunOptions } from "../../collector/src/service/collector";
import type { CollectorConfig } from "../../collector/src/service/config";
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

/**
 * The service for `count` polls, holding 3 blobs of older hours, full listings in pages of 2 blobs; what it wrote and
 * logged, and after which polls it paused (none while a backlog it left moves).
 */
async function pollsOfThree(config: CollectorConfig, count: number, options: Partial<RunOptions> = {}) {
  const sink = new RecordingSink();
  const events: LogEvent[] = [];
  const controller = new AbortController();
  const pausedAfter: number[] = [];
  const polled = () => events.filter((e) => e.event === "poll.end").length;
  await runCollector({
    config, sink, blobService: scratch.service, writeLog: () => {}, now: () => NOW, signal: controller.signal,
    onEvent: (e) => {
      events.push(e);
      if (e.event === "poll.end" && polled() === count) controller.abort();
    },
    backlogBlobsPerPoll: 3, fullListingBelowBlobs: 0, fullListingPageBlobs: 2, ...options,
    sleep: async () => { pausedAfter.push(polled()); },
  });
  return { sink, events, pausedAfter };
}

async function assertEachTupleOnce(sink: RecordingSink, writers: FlowLogBlobWriter[]): Promise<void> {
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds(writers));
  assert.equal(sink.documents.size, writers.reduce((n, w) => n + w.tuples, 0), "each tuple once");
}

test("backlog, service: each poll takes 3 blobs of older hours and the current hour's, the polls after the full listing list on from where it left blobs, at once, then only the recent hours", async () => {
  const { writers, current, config } = await estate("backlog-svc");
  const sink = new RecordingSink();
  const events: LogEvent[] = [];
  const controller = new AbortController();
  const pausedAfter: number[] = [];
  const summary = await runCollector({
    config, sink, blobService: scratch.service, writeLog: () => {}, onEvent: (e) => events.push(e), now: () => NOW, signal: controller.signal,
    backlogBlobsPerPoll: 3, fullListingBelowBlobs: 0,
    sleep: async () => {
      pausedAfter.push(events.filter((e) => e.event === "poll.end").length);
      if (pausedAfter.length === 1) await current.appendMinute({ records: 1 }); // the current hour grows meanwhile
      if (pausedAfter.length === 2) controller.abort();
    },
  });
  assert.deepEqual(polls(events), [
    ["full", 4, 4], // 3 of the backlog and the current hour's blob; 4 left
    ["recent", 3, 1], // at once: 3 more (the listing goes on from its one page)
    ["recent", 1, undefined], // the last one
    ["recent", 1, undefined], // a poll interval later: only the recent hours, where the current blob grew
  ]);
  assert.deepEqual(pausedAfter, [3, 4], "no poll interval slept while blobs left for later were being read");
  await assertEachTupleOnce(sink, writers);
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
    async () => {}, // after the second wide listing: none after the first, which left blobs and read some
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
  await assertEachTupleOnce(sink, [current, ...late]);
});

for (const [status, title, resumedAfter] of [
  [409, "the poll after it goes on from the same page", 6],
  [400, "refused as a bad request, the poll after it goes on from the first page", 8],
] as const) {
  test(`backlog, failed resumption (${status}): the blobs left stay known; ${title}`, async () => {
    const { writers, config } = await estate(`backlog-failed-${status}`);
    let flatListings = 0; // pages of the full listing and of its resumptions (the recent hours are listed under a prefix)
    const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method, path }) =>
      method === "GET" && path.includes(`/${config.containers[0]}?`) && path.includes("comp=list") && !path.includes("prefix=") && ++flatListings === 5
        ? { status } : "forward");
    let run;
    try {
      run = await pollsOfThree(config, 4, { blobService: BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url)) });
    } finally {
      await proxy.stop();
    }
    const { sink, events, pausedAfter } = run;
    // Pages of 2: h1 h2 | h3 h4 | h5 h6 | h7 and the current hour's blob.
    assert.deepEqual(events.filter((e) => e.event === "poll.end").map((e) => [e.listing, e.resumed, e.candidates, e.leftForNextPoll]), [
      ["full", undefined, 4, 4], // h1-h3 and the current blob; h4 (page 2) first of the 4 left
      ["recent", 0, 0, 4], // the resumption's first page failed: the 4 left are still known
      ["recent", resumedAfter, 3, 1], // from page 2 (or 1) to page 4: h4-h6 taken, h7 left
      ["recent", 2, 1, undefined],
    ]);
    assert.equal(events.filter((e) => e.event === "list.failed").length, 1);
    assert.equal(events.filter((e) => e.event === "list.resume.restarted").length, status === 400 ? 1 : 0);
    assert.deepEqual(pausedAfter, [2], "a poll that read none of the backlog waits its interval");
    await assertEachTupleOnce(sink, writers);
  });
}

test("backlog, one pass: a run --once reads every blob, in polls of 3 from the backlog, and stops when nothing is left", async () => {
  const { writers, config } = await estate("backlog-once");
  const sink = new RecordingSink();
  const events: LogEvent[] = [];
  await runCollector({ config, sink, once: true, blobService: scratch.service, writeLog: () => {}, onEvent: (e) => events.push(e), now: () => NOW, backlogBlobsPerPoll: 3 });
  assert.deepEqual(polls(events), [["full", 4, 4], ["recent", 3, 1], ["recent", 1, undefined]]);
  await assertEachTupleOnce(sink, writers);
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
  const pending: number[] = [];
  let url = "";
  await runCollector({
    config: { ...config, metricsHost: "127.0.0.1", metricsPort: 0 }, sink: down, blobService: scratch.service, writeLog: () => {},
    onEvent: (e) => events.push(e), onListening: (u) => { url = u; }, now: () => NOW, backlogBlobsPerPoll: 3, fullListingBelowBlobs: 0,
    signal: controller.signal,
    sleep: async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      pending.push(Number(/^flowlogs_blobs_pending (\d+)$/m.exec(metrics)?.[1]));
      if (pending.length === 3) controller.abort();
    },
  });
  // The same 3 of the backlog (pending) and the current hour's blob, tried again each poll; no new ones taken on, and
  // a poll interval between polls, as nothing moves.
  assert.deepEqual(polls(events), [["full", 4, 4], ["recent", 4, 4], ["recent", 4, 4]]);
  assert.deepEqual(pending, [8, 8, 8], "flowlogs_blobs_pending: the 4 held and the 4 left for later");
  const once: LogEvent[] = [];
  await runCollector({ config, sink: down, once: true, blobService: scratch.service, writeLog: () => {}, onEvent: (e) => once.push(e), now: () => NOW, backlogBlobsPerPoll: 3 })
    .catch(() => {});
  assert.deepEqual(polls(once), [["full", 4, 4]], "nothing resolved: one poll, not a loop");
});

test("backlog, resumed listing: the polls after the full listing list from the page that held the first blob it left, not from the first page", async () => {
  const source = scratch.container("backlog-resume");
  await source.create();
  const config = azuriteCollectorConfig(source, scratch.container("backlog-resume-cp"));
  // Two NICs' blobs of hours 01:00-06:00 (in name order: by hour, then MAC) and one of the current hour: 7 pages of 2.
  const old = [1, 2, 3, 4, 5, 6].flatMap((h) => ["000D3A0000A1", "000D3A0000A2"].map((mac, i) => new FlowLogBlobWriter(source, {
    kind: "vnet-v4", hour: new Date(Date.UTC(2026, 10, 20, h)), seed: 10 * h + i, mac,
  })));
  const current = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 9, mac: "000D3A000009" });
  for (const writer of [...old, current]) await writer.appendMinute({ records: 1 });
  const { sink, events, pausedAfter } = await pollsOfThree(config, 5);
  assert.deepEqual(events.filter((e) => e.event === "poll.end").map((e) => [e.listing, e.listed, e.resumed, e.candidates, e.leftForNextPoll]), [
    ["full", 13, undefined, 4, 9], // h1 ×2 and h2 of the first NIC, and the current blob; 9 left, the first on page 2
    ["recent", 7, 6, 3, 6], // the current blob (recent hours), then pages 2-4: h2's second, h3 ×2; h4's first left
    ["recent", 5, 4, 3, 3], // pages 4-5: h4 ×2, h5's first; h5's second left
    ["recent", 6, 5, 3, undefined], // pages 5-7: h5's second, h6 ×2, the current blob, the end: nothing left
    ["recent", 1, undefined, 0, undefined],
  ]);
  assert.deepEqual(pausedAfter, [4], "the backlog's polls follow each other at once");
  await assertEachTupleOnce(sink, [...old, current]);
});

test("backlog, two containers: each goes on from its own page; the hold is shared, so the second waits until the first is taken", async () => {
  const [first, second] = [scratch.container("backlog-two-a"), scratch.container("backlog-two-b")];
  const writers: FlowLogBlobWriter[] = [];
  for (const [c, source] of [first, second].entries()) {
    await source.create();
    for (const h of [1, 2, 3, 4]) {
      writers.push(new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date(Date.UTC(2026, 10, 20, h)), seed: 10 * c + h, mac: `000D3A0000${c}${h}` }));
    }
  }
  for (const writer of writers) await writer.appendMinute({ records: 1 });
  const config = azuriteCollectorConfig(first, scratch.container("backlog-two-cp"), { FLOWLOGS_CONTAINERS: `${first.containerName},${second.containerName}` });
  const { sink, events } = await pollsOfThree(config, 3);
  assert.deepEqual(events.filter((e) => e.event === "poll.end").map((e) => [e.listing, e.resumed, e.candidates, e.leftForNextPoll]), [
    ["full", undefined, 3, 5], // the first's h1-h3; its h4 (page 2) and all of the second's (from page 1) left
    ["recent", 6, 3, 2], // the first from page 2 (h3, h4: its end), the second from page 1 (h1, h2) to page 2 (h3, h4 left)
    ["recent", 2, 2, undefined], // the second from page 2: h3, h4, its end
  ]);
  await assertEachTupleOnce(sink, writers);
});
