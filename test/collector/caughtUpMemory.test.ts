// What the scheduler keeps per blob of retention (the caught-up ETags, collector.ts), measured on the heap: blob
// names and ETags cut out of listing pages, as an XML parser cuts them, so a kept substring would keep its page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { ContainerClient } from "@azure/storage-blob";
import { CheckpointStore } from "../../collector/src/checkpoint/store";
import { blobKey } from "../../collector/src/blobKey";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const CHECKPOINTS = 40_000;
const PAGE = 5_000;

/** A checkpoint container listing of VNet flow-log checkpoints, 5,000 per page, each item cut from its page's text. */
function listing(): ContainerClient {
  const two = (n: number): string => String(n).padStart(2, "0");
  return {
    containerName: "checkpoints",
    async *listBlobsFlat() {
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
        for (const [a, b, c, d] of cuts) yield { name: page.slice(a, b), metadata: { caughtupetag: page.slice(c, d) } };
      }
    },
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
