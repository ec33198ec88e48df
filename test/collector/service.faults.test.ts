// Faults of the storage side while the service runs (in-process, real Azurite): the checkpoint container
// disappearing (recreated when the identity may; otherwise reported, and /healthz answers 503 so the platform
// restarts the replica), and 403s right after a first deploy (role assignments not yet effective) waited out for
// a bounded time with one clear line, and source answers cut off mid-body (read again within the job).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AccountSASPermissions, BlobServiceClient, ContainerClient, ContainerSASPermissions, generateAccountSASQueryParameters,
  generateBlobSASQueryParameters, StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";
import { azuriteConnectionString } from "../support/env";
import { startFaultyProxy } from "../support/faultyProxy";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector, type RunOptions } from "../../collector/src/service/collector";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { loadConfig } from "../../collector/src/service/config";
import type { LogEvent } from "../../collector/src/service/logger";
import { RestError } from "@azure/core-rest-pipeline";
import { CredentialUnavailableError } from "@azure/identity";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";
import { sleep } from "../../collector/src/sleep";
import { withSignPolicy } from "../support/storagePolicy";

const HOUR = new Date("2026-11-20T10:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());
const settings = Object.fromEntries(azuriteConnectionString().split(";").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
const credential = new StorageSharedKeyCredential(settings.AccountName!, settings.AccountKey!);

/** A client of one container holding only a container SAS: like a role assigned on the container itself. */
function containerScopedClient(name: string): ContainerClient {
  const sas = generateBlobSASQueryParameters({
    containerName: name, permissions: ContainerSASPermissions.parse("racwdl"), expiresOn: new Date(Date.now() + 3_600_000),
  }, credential);
  return new ContainerClient(`${settings.BlobEndpoint}/${name}?${sas}`);
}

async function setUp(extra: Record<string, string> = {}) {
  const source = scratch.container("flt-src");
  await source.create();
  const checkpoints = scratch.container("flt-cp");
  const config = loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
    FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_SINK: "stdout",
    FLOWLOGS_METRICS_PORT: "0",
    FLOWLOGS_POLL_INTERVAL_SECONDS: "1",
    FLOWLOGS_REPLICA_ID: "faults",
    ...extra,
  });
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: HOUR, seed: 31 });
  return { source, checkpoints, config, writer };
}

