// The collector's V8 heap follows the container's memory (collector.memoryGb). The image caps the old generation at
// 128 MB (collector/Dockerfile, NODE_OPTIONS): what the benchmarks measure, about 190 MB RSS at peak on a 200 MB
// PT1H.json. The scheduler remembers about 120 bytes per blob of retention on that heap (collector/src/service/README.md,
// "Memory at scale"), so 128 MB holds roughly 700,000 blobs; more memory for the container would be unused without a
// larger cap, and the collector would run out of heap at start-up, restart and run out again: a stall.
// So the container gets NODE_OPTIONS with the cap raised by every MB the container has beyond 1 GB.

/** The image's own NODE_OPTIONS values (collector/Dockerfile; a test holds them equal). */
export const IMAGE_OLD_SPACE_MB = 128;
export const IMAGE_SEMI_SPACE_MB = 8;
/** What a 1 GB container keeps beside the image's heap: the rest of the process (about 60 MB) with a wide margin. */
const BESIDE_HEAP_MB = 1024 - IMAGE_OLD_SPACE_MB;
/** The smallest container the collector fits: its peak RSS (about 190 MB, npm run bench) with a margin. */
export const MIN_COLLECTOR_MEMORY_GB = 0.3;

/** The old generation's cap for a container of `memoryGb`: the image's at 1 GB and below, all memory beyond 1 GB added. */
export function collectorOldSpaceMb(memoryGb: number): number {
  return Math.max(IMAGE_OLD_SPACE_MB, Math.floor(memoryGb * 1024) - BESIDE_HEAP_MB);
}

/** NODE_OPTIONS for the container: replaces the image's, so it repeats the young generation's size. */
export function collectorNodeOptions(memoryGb: number): string {
  return `--max-old-space-size=${collectorOldSpaceMb(memoryGb)} --max-semi-space-size=${IMAGE_SEMI_SPACE_MB}`;
}
