// Child of service.tinyRecords.test.ts, run under the image's heap (--max-old-space-size=128): one pass of the
// collector over the blob the parent wrote, a counting sink; prints the outcome as JSON on its last line.
import { runCollector } from "../../collector/src/service/collector";
import { loadConfig } from "../../collector/src/service/config";

let letters = 0;
let indexed = 0;
const sink = {
  async write(batch: unknown[]) { indexed += batch.length; return { indexed: batch.length, duplicates: 0, deadLettered: 0, retries: 0 }; },
  async deadLetter(entries: unknown[]) { letters += entries.length; },
  async close() {},
};
void runCollector({ config: loadConfig(process.env), sink, once: true, enrichment: null, writeLog: () => {} }).then((state) => {
  const heap = process.memoryUsage().heapUsed;
  console.log(JSON.stringify({ letters, indexed, failed: state.metrics.blobsFailed, heapMiB: heap / 1048576 }));
});
