// Azure Storage that stops sending, mid-answer or before it, while the service runs (in-process, real Azurite behind
// a proxy that stalls on cue without closing the connection). Every storage request has a client-side deadline
// (FLOWLOGS_STORAGE_TIMEOUT_MS, here its minimum, 1 s): a stalled try is aborted after it and retried by the SDK; a request
// whose tries all stall fails its listing or its job as a storage failure, which gives the job's try back; the
// service keeps polling and, once the stall clears, collects every document exactly once. Without the deadline
// these tests fail on their `until` timeouts (the stalled job, and so its poll, never ends), not by hanging: the
// proxy is stopped first, which ends the stalled connections.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startFaultyProxy, type Fault, type FaultyProxy } from "../support/faultyProxy";
import { scratchContainers } from "../support/scratchContainers";
import { azuriteConnectionString } from "../support/env";
import { ConfigError, MIN_STORAGE_TIMEOUT_MS, loadConfig } from "../../collector/src/service/config";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";
import { serve, stallWorld as stallWorldOf, stopAll, until, type RequestKind } from "./storageStall";
import { createBlobService } from "../../collector/src/source/storage";
import { useManagedIdentityEndpoint } from "../support/managedIdentityEnv";

const DEADLINE_MS = MIN_STORAGE_TIMEOUT_MS;
/** How much later than the deadline a stalled try may end on a busy 2-core machine; far below TCP keepalive. */
const SLACK_MS = 1_500;
const TEST_TIMEOUT_MS = 90_000;
const scratch = scratchContainers(azuriteConnectionString());

const stallWorld = (label: string, stall: (kind: RequestKind) => Fault | undefined, hour?: Date) =>
  stallWorldOf(scratch, label, stall, { hour, deadlineMs: DEADLINE_MS });

type Seen = FaultyProxy["seen"][number];

/**
 * How long the client waited after the last byte it got before it closed: from the answer's head for a stall
 * mid-body or a trickle (the proxy first waited for Azurite's whole answer), else from the request's arrival. The
 * lower bound allows for the client's timer having started before the request reached the proxy.
 */
function assertClosedAtDeadline(request: Seen, extraMs = 0): void {
  assert.ok(request.closedAfterMs !== undefined, `${request.method} ${request.path} still open`);
  const waited = request.closedAfterMs - (request.headAfterMs ?? 0);
  assert.ok(waited >= DEADLINE_MS + extraMs - 300 && waited <= DEADLINE_MS + extraMs + SLACK_MS,
    `${request.method} ${request.path} closed ${waited} ms after its last byte (${JSON.stringify(request)}), not about ${DEADLINE_MS}`);
}

/** The stalled requests the proxy saw, each closed by the client about the deadline after the last byte it got. */
function assertAbortedAtDeadline(proxy: FaultyProxy, expected: number): void {
  const stalled = proxy.seen.filter((r) => r.fault === "stallHead" || r.fault === "stallBody");
  assert.equal(stalled.length, expected, `stalled requests: ${JSON.stringify(stalled.map((r) => [r.method, r.path]))}`);
  for (const request of stalled) assertClosedAtDeadline(request);
}

const TIMED_OUT = new RegExp(`no bytes came from Azure Storage for ${DEADLINE_MS} ms \\(FLOWLOGS_STORAGE_TIMEOUT_MS\\)`);

/**
 * Failures the faults alone would not cause. A request fails once all 4 of its tries time out; each fault here stalls
 * one try, so any failure needs 3 more: forwarded tries a loaded machine kept past the 1 s deadline (seen once in CI
 * with another test file beside this one). Those are allowed, as deadline failures backed by such tries; anything else
 * (another error, or a failure without them: a stalled try not retried) fails the test.
 */
function assertOnlyLoadFailures(proxy: FaultyProxy, failures: Array<Record<string, unknown>>, what: string): void {
  for (const failure of failures) assert.match(String(failure.error), TIMED_OUT, `${what}: ${JSON.stringify(failure)}`);
  const slowForwarded = proxy.seen.filter((r) => r.fault === "forward" && (r.closedAfterMs ?? 0) >= DEADLINE_MS - 300);
  assert.ok(slowForwarded.length >= 3 * failures.length,
    `${what}: ${failures.length} failure(s), with ${slowForwarded.length} forwarded tries held past the deadline (3 per failure would explain them)`);
}