/** Runs the service loop until `stop()`; collects its events and the URL of its status endpoint. */
function serve(options: Omit<RunOptions, "signal" | "onListening" | "onEvent" | "writeLog">) {
  const events: LogEvent[] = [];
  const controller = new AbortController();
  let url = "";
  let listening!: () => void;
  const listened = new Promise<void>((resolve) => { listening = resolve; });
  const done = runCollector({
    ...options, signal: controller.signal, writeLog: () => {}, onEvent: (e) => events.push(e), onListening: (u) => { url = u; listening(); },
  });
  return {
    events, done,
    url: async () => { await Promise.race([listened, done]); return url; },
    stop: async () => { controller.abort(); return done; },
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("the checkpoint container deleted while the service runs is created again; exact counts, /healthz stays 200", async () => {
  const { checkpoints, config, writer } = await setUp();
  for (let minute = 0; minute < 3; minute++) await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
  const sink = new RecordingSink();
  const service = serve({ config, sink, blobService: scratch.service });
  try {
    const url = await service.url();
    await until("the first minutes indexed", () => sink.documents.size === writer.tuples);
    await checkpoints.delete();
    for (let minute = 0; minute < 2; minute++) await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
    await until("the appended minutes indexed", () => sink.documents.size === writer.tuples);
    const recreated = service.events.filter((e) => e.event === "checkpoint.container.recreated");
    assert.equal(recreated.length, 1);
    assert.equal(recreated[0]!.container, checkpoints.containerName);
    assert.ok(await checkpoints.exists());
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
  } finally {
    await service.stop();
  }
});

test("a checkpoint container that disappeared and may not be created again: named with the fix, and /healthz answers 503", async () => {
  const { checkpoints, config, writer } = await setUp();
  await checkpoints.create();
  await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
  const sink = new RecordingSink();
  const service = serve({ config, sink, blobService: scratch.service, checkpointContainer: containerScopedClient(checkpoints.containerName) });
  try {
    const url = await service.url();
    await until("the first minute indexed", () => sink.documents.size === writer.tuples);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    await checkpoints.delete();
    await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
    await until("three polls in a row without progress", async () => (await fetch(`${url}/healthz`)).status === 503);
    const body = await (await fetch(`${url}/healthz`)).json() as { status: string; reason: string; failedPolls: number };
    assert.equal(body.status, "failing");
    assert.ok(body.failedPolls >= 3);
    assert.match(body.reason, /every blob job failed/);
    const failed = service.events.find((e) => e.event === "blob.failed");
    assert.match(String(failed?.error), new RegExp(`checkpoint container ${checkpoints.containerName} no longer exists and this identity may not create it \\(403 on create\\).*FLOWLOGS_CHECKPOINT_CONTAINER`));
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^flowlogs_failed_polls ([3-9]|[1-9]\d+)$/m);
    // Put back (as `pulumi up` would): the next poll makes progress and the probe is healthy again.
    await checkpoints.create();
    await until("the appended minute indexed", () => sink.documents.size === writer.tuples);
    await until("healthy again", async () => (await fetch(`${url}/healthz`)).status === 200);
  } finally {
    await service.stop();
  }
});

/**
 * A service client refused with 403 (a real one: Azurite checks an account SAS that is not valid yet) until the test
 * calls `authorize()`, like a role assignment that takes effect while the service waits. Told by the test, not by
 * the clock, so a slow start-up cannot let the service miss the 403s.
 */
function authorizedLater(): { client: BlobServiceClient; authorize: () => void } {
  const sasFrom = (startsOn: Date) => generateAccountSASQueryParameters({
    startsOn, expiresOn: new Date(Date.now() + 3_600_000), permissions: AccountSASPermissions.parse("racwdl"), resourceTypes: "sco", services: "b",
  }, credential).toString();
  let sas = sasFrom(new Date(Date.now() + 3_600_000));
  const client = new BlobServiceClient(settings.BlobEndpoint!);
  withSignPolicy(client, {
      name: "testAccountSas",
      sendRequest(request, next) {
        const url = new URL(request.url);
        for (const [key, value] of new URLSearchParams(sas)) url.searchParams.set(key, value);
        request.url = url.toString();
        return next(request);
      },
    });
  return { client, authorize: () => { sas = sasFrom(new Date(Date.now() - 60_000)); } };
}

async function authorizeOnceWaiting(service: { events: LogEvent[] }, authorize: () => void): Promise<void> {
  await until("the 403s waited out", () => service.events.some((e) => e.event === "storage.forbidden.waiting"));
  authorize();
}

test("403s right after start-up are waited out within the grace, with one clear line; then the data flows", async () => {
  const { config, writer } = await setUp();
  for (let minute = 0; minute < 2; minute++) await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
  const sink = new RecordingSink();
  const storage = authorizedLater();
  const service = serve({ config, sink, blobService: storage.client });
  try {
    const url = await service.url();
    assert.equal((await fetch(`${url}/healthz`)).status, 200, "the probe answers while start-up waits");
    await authorizeOnceWaiting(service, storage.authorize);
    await until("the data indexed once authorized", () => sink.documents.size === writer.tuples);
    const waiting = service.events.filter((e) => e.event === "storage.forbidden.waiting");
    assert.equal(waiting.length, 1, "one line");
    assert.equal(waiting[0]!.level, "warn");
    assert.match(String(waiting[0]!.cause), /role assignments .* not effective yet/);
    assert.match(String(waiting[0]!.rolesNeeded), /Storage Blob Data Reader .* Storage Blob Data Contributor on the checkpoint container/);
    assert.ok(Date.parse(String(waiting[0]!.retryingUntil)) > Date.now());
    assert.deepEqual(service.events.filter((e) => e.level === "error").map((e) => e.event), [], "no error while waiting");
    assert.equal(service.events.filter((e) => e.event === "storage.authorized").length, 1);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    await service.stop();
  }
});

test("no storage token yet at start-up (the container's managed identity endpoint not answering) is waited out within the grace, with one line, retried a minute apart even with polls ten minutes apart", async () => {
  const { config, writer } = await setUp({ FLOWLOGS_POLL_INTERVAL_SECONDS: "600" });
  await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
  // Where the bearer-token policy would fail: @azure/identity's own error, as DefaultAzureCredential throws it in ACI
  // before the identity endpoint answers (its probe is not retried, nor is the error by the storage SDK).
  let ready = false;
  const client = BlobServiceClient.fromConnectionString(azuriteConnectionString());
  withSignPolicy(client, {
      name: "testIdentityNotReady",
      sendRequest(request, next) {
        if (!ready) throw new CredentialUnavailableError("ManagedIdentityCredential: the IMDS endpoint is not available");
        return next(request);
      },
    });
  const sink = new RecordingSink();
  // Waits asked for are recorded; the test's clock runs 100 ms each.
  const waits: number[] = [];
  const service = serve({ config, sink, blobService: client, sleep: (ms, signal) => { waits.push(ms); return sleep(100, signal); } });
  try {
    const url = await service.url();
    await until("the wait announced", () => service.events.some((e) => e.event === "storage.identity.waiting"));
    assert.equal(waits[0], 60_000, "a start-up retry waits a minute, not the poll interval");
    assert.equal((await fetch(`${url}/healthz`)).status, 200, "waiting is not a stall");
    ready = true;
    await until("the data indexed once a token comes", () => sink.documents.size === writer.tuples);
    assert.equal(service.events.filter((e) => e.event === "storage.identity.waiting").length, 1, "one line");
    assert.deepEqual(service.events.filter((e) => e.level === "error").map((e) => e.event), []);
  } finally {
    await service.stop();
  }
});

test("flow-log containers refused (403) at start-up within the grace: with polls ten minutes apart the listing is tried again a minute later", async () => {
  const { source, config, writer } = await setUp({ FLOWLOGS_POLL_INTERVAL_SECONDS: "600" });
  await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
  // The checkpoint container's role is in effect, the flow-log container's not yet (role assignments propagate apart).
  let authorized = false;
  const client = BlobServiceClient.fromConnectionString(azuriteConnectionString());
  withSignPolicy(client, {
      name: "testFlowLogRoleNotYet",
      sendRequest(request, next) {
        if (!authorized && new URL(request.url).pathname.includes(source.containerName)) {
          throw new RestError("AuthorizationPermissionMismatch", { statusCode: 403, code: "AuthorizationPermissionMismatch", request });
        }
        return next(request);
      },
    });
  const sink = new RecordingSink();
  const controller = new AbortController();
  const waits: number[] = [];
  const events: LogEvent[] = [];
  await runCollector({
    config, sink, blobService: client, writeLog: () => {}, onEvent: (e) => events.push(e), signal: controller.signal,
    sleep: async (ms) => {
      waits.push(ms);
      authorized = true;
      if (waits.length === 2) controller.abort();
    },
  });
  assert.deepEqual(waits, [60_000, 600_000], "the retry a minute later, then the interval");
  assert.ok(events.some((e) => e.event === "storage.forbidden.waiting"));
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
});

test("an archived blob (Azure answers 409 BlobArchived) is set aside once, named, while the others are read", async () => {
  const { source, config, writer } = await setUp();
  await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
  const archived = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T08:00:00Z"), seed: 32 });
  await archived.appendMinute({ records: 1, tuplesPerRecord: 3 });
  await source.getBlockBlobClient(archived.blobName).setAccessTier("Archive");
  const sink = new RecordingSink();
  const summary = await runCollector({ config, sink, blobService: scratch.service, once: true, writeLog: () => {} });
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]), "the other blob read whole");
  assert.equal(summary.metrics.blobsFailed, 0, "not a failure retried every poll");
  assert.equal(summary.metrics.blobsDead, 1);
  assert.deepEqual(sink.deadLetters.map((entry) => entry.position?.blob), [archived.blobName]);
  assert.match(sink.deadLetters[0]!.reason, /blob not read: Azure Storage refuses to read .* \(HTTP 409 BlobArchived; an archived blob must be rehydrated/);
});

