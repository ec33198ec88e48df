import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient, ContainerClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "@azure/storage-blob";
import { azuriteBlobEndpoint, viaProxy } from "../support/azurite";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { CHECKPOINT_LISTING_PAGE_BLOBS, CheckpointStore, MAX_CHECKPOINT_BYTES } from "../../collector/src/checkpoint/store";
import { startFaultyProxy } from "../support/faultyProxy";
import { checkpointBlobName, emptyCheckpoint, parseCheckpoint } from "../../collector/src/checkpoint/state";

const scratch = scratchContainers(azuriteConnectionString());
const container = scratch.container("checkpoints");
const SOURCE = "insights-logs-flowlogflowevent";
const BLOB = "flowLogResourceID=/SUB_NETWORKWATCHERRG/NETWORKWATCHER_WESTEUROPE_FL/y=2026/m=11/d=20/h=10/m=00/macAddress=00AABBCCDDEE/PT1H.json";

const store = (replicaId: string) => new CheckpointStore(container, { leaseSeconds: 15, replicaId });

test("a checkpoint lives in its own container under a name derived from the source container and path", async () => {
  const a = store("a");
  await a.ensureContainer();
  const held = await a.tryAcquire(SOURCE, BLOB);
  assert.ok(held);
  assert.deepEqual(held.checkpoint, emptyCheckpoint(SOURCE, BLOB));
  assert.equal(held.name, `${SOURCE}/${BLOB}.checkpoint`);
  await held.save({ ...held.checkpoint, offset: 500, blocks: 3, records: 2 });
  await held.release();
  const stored = await a.peek(SOURCE, BLOB);
  assert.equal(stored?.offset, 500);
  assert.equal(stored?.updatedBy, "a");
  assert.equal(checkpointBlobName("c1", "x/y.json"), "c1/x/y.json.checkpoint");
});

test("only one replica holds a blob's lease; the next one resumes from the saved checkpoint", async () => {
  const a = store("a");
  const b = store("b");
  await a.ensureContainer();
  const held = await a.tryAcquire(SOURCE, `${BLOB}.2`);
  assert.ok(held);
  assert.equal(await b.tryAcquire(SOURCE, `${BLOB}.2`), undefined, "a second replica is refused while the lease is held");
  await held.save({ ...held.checkpoint, offset: 1234, blocks: 5, records: 4 });
  await held.release();
  const next = await b.tryAcquire(SOURCE, `${BLOB}.2`);
  assert.ok(next);
  assert.equal(next.checkpoint.offset, 1234);
  assert.equal(next.checkpoint.updatedBy, "a");
  await next.release();
});

test("writes need the lease, and a stale writer (old ETag) fails instead of overwriting newer progress", async () => {
  const a = store("a");
  await a.ensureContainer();
  const held = await a.tryAcquire(SOURCE, `${BLOB}.3`);
  assert.ok(held);
  const raw = container.getBlockBlobClient(checkpointBlobName(SOURCE, `${BLOB}.3`));
  const text = JSON.stringify({ ...emptyCheckpoint(SOURCE, `${BLOB}.3`), offset: 9 });
  await assert.rejects(raw.upload(text, text.length), (error: { statusCode?: number }) => error.statusCode === 412, "no lease, no write");
  // Someone with the lease id writes behind the holder's back: the holder's ETag is now stale.
  assert.equal((await raw.getProperties()).leaseState, "leased");
  await raw.upload(text, text.length, { conditions: { leaseId: held.leaseId } });
  await assert.rejects(held.save({ ...held.checkpoint, offset: 100 }), (error: { statusCode?: number }) => error.statusCode === 412);
  assert.equal((await a.peek(SOURCE, `${BLOB}.3`))?.offset, 9);
  await held.release();
});