test("one stalled try of each kind of storage request (lease, checkpoint read, block list, download body) is aborted at the deadline and tried again within the job: exact documents, no job failed", { timeout: TEST_TIMEOUT_MS }, async () => {
  // The first request of each kind stalls: before its headers, or after half of its body.
  const firsts = new Map<RequestKind, Fault>([["lease", "stallHead"], ["checkpointRead", "stallBody"], ["blockList", "stallHead"], ["download", "stallBody"]]);
  const { proxy, blobService, config, writer } = await stallWorld("stall-once", (kind) => {
    const fault = firsts.get(kind);
    firsts.delete(kind);
    return fault;
  });
  for (let minute = 0; minute < 2; minute++) await writer.appendMinute({ records: 3, tuplesPerRecord: 4 });
  const sink = new RecordingSink();
  const service = serve({ config, sink, blobService });
  try {
    await until("the blob collected", () => sink.documents.size === writer.tuples);
    assert.equal(firsts.size, 0, "every kind was stalled once");
    assertAbortedAtDeadline(proxy, 4);
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
    assert.equal(sink.duplicates, 0);
    assertOnlyLoadFailures(proxy, service.events.filter((e) => e.event === "blob.failed"), "each stalled try was retried within its job");
  } finally {
    await stopAll(proxy, service);
  }
});

test("a listing and a checkpoint read whose answers trickle a byte every half deadline are aborted at the body's total limit and tried again: exact documents, nothing failed", { timeout: TEST_TIMEOUT_MS }, async () => {
  // Each byte comes inside the stall deadline, so only the total limit ends these tries (a few hundred bytes would
  // take minutes to trickle in).
  const firsts = new Set<RequestKind>(["listing", "checkpointRead"]);
  const { proxy, blobService, config, writer } = await stallWorld("trickle", (kind) =>
    firsts.delete(kind) ? { trickleEveryMs: DEADLINE_MS / 2 } : undefined);
  for (let minute = 0; minute < 2; minute++) await writer.appendMinute({ records: 3, tuplesPerRecord: 4 });
  const sink = new RecordingSink();
  const service = serve({ config, sink, blobService });
  try {
    await until("the blob collected", () => sink.documents.size === writer.tuples);
    const trickled = proxy.seen.filter((r) => typeof r.fault === "object" && "trickleEveryMs" in r.fault);
    assert.equal(trickled.length, 2);
    // The limit: the deadline, then the body's length at 64 KiB/s (a few ms for these answers), from the headers.
    for (const request of trickled) assertClosedAtDeadline(request);
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
    assert.equal(sink.duplicates, 0);
    assertOnlyLoadFailures(proxy, service.events.filter((e) => e.event === "list.failed" || e.event === "blob.failed"), "each trickled try was retried");
  } finally {
    await stopAll(proxy, service);
  }
});

test("a listing whose every try stalls mid-body fails that poll's listing; the service keeps polling and then collects the blob once", { timeout: TEST_TIMEOUT_MS }, async () => {
  let stalledListings = 0;
  const tries = 4; // the SDK's default maxTries: one listing request, all of its tries
  const { proxy, blobService, config, writer } = await stallWorld("stall-list", (kind) =>
    kind === "listing" && stalledListings++ < tries ? "stallBody" : undefined);
  for (let minute = 0; minute < 2; minute++) await writer.appendMinute({ records: 3, tuplesPerRecord: 4 });
  const sink = new RecordingSink();
  const service = serve({ config, sink, blobService });
  try {
    await until("the blob collected", () => sink.documents.size === writer.tuples);
    const failed = service.events.filter((e) => e.event === "list.failed");
    assertAbortedAtDeadline(proxy, tries);
    // The stalled listing's tries failed the first poll's listing, once all four had been given up. A later failure
    // can only be forwarded tries that a loaded machine kept past the 1 s deadline four times over (once in CI, with
    // another test file beside this one): a deadline failure too, never another error.
    assert.ok(failed.length >= 1, "the stalled listing failed its poll's listing");
    const lastStalled = proxy.seen.filter((r) => r.fault === "stallBody").at(-1)!;
    assert.ok(Date.parse(failed[0]!.time) >= lastStalled.arrivedAt + DEADLINE_MS - 100, "the listing failed after its last stalled try");
    for (const failure of failed) assert.match(String(failure.error), TIMED_OUT);
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
    assert.equal(sink.duplicates, 0);
    assertOnlyLoadFailures(proxy, service.events.filter((e) => e.event === "blob.failed"), "no job failed");
  } finally {
    await stopAll(proxy, service);
  }
});

