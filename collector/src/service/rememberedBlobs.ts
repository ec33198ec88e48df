// The scheduler remembers every blob of retention it has caught up with (collector.ts, PollState.caughtUp), about 120
// bytes each (test/collector/caughtUpMemory.test.ts). That memory grows as retention fills, for weeks after a deploy;
// a heap it outgrows ends the process, and each restart lists the same checkpoints and ends again. So the service
// warns once, while a third of the heap is still enough, naming what to change.
import { getHeapStatistics } from "node:v8";

/** Heap per remembered blob (caughtUpMemory.test.ts measures under 160; about 120 with the scheduler's keys). */
export const BYTES_PER_REMEMBERED_BLOB = 120;
/** Warn once the remembered blobs would take this share of the heap's limit. */
const WARN_AT_SHARE = 1 / 3;

export interface RememberedBlobsWarning {
  blobs: number;
  estimatedMb: number;
  heapLimitMb: number;
  action: string;
}

/** The warning for `blobs` remembered on a heap of `heapLimitBytes`, or undefined while they take under a third of it. */
export function rememberedBlobsWarning(blobs: number, heapLimitBytes: number): RememberedBlobsWarning | undefined {
  const bytes = blobs * BYTES_PER_REMEMBERED_BLOB;
  if (bytes < heapLimitBytes * WARN_AT_SHARE) return undefined;
  const mb = (n: number) => Math.round(n / 1048576);
  // Half the heap for them, the rest for everything else (the image's 128 MB: roughly 700,000 blobs, service README).
  const fit = Math.floor(heapLimitBytes / 2 / BYTES_PER_REMEMBERED_BLOB / 1000) * 1000;
  return {
    blobs,
    estimatedMb: mb(bytes),
    heapLimitMb: mb(heapLimitBytes),
    action: `about ${fit} blobs of retention fit this heap; as retention fills, the process will run out of memory and restart without end. ` +
      "Give it more: collector.memoryGb in the Pulumi stack (every GB above 1 goes to the heap), or a larger " +
      "--max-old-space-size in NODE_OPTIONS; or keep fewer days of flow logs",
  };
}

/** The heap's limit of this process (its old and young generations), in bytes. */
export function heapLimitBytes(): number {
  return getHeapStatistics().heap_size_limit;
}