test("forget removes the checkpoint; a damaged checkpoint is reported and replaced by an empty one", async () => {
  const damaged: string[] = [];
  const a = new CheckpointStore(container, { leaseSeconds: 15, replicaId: "a", onDamaged: (_name, reason) => damaged.push(reason) });
  await a.ensureContainer();
  const held = await a.tryAcquire(SOURCE, `${BLOB}.4`);
  assert.ok(held);
  await held.save({ ...held.checkpoint, offset: 77 });
  await held.forget();
  assert.equal(await a.peek(SOURCE, `${BLOB}.4`), undefined);
  const raw = container.getBlockBlobClient(checkpointBlobName(SOURCE, `${BLOB}.5`));
  await raw.upload("{not json", 9);
  const again = await a.tryAcquire(SOURCE, `${BLOB}.5`);
  assert.ok(again);
  assert.equal(again.checkpoint.offset, 0);
  assert.equal(damaged.length, 1);
  await again.release();
});

test("a lease taken on the word of a peek (exists) still works when the checkpoint or its container was deleted since", async () => {
  const recreated: string[] = [];
  const gone = scratch.container("checkpoints-gone");
  const a = new CheckpointStore(gone, { leaseSeconds: 15, replicaId: "a", onContainerRecreated: (name) => recreated.push(name) });
  await a.ensureContainer();
  const first = await a.tryAcquire(SOURCE, `${BLOB}.7`);
  assert.ok(first);
  await first.save({ ...first.checkpoint, offset: 5 });
  await first.forget(); // deleted between the peek and the lease
  const again = await a.tryAcquire(SOURCE, `${BLOB}.7`, { exists: true });
  assert.ok(again, "created again: the lease answered 404");
  assert.deepEqual(again.checkpoint, emptyCheckpoint(SOURCE, `${BLOB}.7`));
  await again.save({ ...again.checkpoint, offset: 8 });
  await again.release();
  assert.equal((await a.peek(SOURCE, `${BLOB}.7`))?.offset, 8);

  await gone.delete(); // the whole container, between the peek and the lease
  const afterContainer = await a.tryAcquire(SOURCE, `${BLOB}.7`, { exists: true });
  assert.ok(afterContainer);
  assert.deepEqual(recreated, [gone.containerName]);
  assert.deepEqual(afterContainer.checkpoint, emptyCheckpoint(SOURCE, `${BLOB}.7`));
  await afterContainer.release();
});

