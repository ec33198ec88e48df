// Checkpoints in Azure Storage: one small JSON blob per source blob in a container of its own. A replica takes a
// blob lease on the checkpoint blob before reading the source blob, renews it while working, and writes the
// checkpoint with that lease and the ETag it last saw, so a replica that lost its lease (or a stale writer) fails
// instead of overwriting newer progress. A job that ends keeps its lease rather than releasing it: the blob's next
// job (the next poll) takes it again under the same lease id, and the stop releases what is still held.
import type { BlobLeaseClient, BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { ownCopy } from "../blobKey";
import { StorageFailure } from "../storageFailure";
import { CHECKPOINT_SUFFIX, checkpointBlobName, emptyCheckpoint, parseCheckpoint, type BlobCheckpoint } from "./state";

/** Checkpoints per page of the start-up listing (caughtUpEtags); the flow-log listings' full pages are as small (source/listing.ts). */
export const CHECKPOINT_LISTING_PAGE_BLOBS = 1_000;

/**
 * A checkpoint is a few hundred bytes (a blob name of at most 1,024 characters and a few numbers). Anything over
 * this is not one: it is reported as damaged without being downloaded whole (a 200 MB garbage blob would not fit
 * the collector's heap).
 */
export const MAX_CHECKPOINT_BYTES = 64 * 1024;

/** Blob metadata on a checkpoint: the source ETag it caught up with (its `etag` field), readable from a listing. */
const CAUGHT_UP_METADATA = "caughtupetag";

/**
 * How many checkpoints a store remembers by default as it last wrote or read them: about 1 KB each with Azure's
 * blob names (8.1 MB measured for 8,192), so 4 MB at most of the image's 128 MB heap. A tailing replica works on one
 * current blob per flow-log NIC (two around the hour); past this, the least recently used memory goes and that blob
 * takes the usual path.
 */
export const REMEMBERED_CHECKPOINTS = 4_096;

/** Kept leases released at once when the collector stops (CheckpointStore.releaseKept). */
const RELEASES_AT_ONCE = 16;

/**
 * The longest the stop spends releasing kept leases, and a job its lease: each runs out by itself anyway, and with
 * storage unreachable the SDK's retries (4 tries, backing off from 4 s) would hold a stopping container for minutes.
 */
export const RELEASE_KEPT_MS = 5_000;

/** A checkpoint write Azure Storage did not take (503s, timeouts, a condition not met): nothing about the data. */
export class CheckpointWriteError extends StorageFailure {}

export interface CheckpointStoreOptions {
  /** Lease duration in seconds: 15–60 (Azure's limits for a finite lease). */
  leaseSeconds: number;
  /** Who writes (recorded in the checkpoint for operators). */
  replicaId: string;
  /** How many checkpoints are remembered (default REMEMBERED_CHECKPOINTS). */
  remember?: number;
  /** Called when a stored checkpoint could not be read and was replaced by an empty one. */
  onDamaged?: (name: string, reason: string) => void;
  /** Called when a renewal fails: the holder must stop working on the blob. */
  onLeaseLost?: (name: string, reason: string) => void;
  /** Called when the checkpoint container had disappeared (deleted, storage recreated) and was created again. */
  onContainerRecreated?: (container: string) => void;
}

/** A held lease on one source blob's checkpoint. */
export interface LeasedCheckpoint {
  readonly name: string;
  /** The Azure lease id (for callers that must act on the checkpoint blob under the same lease). */
  readonly leaseId: string;
  /**
   * The checkpoint is the version this process itself last wrote or read, proven by its ETag (`tryAcquireRemembered`):
   * no process crashed on the blob since, as this one is alive and no other wrote.
   */
  readonly remembered: boolean;
  /** This call created the checkpoint and took the lease on the ETag its create answered: it was not read. */
  readonly created: boolean;
  checkpoint: BlobCheckpoint;
  /** Aborted when the lease could not be renewed. */
  readonly lost: AbortSignal;
  /** Writes the checkpoint under the lease, if it is still the version last read or written; `abortSignal` ends the write. */
  save(checkpoint: BlobCheckpoint, abortSignal?: AbortSignal): Promise<void>;
  /** Remove the checkpoint (the source blob is gone). Releases the lease with it. */
  forget(abortSignal?: AbortSignal): Promise<void>;
  /**
   * Done with the blob for now, without a request: the lease is left to run out (at most the lease duration) and
   * this store's next lease on the blob is asked under the same id, which Azure grants while it is still held.
   * Another replica meanwhile finds the blob busy, as it would during the job. `releaseKept` releases them all.
   */
  keep(): void;
  /** Releases the lease, waiting at most RELEASE_KEPT_MS (it runs out by itself anyway): not ended by a stop. */
  release(): Promise<void>;
  /**
   * Reads the checkpoint back under the lease, for after a write whose answer never came (a stop cut it short):
   * Azure may hold it or not, and later writes go on from what it holds (its content and ETag).
   */
  reread(abortSignal?: AbortSignal): Promise<void>;
  /**
   * Takes a lost lease back under its id, for one last write (a try given back). Azure renews an expired lease only
   * while nobody has leased or written the blob since, so on true the checkpoint is still the one this holder last
   * read or wrote; false when another replica holds it (it owns the checkpoint now) or storage did not answer.
   */
  reclaim(abortSignal?: AbortSignal): Promise<boolean>;
}

/** A checkpoint as this replica last wrote or read it under a lease, with the ETag of that version. */
interface Remembered {
  checkpoint: BlobCheckpoint;
  etag: string;
}

/** A lease a finished job kept (LeasedCheckpoint.keep): its id, and when it runs out at the latest. */
interface KeptLease {
  leaseId: string;
  until: number;
}

export class CheckpointStore {
  /**
   * By checkpoint blob name. A lease taken on the condition that the checkpoint's ETag is still the remembered one
   * proves its content is the remembered checkpoint (every write changes the ETag; a lease does not), so a tailing
   * job skips the peek and the read under the lease: two of its Azure requests.
   */
  private readonly remembered = new Map<string, Remembered>();
  /**
   * By checkpoint blob name: leases kept after their jobs (#12). Releasing one costs a request per tailing job; a
   * lease taken again under its own id costs nothing more than a new one, so about a fifth of a tailing job's Azure
   * requests (lease, block list, download, checkpoint write, release) go.
   */
  private readonly kept = new Map<string, KeptLease>();

  constructor(readonly container: ContainerClient, readonly options: CheckpointStoreOptions) {
    if (!(options.leaseSeconds >= 15 && options.leaseSeconds <= 60)) {
      throw new Error(`lease duration ${options.leaseSeconds} s is outside Azure's 15–60 s range`);
    }
  }

  /**
   * Creates the checkpoint container if it is missing. Credentials scoped to the container itself (the deployment's
   * role assignment, or a container SAS) may not create containers: Azure answers 403 even when it exists. Then a
   * one-item listing proves it is there and usable, and a missing one fails here with the fix instead of later.
   */
  async ensureContainer(): Promise<void> {
    try {
      await this.container.createIfNotExists();
      return;
    } catch (error) {
      if (statusOf(error) !== 403) throw error;
    }
    try {
      await this.container.listBlobsFlat().byPage({ maxPageSize: 1 }).next();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      throw new Error(
        `checkpoint container ${this.container.containerName} does not exist and this identity may not create it ` +
          `(403 on create): create it (the Pulumi program declares it) or point FLOWLOGS_CHECKPOINT_CONTAINER at one that exists`,
      );
    }
  }

  /**
   * The checkpoint container disappeared while the service ran (deleted, storage account recreated): every blob's
   * progress is gone with it. Create it again when this identity may; otherwise say exactly that, with the fix.
   */
  private async recreateContainer(abortSignal?: AbortSignal): Promise<void> {
    try {
      const created = await this.container.createIfNotExists({ abortSignal });
      if (created.succeeded) this.options.onContainerRecreated?.(this.container.containerName);
    } catch (error) {
      if (statusOf(error) !== 403) throw error;
      throw new Error(
        `checkpoint container ${this.container.containerName} no longer exists and this identity may not create it ` +
          `(403 on create): create it again (pulumi up declares it, with the collector's role on it) or point ` +
          `FLOWLOGS_CHECKPOINT_CONTAINER at one that exists; no blob can make progress until then`,
      );
    }
  }

  /**
   * The source ETag each stored checkpoint caught up with, keyed `<container>/<blob>`, from one listing of the
   * checkpoint container rather than one read per checkpoint: after a restart, the blobs already read cost nothing.
   * Checkpoints written before this metadata existed are simply absent (they are peeked). Pages of
   * CHECKPOINT_LISTING_PAGE_BLOBS: the map is nearly full by the last page, and one of Azure's default 5,000-blob
   * pages in flight (15-20 MB of heap) ran the image's 128 MB heap out near 600,000 blobs of retention, at every start.
   * `listed` is called for each checkpoint listed; `key` makes the map's key of a source blob's `<container>/<name>`.
   */
  async caughtUpEtags(listed?: () => void, key: (path: string) => string = (path) => path, abortSignal?: AbortSignal): Promise<Map<string, string>> {
    const etags = new Map<string, string>();
    const pages = this.container.listBlobsFlat({ includeMetadata: true, abortSignal }).byPage({ maxPageSize: CHECKPOINT_LISTING_PAGE_BLOBS });
    for await (const page of pages) {
      for (const item of page.segment.blobItems) {
        listed?.();
        const etag = item.metadata?.[CAUGHT_UP_METADATA];
        if (etag && item.name.endsWith(CHECKPOINT_SUFFIX)) etags.set(key(item.name.slice(0, -CHECKPOINT_SUFFIX.length)), ownCopy(etag));
      }
    }
    return etags;
  }

  /** Read a checkpoint without a lease (metrics, tests). */
  async peek(container: string, blob: string, abortSignal?: AbortSignal): Promise<BlobCheckpoint | undefined> {
    const name = checkpointBlobName(container, blob);
    const client = this.container.getBlockBlobClient(name);
    try {
      const stored = await readCheckpointText(client, undefined, abortSignal);
      // Another replica wrote since: the memory would only cost a refused lease next time.
      if (stored.etag !== this.remembered.get(name)?.etag) this.remembered.delete(name);
      if (stored.damaged !== undefined) throw new Error(stored.damaged);
      return parseCheckpoint(stored.text, container, blob);
    } catch (error) {
      if (statusOf(error) === 404) {
        this.remembered.delete(name);
        return undefined;
      }
      throw error;
    }
  }

  /**
   * Take the lease for a source blob whose checkpoint this store remembers, on the condition that the checkpoint is
   * still the version remembered: then it is not read again. "busy" when another replica holds the lease; undefined
   * when nothing is remembered (never seen, evicted), "stale" when the memory was out of date (written by another
   * replica since: Azure answers 412; or deleted); then the caller takes the usual path (peek, `tryAcquire`).
   */
  async tryAcquireRemembered(container: string, blob: string, abortSignal?: AbortSignal): Promise<LeasedCheckpoint | "busy" | "stale" | undefined> {
    const name = checkpointBlobName(container, blob);
    const memory = this.remembered.get(name);
    if (!memory) return undefined;
    const client = this.container.getBlockBlobClient(name);
    const lease = this.leaseClient(name, client);
    const asked = Date.now();
    try {
      await lease.acquireLease(this.options.leaseSeconds, { conditions: { ifMatch: memory.etag }, abortSignal });
    } catch (error) {
      if (statusOf(error) === 409) return "busy"; // LeaseAlreadyPresent
      // 412: written by another replica since; 404: deleted (or its container). The usual path handles both.
      if (statusOf(error) === 412 || statusOf(error) === 404) {
        this.remembered.delete(name);
        return "stale";
      }
      throw error;
    }
    return new Held(name, client, lease, asked, memory.checkpoint, memory.etag, this.options, this.memory(name), true, false);
  }

  /** A lease client for the checkpoint `name`: under the id of a lease kept for it, if any, else a new one. */
  private leaseClient(name: string, client: BlockBlobClient): BlobLeaseClient {
    const kept = this.kept.get(name);
    this.kept.delete(name); // held again, or lost to another replica: either way no longer kept
    return client.getBlobLeaseClient(kept?.leaseId);
  }

  /**
   * Releases the leases finished jobs kept and that have not run out yet, a few requests at a time (the collector's
   * stop: a replica starting now, e.g. in a rolling deploy, need not wait for them), for at most `withinMs`. Failures
   * are ignored: such a lease runs out by itself within the lease duration.
   */
  async releaseKept(withinMs = RELEASE_KEPT_MS): Promise<void> {
    const now = Date.now();
    const live = [...this.kept].filter(([, lease]) => lease.until > now);
    this.kept.clear();
    const abortSignal = AbortSignal.timeout(withinMs);
    for (let i = 0; i < live.length && !abortSignal.aborted; i += RELEASES_AT_ONCE) {
      await Promise.all(live.slice(i, i + RELEASES_AT_ONCE).map(([name, { leaseId }]) =>
        this.container.getBlockBlobClient(name).getBlobLeaseClient(leaseId).releaseLease({ abortSignal }).catch(() => undefined)));
    }
  }

  /**
   * What a held lease reports back: the version it read or wrote (remembered), that the checkpoint is gone, or that
   * its job kept the lease.
   */
  private memory(name: string): CheckpointMemory {
    return {
      set: (checkpoint, etag) => {
        this.remembered.delete(name); // set again below (last, by setBounded) unless not worth keeping
        // A blob whose hour is over is rarely read again (a late write takes the usual path): not worth its memory.
        if (etag === undefined || checkpoint.done) return;
        // Frozen: changed in place, it would no longer be what the ETag proves is stored.
        this.setBounded(this.remembered, name, { checkpoint: Object.freeze(checkpoint), etag });
      },
      forget: () => void this.remembered.delete(name),
      // Bounded as the remembered checkpoints: a lease dropped here simply runs out.
      keep: (lease) => this.setBounded(this.kept, name, lease),
    };
  }

  /**
   * Sets `name` last in `map` (a Map's order is its eviction order) and drops the oldest entry beyond the number of
   * checkpoints remembered.
   */
  private setBounded<T>(map: Map<string, T>, name: string, value: T): void {
    map.delete(name);
    map.set(name, value);
    if (map.size > (this.options.remember ?? REMEMBERED_CHECKPOINTS)) map.delete(map.keys().next().value!);
  }

  /**
   * Take the lease for a source blob, or return undefined when another replica holds it. Creates the checkpoint
   * blob on first use (a lease needs an existing blob). `exists`: the caller has just read the checkpoint (peek),
   * so the create-if-missing upload is skipped (one request per job of the tailing service); one deleted since is
   * still created, as the lease then answers 404. `abortSignal` ends its requests (the collector's stop).
   */
  async tryAcquire(
    container: string, blob: string, { exists = false, abortSignal }: { exists?: boolean; abortSignal?: AbortSignal } = {},
  ): Promise<LeasedCheckpoint | undefined> {
    const name = checkpointBlobName(container, blob);
    const client = this.container.getBlockBlobClient(name);
    const empty = emptyCheckpoint(container, blob);
    const initial = JSON.stringify(empty);
    const createInitial = () => client.upload(initial, Buffer.byteLength(initial), {
      conditions: { ifNoneMatch: "*" }, blobHTTPHeaders: { blobContentType: "application/json" }, abortSignal,
    });
    // The ETag of the checkpoint this call created, if it did: then it need not be read under the lease.
    let created: string | undefined;
    try {
      if (!exists) {
        const response = await createInitial().catch(async (error) => {
          if (!isContainerNotFound(error)) throw error;
          await this.recreateContainer(abortSignal);
          return createInitial();
        });
        created = response.etag;
      }
    } catch (error) {
      // 409 (exists, leased) or 412 (exists): fine, someone created it first.
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
    }
    const lease = this.leaseClient(name, client);
    const asked = Date.now();
    try {
      await lease.acquireLease(this.options.leaseSeconds, { conditions: created ? { ifMatch: created } : undefined, abortSignal });
    } catch (error) {
      if (statusOf(error) === 409) return undefined; // LeaseAlreadyPresent: another replica works on it
      if (statusOf(error) === 404) return this.tryAcquire(container, blob, { abortSignal }); // forgotten meanwhile (or its container): create
      // Written by another replica since this call created it: lease and read it as usual.
      if (statusOf(error) === 412 && created) return this.tryAcquire(container, blob, { exists: true, abortSignal });
      throw error;
    }
    if (created) {
      // A lease on the condition of the ETag this call's create answered proves the checkpoint is still the one it
      // wrote: it is not read (a request fewer on a blob's first job). It is not `remembered`: the job still counts
      // its try ahead, so a record that kills every process is set aside after FLOWLOGS_MAX_ATTEMPTS crashes from
      // the blob's very first job (service.bounded.test.ts).
      const memory = this.memory(name);
      memory.set(empty, created);
      return new Held(name, client, lease, asked, empty, created, this.options, memory, false, true);
    }
    try {
      const stored = await readCheckpointText(client, lease.leaseId, abortSignal);
      let checkpoint: BlobCheckpoint;
      try {
        if (stored.damaged !== undefined) throw new Error(stored.damaged);
        checkpoint = parseCheckpoint(stored.text, container, blob);
      } catch (error) {
        this.options.onDamaged?.(name, (error as Error).message);
        checkpoint = emptyCheckpoint(container, blob);
      }
      const memory = this.memory(name);
      memory.set(checkpoint, stored.etag);
      return new Held(name, client, lease, asked, checkpoint, stored.etag, this.options, memory, false, false);
    } catch (error) {
      await lease.releaseLease({ abortSignal: AbortSignal.timeout(RELEASE_KEPT_MS) }).catch(() => undefined);
      throw error;
    }
  }
}

interface CheckpointMemory {
  set(checkpoint: BlobCheckpoint, etag: string | undefined): void;
  forget(): void;
  keep(lease: KeptLease): void;
}

class Held implements LeasedCheckpoint {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private released = false;
  /** A lost lease taken back (reclaim): it may be written under again. */
  private reclaimed = false;

  constructor(
    readonly name: string,
    private readonly client: BlockBlobClient,
    private readonly lease: BlobLeaseClient,
    /** When the lease's clock last started at the latest: the acquire or renewal was sent then (Date.now()). */
    private renewedAt: number,
    public checkpoint: BlobCheckpoint,
    private etag: string | undefined,
    private readonly options: CheckpointStoreOptions,
    private readonly memory: CheckpointMemory,
    readonly remembered: boolean,
    readonly created: boolean,
  ) {
    // Renew at a third of the duration so one failed renewal still leaves time for another.
    this.timer = setInterval(() => void this.renew(), (options.leaseSeconds * 1000) / 3);
    this.timer.unref();
  }

  get leaseId(): string {
    return this.lease.leaseId;
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    const asked = Date.now();
    // A renewal still unanswered when the lease may have run out at Azure (its clock started no earlier than
    // renewedAt) is given up: another replica may hold the blob by then, and the storage deadline (45 s a try, 4
    // tries) is far longer than the lease, so without this the job would go on working on the blob for minutes.
    const runsOut = this.renewedAt + this.options.leaseSeconds * 1000 - asked;
    try {
      await this.lease.renewLease({ abortSignal: AbortSignal.timeout(Math.max(1, runsOut)) });
      this.renewedAt = asked;
    } catch (error) {
      if (this.released) return;
      this.controller.abort();
      clearInterval(this.timer);
      const reason = Date.now() - asked >= runsOut ? `no renewal answered within the lease's ${this.options.leaseSeconds} s` : (error as Error).message;
      this.options.onLeaseLost?.(this.name, reason);
    }
  }

  async save(checkpoint: BlobCheckpoint, abortSignal?: AbortSignal): Promise<void> {
    if (this.controller.signal.aborted && !this.reclaimed) throw new Error(`lease on ${this.name} was lost; checkpoint not written`);
    const stamped: BlobCheckpoint = { ...checkpoint, updatedBy: this.options.replicaId, updatedAt: new Date().toISOString() };
    const text = JSON.stringify(stamped);
    const etag = await this.client.upload(text, Buffer.byteLength(text), {
      conditions: { leaseId: this.lease.leaseId, ifMatch: this.etag },
      blobHTTPHeaders: { blobContentType: "application/json" },
      metadata: checkpoint.etag ? { [CAUGHT_UP_METADATA]: checkpoint.etag } : undefined,
      abortSignal,
    }).then((response) => response.etag, async (error: unknown) => {
      // A try Azure applied whose answer was lost (a timeout, a cut connection) is sent again by the SDK with the old
      // If-Match, and refused 412: this write is in the blob all the same when the blob holds exactly its text
      // (stamped with this replica and the millisecond). Taken as not written, a count-ahead try would stay counted.
      if (statusOf(error) === 412) {
        const written = await readCheckpointText(this.client, this.lease.leaseId, abortSignal).catch(() => undefined);
        if (written?.text === text && written.etag) return written.etag;
      }
      throw new CheckpointWriteError(error);
    });
    this.etag = etag;
    this.checkpoint = stamped;
    this.memory.set(stamped, etag);
  }

  async reread(abortSignal?: AbortSignal): Promise<void> {
    const stored = await readCheckpointText(this.client, this.lease.leaseId, abortSignal);
    if (stored.damaged !== undefined) throw new Error(stored.damaged);
    this.checkpoint = parseCheckpoint(stored.text, this.checkpoint.container, this.checkpoint.blob);
    this.etag = stored.etag;
    this.memory.set(this.checkpoint, stored.etag);
  }

  async reclaim(abortSignal?: AbortSignal): Promise<boolean> {
    if (!this.controller.signal.aborted || this.reclaimed) return true;
    if (this.released) return false;
    const asked = Date.now();
    try {
      await this.lease.renewLease({ abortSignal });
    } catch {
      return false;
    }
    this.renewedAt = asked;
    this.reclaimed = true;
    return true;
  }

  async forget(abortSignal?: AbortSignal): Promise<void> {
    this.stop();
    this.memory.forget();
    await this.client.delete({ conditions: { leaseId: this.lease.leaseId }, abortSignal }).catch((error) => {
      if (statusOf(error) !== 404) throw error;
    });
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.stop();
    // Expired or already gone: nothing to release; storage unreachable: it runs out by itself.
    await this.lease.releaseLease({ abortSignal: AbortSignal.timeout(RELEASE_KEPT_MS) }).catch(() => undefined);
  }

  keep(): void {
    if (this.released) return;
    this.stop();
    if (this.controller.signal.aborted) return; // lost: not this replica's to take again
    this.memory.keep({ leaseId: this.lease.leaseId, until: this.renewedAt + this.options.leaseSeconds * 1000 });
  }

  private stop(): void {
    this.released = true;
    clearInterval(this.timer);
  }
}

function isContainerNotFound(error: unknown): boolean {
  return statusOf(error) === 404 && (error as { code?: unknown }).code === "ContainerNotFound";
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * The checkpoint's text, downloading at most MAX_CHECKPOINT_BYTES + 1 bytes (one ranged GET), or why the blob cannot
 * be a checkpoint (too large, empty), with the ETag of the version read (for the conditional save).
 */
async function readCheckpointText(
  client: BlockBlobClient, leaseId?: string, abortSignal?: AbortSignal,
): Promise<{ etag?: string; text: string; damaged?: string }> {
  let download;
  try {
    download = await client.download(0, MAX_CHECKPOINT_BYTES + 1, { conditions: leaseId ? { leaseId } : undefined, abortSignal });
  } catch (error) {
    // A range on an empty blob: Azure answers 416.
    if (statusOf(error) === 416) return { text: "", damaged: "checkpoint blob is empty" };
    throw error;
  }
  const etag = download.etag;
  const total = Number(download.contentRange?.split("/")[1] ?? download.contentLength ?? 0);
  if (total > MAX_CHECKPOINT_BYTES) {
    download.readableStreamBody?.resume(); // the range is bounded anyway; do not keep it
    return { etag, text: "", damaged: `checkpoint blob is ${total} bytes, over the ${MAX_CHECKPOINT_BYTES} a checkpoint can be: not read` };
  }
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const part of download.readableStreamBody ?? []) {
    bytes += (part as Buffer).length;
    if (bytes > MAX_CHECKPOINT_BYTES) return { etag, text: "", damaged: `checkpoint blob is over ${MAX_CHECKPOINT_BYTES} bytes: not read` };
    parts.push(part as Buffer);
  }
  return { etag, text: Buffer.concat(parts).toString("utf8") };
}
