// What the scheduler keeps per blob of retention (the caught-up ETags, collector.ts), measured on the heap: blob
// names and ETags cut out of listing pages, as an XML parser cuts them, so a kept substring would keep its page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { ContainerClient } from "@azure/storage-blob";
import { CHECKPOINT_LISTING_PAGE_BLOBS, CheckpointStore } from "../../collector/src/checkpoint/store";
import { blobKey, blobKeyBucket } from "../../collector/src/blobKey";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const CHECKPOINTS = 40_000;
const PAGE = CHECKPOINT_LISTING_PAGE_BLOBS;

/** A checkpoint container listing of VNet flow-log checkpoints, a page at a time, each item cut from its page's text. */
function listing(): ContainerClient {
  const two = (n: number): string => String(n).padStart(2, "0");
  async function* pages(maxPageSize: number) {
    assert.equal(maxPageSize, PAGE, "the store asks for its own page size");
    for (let first = 0; first < CHECKPOINTS; first += PAGE) {
      let page = "";
      const cuts: Array<[number, number, number, number]> = [];
      for (let i = first; i < first + PAGE; i++) {
        const hour = new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 400) * 3_600_000);
        const name = "insights-logs-flowlogflowevent/flowLogResourceID=/1A2B3C4D-0000-1111-2222-333344445555_NETWORKWATCHERRG/" +
          `NETWORKWATCHER_EASTUS_VNET-PROD-FLOWLOG/y=${hour.getUTCFullYear()}/m=${two(hour.getUTCMonth() + 1)}/d=${two(hour.getUTCDate())}/` +
          `h=${two(hour.getUTCHours())}/m=00/macAddress=000D3A${(i % 400).toString(16).padStart(6, "0").toUpperCase()}/PT1H.json.checkpoint`;
        const etag = `0x8DC${(i * 7919).toString(16).toUpperCase().padStart(11, "0")}`;
        const at = page.length + 6;
        page += `<Name>${name}</Name><Etag>${etag}</Etag>`;
        cuts.push([at, at + name.length, at + name.length + 13, at + name.length + 13 + etag.length]);
      }
      yield { segment: { blobItems: cuts.map(([a, b, c, d]) => ({ name: page.slice(a, b), metadata: { caughtupetag: page.slice(c, d) } })) } };
    }
  }
  return {
    containerName: "checkpoints",
    listBlobsFlat: () => ({ byPage: ({ maxPageSize }: { maxPageSize: number }) => pages(maxPageSize) }),
  } as unknown as ContainerClient;
}

async function bytesPerEntry(key?: (path: string) => string): Promise<{ bytes: number; etags: Map<string, string> }> {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const etags = await new CheckpointStore(listing(), { leaseSeconds: 15, replicaId: "m" }).caughtUpEtags(undefined, key);
  gc();
  gc();
  return { bytes: (process.memoryUsage().heapUsed - before) / etags.size, etags };
}

test("the caught-up ETag of a blob costs about 120 bytes with the scheduler's keys, not its name and listing page (about 360)", async () => {
  const compact = await bytesPerEntry(blobKey);
  const named = await bytesPerEntry();
  assert.equal(compact.etags.size, CHECKPOINTS);
  assert.ok(compact.bytes < 160, `${compact.bytes.toFixed(0)} B per blob with digest keys`);
  assert.ok(named.bytes > 2 * compact.bytes, `${named.bytes.toFixed(0)} B per blob keyed by name`);
  const [path, etag] = [...named.etags][7]!;
  assert.equal(compact.etags.get(blobKey(path)), etag, "the same ETags under the digest keys");
});

test("a full listing's set of blobs seen holds 30-bit numbers from the keys: under 60 % of the key strings' memory, and almost never two blobs on one number", () => {
  // V8 flushes the bytecode of functions not run lately at its collections, which would be counted here as freed.
  setFlagsFromString("--no-flush-bytecode");
  const perBlob = (add: (set: Set<unknown>, key: string) => void, count = 40_000): number => {
    const names = Array.from({ length: count }, (_, i) => `insights-logs-flowlogflowevent/flowLogResourceID=/X/h=${i}/PT1H.json`);
    for (const name of names) name.charCodeAt(name.length - 1); // flattened now, not while measured
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    const seen = new Set<unknown>();
    for (const name of names) add(seen, blobKey(name)); // each key made as the listing makes it, then dropped
    gc();
    gc();
    const bytes = (process.memoryUsage().heapUsed - before) / names.length;
    assert.ok(seen.size > names.length - 10);
    return bytes;
  };
  const asNumber = (set: Set<unknown>, key: string) => set.add(blobKeyBucket(key));
  const asString = (set: Set<unknown>, key: string) => set.add(key);
  perBlob(asNumber, 2_000); // compiled and warmed before measuring: the code is not the set's
  perBlob(asString, 2_000);
  const numbers = perBlob(asNumber);
  const strings = perBlob(asString);
  console.log(`seen set: ${numbers.toFixed(1)} B per blob as numbers, ${strings.toFixed(1)} as key strings`);
  // The figures move with the process (26-33 against 74-81 in a process of their own, 43-48 against 108 here).
  assert.ok(numbers < 0.6 * strings && strings - numbers > 30, `${numbers.toFixed(0)} B per blob as numbers, ${strings.toFixed(0)} as key strings`);
  const buckets = new Set(Array.from({ length: 200_000 }, (_, i) => blobKeyBucket(blobKey(`c/${i}/PT1H.json`))));
  assert.ok(buckets.size > 200_000 - 100, `${200_000 - buckets.size} shared numbers among 200,000 blobs (about 19 expected)`);
  for (const bucket of buckets) assert.ok(Number.isInteger(bucket) && bucket >= 0 && bucket < 2 ** 30);
});