/** A client for one container that holds only a container SAS: like the deployment's container-scoped role. */
function containerScopedClient(name: string): ContainerClient {
  const settings = Object.fromEntries(azuriteConnectionString().split(";").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  const credential = new StorageSharedKeyCredential(settings.AccountName, settings.AccountKey);
  const sas = generateBlobSASQueryParameters({
    containerName: name, permissions: ContainerSASPermissions.parse("racwdl"), expiresOn: new Date(Date.now() + 3_600_000),
  }, credential);
  return new ContainerClient(`${settings.BlobEndpoint}/${name}?${sas}`);
}

test("with rights scoped to the checkpoint container (create answers 403), an existing container is used and a missing one is named with the fix", async () => {
  await container.createIfNotExists();
  const scoped = containerScopedClient(container.containerName);
  await assert.rejects(scoped.createIfNotExists(), (error: { statusCode?: number }) => error.statusCode === 403, "the emulator refuses create like Azure");
  const a = new CheckpointStore(scoped, { leaseSeconds: 15, replicaId: "a" });
  await a.ensureContainer();
  const held = await a.tryAcquire(SOURCE, `${BLOB}.6`);
  assert.ok(held, "leases and checkpoints work with container-scoped rights");
  await held.save({ ...held.checkpoint, offset: 42 });
  await held.release();
  assert.equal((await store("b").peek(SOURCE, `${BLOB}.6`))?.offset, 42);

  const missing = new CheckpointStore(containerScopedClient(`missing-${process.pid}`), { leaseSeconds: 15, replicaId: "a" });
  await assert.rejects(missing.ensureContainer(), /checkpoint container missing-\d+ does not exist and this identity may not create it .*FLOWLOGS_CHECKPOINT_CONTAINER/);
});

test("checkpoint validation names what is wrong", () => {
  assert.throws(() => parseCheckpoint('{"format":1,"container":"c","blob":"b","offset":-1,"blocks":0,"records":0}', "c", "b"), /offset is not a non-negative integer/);
  assert.throws(() => parseCheckpoint('{"format":3}', "c", "b"), /format 3/);
  assert.throws(() => parseCheckpoint('{"format":2,"container":"c","blob":"b","offset":1,"blocks":1,"records":0,"attempt":{"offset":"x"}}', "c", "b"), /attempt/);
  assert.throws(() => parseCheckpoint('{"format":2,"container":"c","blob":"b","offset":1,"blocks":1,"records":0,"blockDigest":7}', "c", "b"), /blockDigest is not a string/);
  // Format 1 (written before block digests) is still read as it was.
  assert.equal(parseCheckpoint('{"format":1,"container":"c","blob":"b","offset":14,"blocks":2,"records":1}', "c", "b").offset, 14);
  assert.throws(() => parseCheckpoint('{"format":1,"container":"x","blob":"b","offset":1,"blocks":0,"records":0}', "c", "b"), /belongs to x\/b/);
  assert.throws(() => new CheckpointStore(container, { leaseSeconds: 90, replicaId: "a" }), /15–60/);
});

test("a huge garbage checkpoint blob is reported as damaged after one bounded ranged read, never downloaded whole", async () => {
  await container.createIfNotExists();
  const name = `${BLOB}.huge`;
  const garbage = Buffer.alloc(32 * 1024 * 1024, "x");
  await container.getBlockBlobClient(checkpointBlobName(SOURCE, name)).uploadData(garbage, { blockSize: 8 * 1024 * 1024 });
  const empty = `${BLOB}.empty`;
  await container.getBlockBlobClient(checkpointBlobName(SOURCE, empty)).upload("", 0);
  // The store reaches Azurite through a counting proxy: every byte it downloads is seen.
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, () => "forward");
  try {
    const throughProxy = BlobServiceClient.fromConnectionString(
      viaProxy(azuriteConnectionString(), proxy.url),
    ).getContainerClient(container.containerName);
    const damaged: string[] = [];
    const a = new CheckpointStore(throughProxy, { leaseSeconds: 15, replicaId: "a", onDamaged: (_name, reason) => damaged.push(reason) });
    await assert.rejects(a.peek(SOURCE, name), /checkpoint blob is 33554432 bytes, over the 65536 a checkpoint can be/);
    const held = await a.tryAcquire(SOURCE, name);
    assert.ok(held);
    assert.equal(held.checkpoint.offset, 0, "replaced by an empty checkpoint");
    await held.save({ ...held.checkpoint, offset: 10 });
    await held.release();
    assert.equal((await a.peek(SOURCE, name))?.offset, 10, "the next save replaces the garbage");
    const emptyHeld = await a.tryAcquire(SOURCE, empty);
    assert.ok(emptyHeld);
    await emptyHeld.release();
    assert.deepEqual(damaged, ["checkpoint blob is 33554432 bytes, over the 65536 a checkpoint can be: not read", "checkpoint blob is empty"]);
    const downloaded = proxy.seen.filter((request) => request.method === "GET").reduce((n, request) => n + request.responseBytes, 0);
    assert.ok(downloaded < 4 * (MAX_CHECKPOINT_BYTES + 1) + 64 * 1024, `downloaded ${downloaded} bytes, not the 32 MiB blob`);
  } finally {
    await proxy.stop();
  }
});