test("downloads that never answer fail each job as a storage failure with its try given back, more times than FLOWLOGS_MAX_ATTEMPTS; once they answer, every document once and nothing set aside", { timeout: TEST_TIMEOUT_MS }, async () => {
  const stalling = { on: true };
  const { proxy, blobService, config, writer } = await stallWorld("stall-job", (kind) => (kind === "download" && stalling.on ? "stallHead" : undefined));
  for (let minute = 0; minute < 2; minute++) await writer.appendMinute({ records: 3, tuplesPerRecord: 4 });
  const sink = new RecordingSink();
  const service = serve({ config, sink, blobService });
  try {
    const failures = () => service.events.filter((e) => e.event === "blob.failed");
    await until("three jobs failed (FLOWLOGS_MAX_ATTEMPTS is 2)", () => failures().length >= 3);
    stalling.on = false;
    const failed = failures().length;
    for (const failure of failures()) assert.match(String(failure.error), TIMED_OUT);
    await until("the blob collected", () => sink.documents.size === writer.tuples);
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
    assert.equal(sink.duplicates, 0, "nothing was delivered before the downloads answered");
    assert.deepEqual(sink.deadLetters, [], "no record set aside: the stalled tries were not counted");
    const starts = service.events.filter((e) => e.event === "blob.read.start");
    assert.ok(starts.length > failed);
    assert.deepEqual(starts.filter((e) => e.try !== undefined).map((e) => e.try), [], "every job read as a first try");
    // Every failed job's poll ended, and so does the one that collected the blob (it ends after the sink took the documents).
    await until("the service kept polling", () => service.events.filter((e) => e.event === "poll.end").length > failures().length, 5_000);
    // Four tries of one download per failed job, each aborted at the deadline (the last one's close may still be under way).
    await until("the last stalled connection closed", () => proxy.seen.every((r) => r.fault !== "stallHead" || r.closedAfterMs !== undefined), 5_000);
    assertAbortedAtDeadline(proxy, proxy.seen.filter((r) => r.fault === "stallHead").length);
    assert.ok(proxy.seen.filter((r) => r.fault === "stallHead").length >= failed * 4);
  } finally {
    await stopAll(proxy, service);
  }
});

test("checkpoint writes that never answer fail the job as a storage failure; the minute is read again once they answer, with the same documents", { timeout: TEST_TIMEOUT_MS }, async () => {
  const stalling = { on: false };
  // The current hour: its checkpoint is remembered (not done), so the next job counts no try ahead and the write that
  // stalls is the one after the second minute was delivered.
  const { proxy, blobService, config, writer } = await stallWorld("stall-cp", (kind) => (kind === "checkpointWrite" && stalling.on ? "stallHead" : undefined), new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000));
  await writer.appendMinute({ records: 3, tuplesPerRecord: 4 });
  const sink = new RecordingSink();
  const service = serve({ config, sink, blobService });
  try {
    await until("the first minute collected", () => sink.documents.size === writer.tuples);
    await until("its job ended", () => service.events.some((e) => e.event === "blob.read.end"));
    const firstMinute = writer.tuples;
    stalling.on = true;
    await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
    const failures = () => service.events.filter((e) => e.event === "blob.failed");
    await until("two jobs failed on their checkpoint write", () => failures().length >= 2);
    stalling.on = false;
    await until("the second minute collected and checkpointed", () =>
      sink.documents.size === writer.tuples && service.events.filter((e) => e.event === "blob.read.end").length === 2);
    // A job under way when the stall cleared may have failed too: counted once the minute is checkpointed.
    const failed = failures().length;
    for (const failure of failures()) assert.match(String(failure.error), TIMED_OUT);
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
    // Each failed job had delivered the second minute before its checkpoint write stalled; the ids absorb the re-reads.
    assert.equal(sink.duplicates, failed * (writer.tuples - firstMinute));
    assert.deepEqual(sink.deadLetters, []);
    assert.deepEqual(service.events.filter((e) => e.event === "blob.read.start" && e.try !== undefined), [], "no try counted");
    // Four tries of the one checkpoint write per failed job, each aborted at the deadline.
    await until("the last stalled connection closed", () => proxy.seen.every((r) => r.fault !== "stallHead" || r.closedAfterMs !== undefined), 5_000);
    assertAbortedAtDeadline(proxy, failed * 4);
  } finally {
    await stopAll(proxy, service);
  }
});

test("a checkpoint write Azure applied whose answer was lost (the count-ahead try, twice): the retry's 412 is recognised as that write, nothing is set aside, exact documents", { timeout: TEST_TIMEOUT_MS }, async () => {
  // Only the answers of applied writes that count a try ahead; the deadline aborts each, the SDK sends it again.
  let toLose = 2;
  const { proxy, blobService, config, writer } = await stallWorld("lost-answer", (kind) => kind !== "checkpointWrite" ? undefined : {
    loseAnswerIf: (body, status) => status < 300 && body.includes('"attempt"') && toLose-- > 0,
  });
  for (let minute = 0; minute < 2; minute++) await writer.appendMinute({ records: 3, tuplesPerRecord: 4 });
  const sink = new RecordingSink();
  const service = serve({ config, sink, blobService });
  try {
    await until("the blob collected", () => sink.documents.size === writer.tuples && service.events.some((e) => e.event === "blob.read.end"));
    assert.ok(proxy.seen.filter((r) => r.answerLost).length >= 1, "an applied write's answer was lost");
    assert.ok(proxy.seen.some((r) => r.status === 412), "and its retry refused 412");
    assert.deepEqual(sink.deadLetters, [], "no good record set aside");
    assert.deepEqual(service.events.filter((e) => e.event === "blob.skip"), []);
    assert.deepEqual(service.events.filter((e) => e.event === "blob.failed"), [], "the write was taken as written");
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
  } finally {
    await stopAll(proxy, service);
  }
});

