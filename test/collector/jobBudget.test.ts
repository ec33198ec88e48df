// How many blob jobs run at once (collector/src/service/jobBudget.ts), and shared bulk requests waiting for the
// writers under way at each write (bulkCoalescer.ts with `writers` as a function).
import { test } from "node:test";
import assert from "node:assert/strict";
import { forEachWithinBudget, jobReservation, MIN_RESERVATION, RESERVED_PER_NEW_BYTE } from "../../collector/src/service/jobBudget";
import { BulkCoalescer, type SharedWrite } from "../../collector/src/sink/bulkCoalescer";
import { BulkRequest } from "../../collector/src/sink/bulkRequest";

const WINDOW = 4 << 20;
const created = new Date("2026-11-20T11:00:00Z");

test("a job reserves a whole window unless its new data is known from where this process caught the same blob version up", () => {
  const listed = { contentLength: 100_000, createdOn: created };
  assert.equal(jobReservation(listed, undefined, WINDOW), WINDOW, "never caught up here (first poll, after a restart)");
  assert.equal(jobReservation({ createdOn: created }, { offset: 10, createdOn: created.toISOString() }, WINDOW), WINDOW, "length not listed");
  assert.equal(jobReservation(listed, { offset: 90_000, createdOn: "2026-11-20T10:00:00.000Z" }, WINDOW), WINDOW, "re-created: read from the start");
  assert.equal(jobReservation(listed, { offset: 120_000, createdOn: created.toISOString() }, WINDOW), WINDOW, "shorter than where it was read to");
  assert.equal(jobReservation(listed, { offset: 70_000, createdOn: created.toISOString() }, WINDOW), RESERVED_PER_NEW_BYTE * 30_000, "a minute's append");
  assert.equal(jobReservation(listed, { offset: 99_990, createdOn: created.toISOString() }, WINDOW), MIN_RESERVATION, "at least the fixed costs");
  assert.equal(jobReservation({ contentLength: 50_000_000, createdOn: created }, { offset: 0, createdOn: created.toISOString() }, WINDOW), WINDOW, "at most a window");
  assert.equal(jobReservation(listed, { offset: 70_000 }, WINDOW), RESERVED_PER_NEW_BYTE * 30_000, "a checkpoint without a creation time");
});

/** Runs `costs` through the scheduler; each job takes `ms(i)`; returns the most reserved and the most jobs at once. */
async function schedule(costs: number[], budget: number, maxJobs: number, ms: (i: number) => number) {
  let reserved = 0;
  let jobs = 0;
  const peak = { reserved: 0, jobs: 0 };
  const started: number[] = [];
  const running = { count: 0 };
  const counts: number[] = [];
  await forEachWithinBudget(costs.map((cost, i) => ({ cost, i })), budget, maxJobs, (item) => item.cost, async ({ cost, i }) => {
    started.push(i);
    reserved += cost;
    jobs++;
    counts.push(running.count);
    peak.reserved = Math.max(peak.reserved, reserved);
    peak.jobs = Math.max(peak.jobs, jobs);
    await new Promise((resolve) => setTimeout(resolve, ms(i)));
    reserved -= cost;
    jobs--;
  }, running);
  return { peak, started, counts, runningAfter: running.count };
}

test("the budget: big jobs FLOWLOGS_CONCURRENCY at a time, small ones together up to the job cap, a job over the budget alone, in order", async () => {
  const budget = 4 * WINDOW;
  const big = await schedule(Array(10).fill(WINDOW), budget, 16, (i) => 5 + (i % 3));
  assert.deepEqual(big.peak, { reserved: budget, jobs: 4 }, "unknown or large: four at once, as FLOWLOGS_CONCURRENCY 4 always ran");
  assert.deepEqual(big.started, [...Array(10).keys()]);
  const small = await schedule(Array(40).fill(MIN_RESERVATION * 2), budget, 16, () => 5);
  assert.equal(small.peak.jobs, 16, "small jobs: the cap, not the budget, limits them");
  assert.deepEqual(small.started, [...Array(40).keys()]);
  const mixed = await schedule([WINDOW, WINDOW, WINDOW, MIN_RESERVATION, MIN_RESERVATION, WINDOW, MIN_RESERVATION], budget, 16, () => 5);
  assert.ok(mixed.peak.reserved <= budget, `reserved at most the budget (${mixed.peak.reserved})`);
  assert.deepEqual(mixed.started, [0, 1, 2, 3, 4, 5, 6], "started in the order given");
  const oversized = await schedule([MIN_RESERVATION, 10 * WINDOW, MIN_RESERVATION], budget, 16, () => 5);
  assert.equal(oversized.peak.reserved, 10 * WINDOW, "a job reserving more than the budget still runs, alone");
  assert.ok(oversized.counts.every((count) => count >= 1) && oversized.runningAfter === 0, "running.count follows the jobs under way");
});