test("a checkpoint this store wrote last is leased on the condition of its ETag and not read again; another replica's write, a lease held elsewhere, a deletion and eviction each end that", async () => {
  const a = new CheckpointStore(container, { leaseSeconds: 15, replicaId: "a", remember: 2 });
  const b = store("b");
  await a.ensureContainer();
  const name = `${BLOB}.remembered`;
  assert.equal(await a.tryAcquireRemembered(SOURCE, name), undefined, "nothing remembered yet");
  const first = await a.tryAcquire(SOURCE, name);
  assert.ok(first);
  await first.save({ ...first.checkpoint, offset: 11, records: 1 });
  await first.release(); // a release leaves the ETag as it is
  const again = await a.tryAcquireRemembered(SOURCE, name);
  assert.ok(typeof again === "object");
  assert.equal(again.checkpoint.offset, 11);
  assert.deepEqual(again.checkpoint, await a.peek(SOURCE, name), "what is remembered is what is stored");
  assert.equal(await b.tryAcquire(SOURCE, name), undefined, "the remembered lease is a real lease");
  await again.save({ ...again.checkpoint, offset: 12 }); // the conditional save works with the remembered ETag
  await again.release();

  const other = await b.tryAcquire(SOURCE, name);
  assert.ok(other);
  assert.equal(await a.tryAcquireRemembered(SOURCE, name), "busy", "another replica holds the lease");
  await other.save({ ...other.checkpoint, offset: 20 });
  await other.release();
  assert.equal(await a.tryAcquireRemembered(SOURCE, name), "stale", "written by another replica since (412)");
  assert.equal(await a.tryAcquireRemembered(SOURCE, name), undefined, "and no longer remembered");
  const read = await a.tryAcquire(SOURCE, name, { exists: true });
  assert.equal(read?.checkpoint.offset, 20, "the usual path reads the other replica's progress");
  await read!.release();

  const remembered = await a.tryAcquireRemembered(SOURCE, name);
  assert.ok(typeof remembered === "object", "a read under the lease is remembered too");
  await remembered.save({ ...remembered.checkpoint, offset: 21 });
  await remembered.release();
  await container.getBlobClient(checkpointBlobName(SOURCE, name)).delete(); // by someone else
  assert.equal(await a.tryAcquireRemembered(SOURCE, name), "stale", "deleted since (404)");
  const recreated = await a.tryAcquire(SOURCE, name);
  assert.deepEqual(recreated?.checkpoint, emptyCheckpoint(SOURCE, name), "and the usual path creates it again");
  await recreated!.forget();
  assert.equal(await a.tryAcquireRemembered(SOURCE, name), undefined, "forgotten with the checkpoint");

  for (const n of [1, 2, 3]) {
    const held = await a.tryAcquire(SOURCE, `${name}.${n}`);
    await held!.save({ ...held!.checkpoint, offset: n });
    await held!.release();
  }
  assert.equal(await a.tryAcquireRemembered(SOURCE, `${name}.1`), undefined, "the least recently used is evicted past `remember`");
  const over = await a.tryAcquireRemembered(SOURCE, `${name}.3`);
  assert.ok(typeof over === "object");
  await over.save({ ...over.checkpoint, done: true });
  await over.release();
  assert.equal(await a.tryAcquireRemembered(SOURCE, `${name}.3`), undefined, "a blob whose hour is over is not remembered");
  const three = await a.tryAcquire(SOURCE, `${name}.3`, { exists: true });
  await three!.save({ ...three!.checkpoint, done: undefined, offset: 3 });
  await three!.release();
  for (const n of [2, 3]) {
    const held = await a.tryAcquireRemembered(SOURCE, `${name}.${n}`);
    assert.ok(typeof held === "object");
    assert.equal(held.checkpoint.offset, n);
    await held.release();
  }
});

