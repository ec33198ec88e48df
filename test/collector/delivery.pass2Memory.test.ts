// Pass 2 of a long record under the image's heap: a window of tiny elements must not be parsed all at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

test("a long record of 5 MiB of one-character tuples (2.6 million rejects) streams through pass 2 within a 128 MB heap", () => {
  // Before pass 2 took its windows in pieces, the first 4 MiB window became 2 million parsed elements at once: out of heap.
  const child = resolve(__dirname, "../support/longRecordPass2Child.ts");
  const out = execFileSync(process.execPath, ["--max-old-space-size=128", "--import", "tsx", child, "5"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const result = JSON.parse(out.trim().split("\n").pop()!) as { deadLetters: number; elements: number; peakHeapMiB: number };
  assert.equal(result.deadLetters, result.elements, "every element set aside, one dead letter each");
  assert.ok(result.peakHeapMiB < 100, `peak heap ${result.peakHeapMiB.toFixed(1)} MiB`);
});
