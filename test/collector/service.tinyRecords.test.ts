// A window of tiny records under the image's heap: each record is an item and a view on the JS heap until its window
// is delivered, so 1.4 million 3-byte records in one 4 MiB window ran 128 MB out at every restart (a crash loop the
// bounded tries could not end: the process died before the skip was delivered). The scan now hands over at most
// ITEMS_PER_STEP items, and the reader delivers at that count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";

const scratch = scratchContainers(azuriteConnectionString());

test("a 4 MiB window of 1.4 million `{}` records is read within a 128 MB heap: every record set aside, none lost", async () => {
  const source = scratch.container("tiny-src");
  await source.create();
  const count = 1_400_000;
  const text = `{"records":[${"{},".repeat(count - 1)}{}]}`;
  const name = "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/N/y=2026/m=11/d=20/h=10/m=00/macAddress=000D3A000001/PT1H.json";
  await source.getBlockBlobClient(name).upload(text, text.length);
  const child = resolve(__dirname, "../support/tinyRecordsChild.ts");
  const { stdout } = await promisify(execFile)(process.execPath, ["--max-old-space-size=128", "--import", "tsx", child], {
    env: {
      ...process.env, FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(), FLOWLOGS_CONTAINERS: source.containerName,
      FLOWLOGS_CHECKPOINT_CONTAINER: scratch.container("tiny-cp").containerName, FLOWLOGS_SINK: "stdout", FLOWLOGS_METRICS_PORT: "off", FLOWLOGS_GEOIP: "off",
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  const result = JSON.parse(stdout.trim().split("\n").pop()!) as { letters: number; indexed: number; failed: number };
  assert.deepEqual({ letters: result.letters, indexed: result.indexed, failed: result.failed }, { letters: count, indexed: 0, failed: 0 });
});