test("a checkpoint this store creates is leased on the condition of the ETag the create answered and not read; another replica's write between the create and the lease is noticed (412), and it is leased and read", async () => {
  const endpoint = new URL(scratch.service.url);
  const other = store("other");
  await other.ensureContainer();
  let race: (() => Promise<void>) | undefined;
  const proxy = await startFaultyProxy(endpoint.origin, ({ method, path }) => {
    if (!race || method !== "PUT" || !path.includes("comp=lease")) return "forward";
    const write = race;
    race = undefined;
    return { forwardAfter: write() };
  });
  const requests = (from: number) => proxy.seen.slice(from).map((seen) =>
    `${seen.method} ${new URL(seen.path, "http://proxy").searchParams.get("comp") ?? "blob"}${seen.ifMatch ? " If-Match" : ""} -> ${seen.status}`);
  try {
    const throughProxy = BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url))
      .getContainerClient(container.containerName);
    const a = new CheckpointStore(throughProxy, { leaseSeconds: 15, replicaId: "a" });
    const created = `${BLOB}.created`;
    let from = proxy.seen.length;
    const held = await a.tryAcquire(SOURCE, created);
    assert.ok(held);
    assert.deepEqual(requests(from), ["PUT blob -> 201", "PUT lease If-Match -> 201"], "created, leased on its ETag, not read");
    assert.deepEqual([held.created, held.remembered], [true, false], "created, and its try still counted ahead (blobJob.ts)");
    assert.deepEqual(held.checkpoint, emptyCheckpoint(SOURCE, created));
    await held.save({ ...held.checkpoint, offset: 3 }); // conditioned on the create's ETag: it holds
    await held.release();
    assert.equal((await other.peek(SOURCE, created))?.offset, 3);

    const raced = `${BLOB}.raced`;
    race = async () => {
      const theirs = await other.tryAcquire(SOURCE, raced, { exists: true });
      assert.ok(theirs);
      await theirs.save({ ...theirs.checkpoint, offset: 9 });
      await theirs.release();
    };
    from = proxy.seen.length;
    const late = await a.tryAcquire(SOURCE, raced);
    assert.ok(late);
    assert.equal(race, undefined, "the other replica wrote between the create and the lease");
    assert.deepEqual(requests(from), ["PUT blob -> 201", "PUT lease If-Match -> 412", "PUT lease -> 201", "GET blob -> 206"]);
    assert.deepEqual([late.created, late.remembered], [false, false]);
    assert.equal(late.checkpoint.offset, 9, "the other replica's progress, read under the lease");
    await late.save({ ...late.checkpoint, offset: 12 });
    await late.release();
    assert.equal((await other.peek(SOURCE, raced))?.offset, 12);
  } finally {
    await proxy.stop();
  }
});

test("a finished job's lease is kept without a request: the same store takes it again under the same id, another finds it busy, releaseKept frees it", async () => {
  const a = store("a");
  const b = store("b");
  await a.ensureContainer();
  const name = `${BLOB}.kept`;
  const raw = container.getBlockBlobClient(checkpointBlobName(SOURCE, name));
  const held = await a.tryAcquire(SOURCE, name);
  assert.ok(held);
  await held.save({ ...held.checkpoint, offset: 10, blocks: 1, records: 1 });
  held.keep();
  assert.equal((await raw.getProperties()).leaseState, "leased", "kept: still leased");
  assert.equal(await b.tryAcquire(SOURCE, name), undefined, "another replica finds it busy");
  const again = await a.tryAcquireRemembered(SOURCE, name);
  assert.ok(again && typeof again === "object");
  assert.equal(again.leaseId, held.leaseId, "taken again under the same id while it is still held");
  await again.save({ ...again.checkpoint, offset: 20, blocks: 2, records: 2 });
  again.keep();
  await a.releaseKept();
  assert.equal((await raw.getProperties()).leaseState, "available", "released at the stop");
  const theirs = await b.tryAcquire(SOURCE, name);
  assert.ok(theirs);
  assert.equal(theirs.checkpoint.offset, 20);
  await theirs.release();
  await a.releaseKept(); // nothing kept any more: no request, no error
});

test("a kept lease that ran out and was taken by another replica is not taken back, and its write is noticed", async () => {
  const a = store("a");
  const b = store("b");
  await a.ensureContainer();
  const name = `${BLOB}.lapsed`;
  const held = await a.tryAcquire(SOURCE, name);
  assert.ok(held);
  await held.save({ ...held.checkpoint, offset: 10, blocks: 1, records: 1 });
  held.keep();
  // As if the lease had run out (Azure's clock is not ours to move): broken at once.
  await container.getBlockBlobClient(checkpointBlobName(SOURCE, name)).getBlobLeaseClient().breakLease(0);
  const theirs = await b.tryAcquire(SOURCE, name);
  assert.ok(theirs);
  assert.equal(await a.tryAcquireRemembered(SOURCE, name), "busy", "the other replica holds it now");
  await theirs.save({ ...theirs.checkpoint, offset: 99, blocks: 3, records: 5 });
  await theirs.release();
  assert.equal(await a.tryAcquireRemembered(SOURCE, name), "stale", "written by the other replica since");
  const mine = await a.tryAcquire(SOURCE, name, { exists: true });
  assert.ok(mine);
  assert.equal(mine.checkpoint.offset, 99);
  await mine.release();
});