test("a managed-identity token endpoint that never answers: each try's token is given up at the deadline and its connection closed, the listing fails as a storage failure saying so, and the service keeps polling", { timeout: TEST_TIMEOUT_MS }, async () => {
  // The endpoint reads each request and never answers (a proxy whose every request stalls before its headers). The
  // collector's own credential (createBlobService: DefaultAzureCredential, a user-assigned identity) reaches it the way
  // Container Apps and App Service give it: IDENTITY_ENDPOINT and IDENTITY_HEADER.
  const endpoint = await startFaultyProxy("http://127.0.0.1:9", () => "stallHead");
  const restoreEnv = useManagedIdentityEndpoint(`${endpoint.url}/msi/token`);
  const clientId = "11111111-2222-3333-4444-555555555555";
  // No storage request is sent without a token, so the account needs no server; the checkpoints are on Azurite.
  const blobService = createBlobService({ accountUrl: "https://127.0.0.1:9/devstoreaccount1", managedIdentityClientId: clientId }, DEADLINE_MS, {
    retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 50 },
  });
  const checkpoints = scratch.container("token-cp");
  const config = loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
    FLOWLOGS_CONTAINERS: "token-src",
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_SINK: "stdout",
    FLOWLOGS_METRICS_PORT: "off",
    FLOWLOGS_POLL_INTERVAL_SECONDS: "1",
    FLOWLOGS_STORAGE_TIMEOUT_MS: String(DEADLINE_MS),
  });
  const service = serve({ config, sink: new RecordingSink(), blobService, checkpointContainer: checkpoints });
  try {
    // The poll ended, and the next one asked for a token again.
    await until("a listing failed, its poll ended and the next poll began", () => service.events.some((e) => e.event === "list.failed") &&
      service.events.some((e) => e.event === "poll.end") && endpoint.seen.length > 4);
    const failed = service.events.find((e) => e.event === "list.failed")!;
    assert.match(String(failed.error), new RegExp(`no access token came from the storage credential \\(DefaultAzureCredential: .*\\) for ${DEADLINE_MS} ms \\(FLOWLOGS_STORAGE_TIMEOUT_MS\\)`));
    // The SDK's four tries of the listing, each waiting for a token of its own, from the collector's identity.
    const first = endpoint.seen.filter((r) => r.arrivedAt <= Date.parse(failed.time));
    assert.equal(first.length, 4, JSON.stringify(first.map((r) => r.path)));
    for (const request of first) assert.match(request.path, new RegExp(`^/msi/token\\?.*client_id=${clientId}`));
    await until("the last stalled token request closed", () => first.every((r) => r.closedAfterMs !== undefined), 5_000);
    for (const request of first) {
      assert.ok(request.closedAfterMs! >= DEADLINE_MS - 100 && request.closedAfterMs! <= DEADLINE_MS + SLACK_MS,
        `token request closed after ${request.closedAfterMs} ms, not about ${DEADLINE_MS}`);
    }
  } finally {
    await stopAll(endpoint, service);
    restoreEnv();
  }
});

test("FLOWLOGS_STORAGE_TIMEOUT_MS: 45000 by default (above Azure's own 30 s); below 1000 ms it is refused as too short, with the fix; a value that is not a whole number up to 600000 is refused by name", () => {
  const base = { FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(), FLOWLOGS_SINK: "stdout" };
  assert.equal(loadConfig(base).storageTimeoutMs, 45_000);
  assert.equal(loadConfig({ ...base, FLOWLOGS_STORAGE_TIMEOUT_MS: "1000" }).storageTimeoutMs, 1000);
  for (const short of ["999", "100", "0"]) {
    assert.throws(() => loadConfig({ ...base, FLOWLOGS_STORAGE_TIMEOUT_MS: short }),
      (error: Error) => error instanceof ConfigError && error.message.startsWith(`FLOWLOGS_STORAGE_TIMEOUT_MS "${short}" is too short: below 1000 ms `) &&
        error.message.endsWith("set 1000 to 600000, or unset it for the default 45000"));
  }
  for (const bad of ["600001", "30s", "1.5", "-1"]) {
    assert.throws(() => loadConfig({ ...base, FLOWLOGS_STORAGE_TIMEOUT_MS: bad }),
      (error: Error) => error instanceof ConfigError && error.message === `FLOWLOGS_STORAGE_TIMEOUT_MS "${bad}" is not a whole number from 1000 to 600000`);
  }
});