test("a PT1H.json that is an append blob (as Azure Monitor writes resource logs) is set aside once as not a flow log, not as archived", async () => {
  const { source, config, writer } = await setUp();
  await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
  const name = writer.blobName.replace("h=10", "h=09");
  const append = source.getAppendBlobClient(name);
  await append.create();
  await append.appendBlock('{"records":[]}', 14);
  const sink = new RecordingSink();
  const summary = await runCollector({ config, sink, blobService: scratch.service, once: true, writeLog: () => {} });
  assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]), "the flow log read whole");
  assert.equal(summary.metrics.blobsDead, 1);
  assert.deepEqual(sink.deadLetters.map((entry) => entry.position?.blob), [name]);
  assert.match(sink.deadLetters[0]!.reason, /\(HTTP 409 InvalidBlobType; it is not a block blob, as Network Watcher writes flow logs: not a flow log, not read\)/);
});

test("listings refused with 403 within the grace are waited out too (no list.failed error), then the data flows", async () => {
  const { checkpoints, config, writer } = await setUp();
  await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
  const sink = new RecordingSink();
  // The checkpoint container's role is effective, the flow-log containers' not yet.
  const storage = authorizedLater();
  const service = serve({ config, sink, blobService: storage.client, checkpointContainer: scratch.service.getContainerClient(checkpoints.containerName) });
  try {
    const url = await service.url();
    await authorizeOnceWaiting(service, storage.authorize);
    await until("the data indexed once authorized", () => sink.documents.size === writer.tuples);
    const waiting = service.events.filter((e) => e.event === "storage.forbidden.waiting");
    assert.equal(waiting.length, 1);
    assert.match(String(waiting[0]!.refused), /^listing container flt-src/);
    assert.match(String(waiting[0]!.error), /^HTTP 403 /);
    assert.deepEqual(service.events.filter((e) => e.level === "error").map((e) => e.event), []);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    await service.stop();
  }
});