test("the stop's release of kept leases is bounded: with storage answering 503, it gives up after its time and the leases run out by themselves", async () => {
  let failing = false;
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method, path }) =>
    failing && method === "PUT" && path.includes("comp=lease") ? { status: 503 } : "forward");
  try {
    const throughProxy = BlobServiceClient.fromConnectionString(
      viaProxy(azuriteConnectionString(), proxy.url),
    ).getContainerClient(container.containerName);
    const a = new CheckpointStore(throughProxy, { leaseSeconds: 15, replicaId: "a" });
    await a.ensureContainer();
    for (let i = 0; i < 3; i++) {
      const held = await a.tryAcquire(SOURCE, `${BLOB}.bounded-${i}`);
      assert.ok(held);
      held.keep();
    }
    failing = true;
    const started = Date.now();
    await a.releaseKept(1_000);
    const took = Date.now() - started;
    // Unbounded, the SDK's retries (backing off 4 s, then 8 s...) would take 28 s or more.
    assert.ok(took < 3_000, `gave up after ${took} ms`);
    const refused = proxy.seen.filter((request) => request.path.includes("comp=lease") && request.fault !== "forward");
    assert.ok(refused.length >= 3, "each kept lease was asked to be released");
    const raw = container.getBlockBlobClient(checkpointBlobName(SOURCE, `${BLOB}.bounded-0`));
    assert.equal((await raw.getProperties()).leaseState, "leased", "not released: left to run out");
  } finally {
    await proxy.stop();
  }
});

test("the caught-up ETags of every checkpoint come from one listing, which says each checkpoint it lists (a sign of life at start-up)", async () => {
  const checkpoints = scratch.container("caughtup-listing");
  const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "a" });
  await store.ensureContainer();
  for (const [i, name] of ["x/PT1H.json", "y/PT1H.json", "z/PT1H.json"].entries()) {
    const held = (await store.tryAcquire("src", name))!;
    await held.save({ ...held.checkpoint, offset: 10 + i, ...(i < 2 ? { etag: `0x${i}` } : {}) });
    await held.release();
  }
  let listed = 0;
  const etags = await store.caughtUpEtags(() => { listed++; });
  assert.equal(listed, 3);
  assert.deepEqual([...etags].sort(), [["src/x/PT1H.json", "0x0"], ["src/y/PT1H.json", "0x1"]], "only caught-up ones carry an ETag");
});

test("the start-up listing of the checkpoints asks Azure for small pages, not its default 5,000 (a page in flight is held on the heap with the map)", async () => {
  const checkpoints = scratch.container("caughtup-pages");
  const store = new CheckpointStore(checkpoints, { leaseSeconds: 15, replicaId: "a" });
  await store.ensureContainer();
  for (const name of ["x/PT1H.json", "y/PT1H.json"]) {
    const held = (await store.tryAcquire("src", name))!;
    await held.save({ ...held.checkpoint, offset: 10, etag: "0x1" });
    await held.release();
  }
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, () => "forward");
  try {
    const viaItsProxy = BlobServiceClient.fromConnectionString(viaProxy(azuriteConnectionString(), proxy.url)).getContainerClient(checkpoints.containerName);
    const etags = await new CheckpointStore(viaItsProxy, { leaseSeconds: 15, replicaId: "b" }).caughtUpEtags();
    assert.equal(etags.size, 2);
    const listings = proxy.seen.filter((r) => /[?&]comp=list\b/.test(r.path));
    assert.equal(listings.length, 1);
    assert.equal(new URL(listings[0]!.path, "http://x").searchParams.get("maxresults"), String(CHECKPOINT_LISTING_PAGE_BLOBS));
    assert.ok(CHECKPOINT_LISTING_PAGE_BLOBS <= 1_000);
  } finally {
    await proxy.stop();
  }
});
