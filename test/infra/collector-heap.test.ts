// The collector's heap follows collector.memoryGb (infra/components/collectorHeap.ts): the image's cap at 1 GB, every
// MB beyond it added; the NODE_OPTIONS the container gets are the image's at 1 GB, and the image's Node.js takes them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { collectorNodeOptions, collectorOldSpaceMb } from "../../infra/components/collectorHeap";
import { imageMemoryEnvironment, imageNodeFlags } from "../../scripts/bench/imageRuntime";
import { imageNode } from "../support/env";

test("collector heap: the image's 128 MB up to 1 GB of container memory, then every MB beyond 1 GB", () => {
  assert.deepEqual([0.3, 0.5, 1, 1.1, 1.5, 2, 4, 16].map(collectorOldSpaceMb), [128, 128, 128, 230, 640, 1152, 3200, 15488]);
});

test("collector heap: at 1 GB the container's NODE_OPTIONS are exactly the image's (collector/Dockerfile), so the benchmarks measure what deploys", () => {
  assert.equal(collectorNodeOptions(1), imageMemoryEnvironment().NODE_OPTIONS);
});

/** heap_size_limit, in MB, of the image's Node.js started as the image starts it, with `nodeOptions` as NODE_OPTIONS. */
function heapLimitMb(nodeOptions: string): number {
  const out = execFileSync(imageNode(), [...imageNodeFlags(), "-p", "require('node:v8').getHeapStatistics().heap_size_limit"], {
    env: { PATH: process.env.PATH ?? "", NODE_OPTIONS: nodeOptions }, encoding: "utf8",
  });
  return Number(out.trim()) / 1048576;
}

test("collector heap: the image's Node.js accepts the container's NODE_OPTIONS and caps the heap by them (a flag it refused would stop the container at start)", () => {
  // heap_size_limit is the old generation's cap plus the young generation's (three semi-spaces of 8 MB here).
  for (const memoryGb of [1, 2, 4]) {
    const limit = heapLimitMb(collectorNodeOptions(memoryGb));
    const oldSpace = collectorOldSpaceMb(memoryGb);
    assert.ok(limit >= oldSpace && limit <= oldSpace + 32, `${memoryGb} GB: heap limit ${limit} MB for an old space of ${oldSpace} MB`);
  }
});