test("after the grace (here 0 minutes), and in a one-pass run, a 403 at start-up fails loudly as before", async () => {
  const { config } = await setUp({ FLOWLOGS_AUTHORIZATION_GRACE_MINUTES: "0", FLOWLOGS_METRICS_PORT: "off" });
  const events: LogEvent[] = [];
  await assert.rejects(
    runCollector({ config, sink: new RecordingSink(), blobService: authorizedLater().client, writeLog: () => {}, onEvent: (e) => events.push(e) }),
    (error: { statusCode?: number }) => error.statusCode === 403,
  );
  const { config: defaults } = await setUp({ FLOWLOGS_METRICS_PORT: "off" });
  assert.equal(defaults.authorizationGraceMinutes, 10);
  await assert.rejects(
    runCollector({ config: defaults, sink: new RecordingSink(), once: true, blobService: authorizedLater().client, writeLog: () => {}, onEvent: (e) => events.push(e) }),
    (error: { statusCode?: number }) => error.statusCode === 403,
  );
  assert.equal(events.filter((e) => e.event === "storage.forbidden.waiting").length, 0);
});

test("a sink that refuses every write for several polls is no reason for a restart: /healthz stays 200, nothing is dead-lettered, and the data lands once it recovers", async () => {
  const { config, writer } = await setUp();
  for (let minute = 0; minute < 2; minute++) await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
  const sink = new RecordingSink();
  sink.failAfter = 0; // Elasticsearch down: every write fails after the sink's own retries
  const service = serve({ config, sink, blobService: scratch.service });
  try {
    const url = await service.url();
    await until("five failed writes (several polls)", () => sink.writes >= 5);
    const health = await fetch(`${url}/healthz`);
    const body = await health.json() as { status: string; failedPolls: number };
    assert.equal(health.status, 200, `a restart cannot end a sink outage, and each kill would count a try: ${JSON.stringify(body)}`);
    assert.equal(body.failedPolls, 0);
    assert.ok(service.events.some((e) => e.event === "blob.failed"), "the outage is reported in the log");
    sink.failAfter = undefined;
    await until("the data indexed once the sink is back", () => sink.documents.size === writer.tuples);
    assert.deepEqual(sink.deadLetters, []);
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
  } finally {
    await service.stop();
  }
});