test("the budget: a failed job stops new starts; the jobs already running end before the failure is thrown", async () => {
  const ended: number[] = [];
  const error = await forEachWithinBudget([0, 1, 2, 3, 4, 5], 2, 16, () => 1, async (i) => {
    await new Promise((resolve) => setTimeout(resolve, i === 0 ? 5 : 30));
    ended.push(i);
    if (i === 0) throw new Error("job 0 failed");
  }).then(() => undefined, (e: Error) => e);
  assert.match(String(error), /job 0 failed/);
  assert.deepEqual(ended.sort(), [0, 1], "job 1 was running and ended; 2..5 never started");
});

test("a shared request waits for the writers under way at each write (asked, not fixed), at most its linger", async () => {
  const sent: number[] = [];
  let writers = 3;
  const coalescer = new BulkCoalescer({ maxDocuments: 1000, maxBytes: 1 << 20, lingerMs: 60_000, writers: () => writers }, async (request, writes) => {
    sent.push(request.length);
    for (const write of writes) write.done();
  });
  const request = (n: number) => BulkRequest.of(Array.from({ length: n }, (_, i) => {
    const action = `{"create":{"_id":"id-${n}-${i}"}}\n`;
    const source = `{"n":${i}}`;
    return { id: `id-${n}-${i}`, action, source, bytes: action.length + source.length + 1 };
  }));
  const first = [coalescer.write(request(2)), coalescer.write(request(3))];
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(sent, [], "two of three writers joined: it waits (the linger is a minute)");
  const third = coalescer.write(request(4));
  await Promise.all([...first, third]);
  assert.deepEqual(sent, [9], "the third writer joined: one request of all three writes");
  writers = 1; // fewer jobs under way now: a lone write need not wait
  await coalescer.write(request(5));
  assert.deepEqual(sent, [9, 5]);
});

test("growing reservations: jobs that find more data than listed wait for room (their own given back meanwhile), never for each other, in order", { timeout: 10_000 }, async () => {
  const budget = 4 * WINDOW;
  // Sixteen jobs that together reserve the whole budget, each finding a whole window to read: none fits while all
  // hold their small reservations, so each gives its own back while it waits, or they would wait for ever.
  let reserved = 0;
  let peak = 0;
  const grantedOrder: number[] = [];
  const runningWhileWaiting: number[] = [];
  const running = { count: 0 };
  const small = budget / 16;
  await forEachWithinBudget([...Array(16).keys()], budget, 16, () => small, async (i, grow) => {
    reserved += small;
    await new Promise((resolve) => setTimeout(resolve, 1));
    const waiting = grow(WINDOW);
    runningWhileWaiting.push(running.count);
    reserved -= small;
    await waiting;
    reserved += WINDOW;
    grantedOrder.push(i);
    peak = Math.max(peak, reserved);
    await grow(WINDOW / 2); // already holds more: nothing to wait for
    await new Promise((resolve) => setTimeout(resolve, 5));
    reserved -= WINDOW;
  }, running);
  assert.equal(grantedOrder.length, 16, "every job ran");
  assert.ok(peak <= budget, `at most the budget reserved at once (${peak / WINDOW} windows)`);
  assert.deepEqual(grantedOrder, [...grantedOrder].sort((a, b) => a - b), "granted in the order they asked");
  assert.ok(runningWhileWaiting.every((count) => count < 16), "a job waiting to grow is not counted as a writer");
  assert.equal(running.count, 0);
  // No job starts while one waits to grow: job 1 finds a whole budget's worth while job 0 holds half of it.
  const events: string[] = [];
  const costs = [WINDOW, MIN_RESERVATION, MIN_RESERVATION, MIN_RESERVATION];
  await forEachWithinBudget([0, 1, 2, 3], 2 * WINDOW, 16, (i) => costs[i]!, async (i, grow) => {
    events.push(`start ${i}`);
    if (i === 1) {
      await grow(2 * WINDOW);
      events.push("grown 1");
    }
    await new Promise((resolve) => setTimeout(resolve, i === 0 ? 30 : 5));
    events.push(`end ${i}`);
  });
  assert.deepEqual(events.slice(0, 5), ["start 0", "start 1", "end 0", "grown 1", "end 1"], "job 2 waited for job 1's growth and its end");
  assert.deepEqual(events.slice(5).filter((event) => event.startsWith("start")), ["start 2", "start 3"]);
});
