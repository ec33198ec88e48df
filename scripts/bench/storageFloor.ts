// What the collector's own Azure Storage requests cost for the cost dataset, and nothing else (#12): for each blob,
// its first job's checkpoint protocol (the collector's CheckpointStore: peek, create, lease, the try counted ahead,
// the caught-up write, release) and its reads (the committed block list and one ranged download, as
// collector/src/source makes them), `concurrency` blobs at a time as the collector works, from this process with the
// Azure SDK loaded and warm. No parsing and no sending: added to collector_cpu_share_floor's pipeline and sending, it
// gives the least a collector built on the Azure SDK could spend per document (collector_cpu_share_floor_with_storage
// in ingestCost.ts).
import type { ContainerClient } from "@azure/storage-blob";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { downloadRange } from "../../collector/src/source/download";
import { median } from "./stats";

export interface StorageFloor {
  /** CPU µs per document of the block lists and downloads. */
  readsUsPerDoc: number;
  /** CPU µs per document of the checkpoint requests. */
  checkpointsUsPerDoc: number;
  /** Requests per blob the two made together. */
  requestsPerBlob: number;
}

/** Median of `runs` runs, each with a new checkpoint container (`checkpoints(run)`, created here). */
export async function storageRequestsCpu(
  source: ContainerClient, checkpoints: (run: number) => ContainerClient, documents: number, runs = 3, concurrency = 4,
): Promise<StorageFloor> {
  const names: string[] = [];
  for await (const item of source.listBlobsFlat()) names.push(item.name);
  const reads: number[] = [];
  const writes: number[] = [];
  let requests = 0;
  for (let run = 0; run < runs; run++) {
    const store = new CheckpointStore(checkpoints(run), { leaseSeconds: 60, replicaId: "storage-floor" });
    await store.ensureContainer();
    writes.push(await cpuSecondsOf(names, concurrency, async (name) => {
      if (await store.peek(source.containerName, name)) throw new Error(`${name}: a fresh checkpoint container holds a checkpoint`);
      const held = await store.tryAcquire(source.containerName, name);
      if (!held) throw new Error(`${name}: its checkpoint is leased by someone else`);
      await held.save({ ...held.checkpoint, attempt: { offset: 0, count: 1 } }); // the try, counted ahead (blobJob.ts)
      await held.save({ ...held.checkpoint, offset: 1, etag: "caught-up", done: true });
      await held.release();
      if (run === 0) requests += 6; // peek, create, lease, try, caught-up write, release
    }));
    reads.push(await cpuSecondsOf(names, concurrency, async (name) => {
      const blob = source.getBlockBlobClient(name);
      const list = await blob.getBlockList("committed");
      const length = list.blobContentLength ?? 0;
      const body = await downloadRange(blob, 0, length, list.etag);
      if (body.length !== length) throw new Error(`${name}: downloaded ${body.length} of ${length} bytes`);
      if (run === 0) requests += 2;
    }));
    await checkpoints(run).deleteIfExists();
  }
  return {
    readsUsPerDoc: median(reads) * 1e6 / documents,
    checkpointsUsPerDoc: median(writes) * 1e6 / documents,
    requestsPerBlob: requests / names.length,
  };
}

/** This process's CPU seconds (user + system) for `work` on every name, `concurrency` at a time. */
async function cpuSecondsOf(names: string[], concurrency: number, work: (name: string) => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < names.length) await work(names[next++]!);
  }));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}