test("block list and download answers cut off mid-body while the service tails are each read again: exact documents, none twice, no job failed", async () => {
  const { source, config, writer } = await setUp();
  // Every other read of a source blob (block list or ranged download) is cut after half its body.
  let reads = 0;
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method, path }) => {
    const sourceRead = method === "GET" && path.includes(`/${source.containerName}/`) && !path.includes("comp=list");
    return sourceRead && reads++ % 2 === 0 ? "cutBody" : "forward";
  });
  const sink = new RecordingSink();
  const service = serve({ config, sink, blobService: BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url)) });
  try {
    for (let minute = 0; minute < 4; minute++) {
      await writer.appendMinute({ records: 2, tuplesPerRecord: 5 });
      await until(`minute ${minute} indexed`, () => sink.documents.size === writer.tuples);
    }
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
    assert.equal(sink.duplicates, 0);
    const cut = proxy.seen.filter((request) => request.fault === "cutBody");
    assert.ok(cut.some((request) => request.path.includes("comp=blocklist")), "block lists were cut");
    assert.ok(cut.some((request) => request.range !== undefined), "downloads were cut");
    assert.deepEqual(service.events.filter((event) => event.event === "blob.failed"), [], "each cut answer was read again within its job");
  } finally {
    await service.stop();
    await proxy.stop();
  }
});

test("a container of FLOWLOGS_CONTAINERS that does not exist (VNet logs only) still lets polls list only the recent hours and forget deleted blobs", async () => {
  const source = scratch.container("missing-one-src");
  const absent = scratch.container("missing-one-nsg"); // never created
  const checkpoints = scratch.container("missing-one-cp");
  await source.create();
  const hour = new Date("2026-11-20T10:00:00Z");
  const writers = [1, 2].map((seed) => new FlowLogBlobWriter(source, { kind: "vnet-v4", hour, seed, mac: `000D3A0000C${seed}` }));
  for (const writer of writers) await writer.appendMinute({ records: 1, tuplesPerRecord: 2 });
  await new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "setup" }).ensureContainer();
  // Another replica holds the second blob's checkpoint: it stays pending here until retention deletes it.
  const holder = await new CheckpointStore(checkpoints, { leaseSeconds: 60, replicaId: "other" }).tryAcquire(source.containerName, writers[1]!.blobName);
  assert.ok(holder);
  let clock = hour.getTime() + 10 * 60_000;
  const controller = new AbortController();
  const steps: Array<() => Promise<void>> = [
    async () => { await writers[1]!.blob.delete(); clock += 60_000; }, // retention deletes a blob
    async () => { clock += 31 * 60_000; }, // the next wide listing is due
    async () => { clock += 60_000; },
    async () => controller.abort(),
  ];
  const events: LogEvent[] = [];
  const summary = await runCollector({
    config: loadConfig({
      FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
      FLOWLOGS_CONTAINERS: `${source.containerName},${absent.containerName}`,
      FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
      FLOWLOGS_SINK: "stdout", FLOWLOGS_METRICS_PORT: "off", FLOWLOGS_FULL_LISTING_MINUTES: "30",
    }),
    sink: new RecordingSink(), blobService: scratch.service, writeLog: () => {}, onEvent: (event) => events.push(event),
    now: () => clock, signal: controller.signal, fullListingBelowBlobs: 0, sleep: () => steps.shift()!(),
  });
  assert.deepEqual(events.filter((e) => e.event === "poll.end").map((e) => e.listing), ["full", "recent", "wide", "recent"]);
  assert.equal(events.filter((e) => e.event === "container.missing").length, 2, "said at each full and wide listing");
  await holder.release();
  assert.equal(summary.metrics.indexed, writers[0]!.tuples);
  assert.equal(summary.metrics.pendingSince.size, 0, "the deleted blob forgotten");
});
