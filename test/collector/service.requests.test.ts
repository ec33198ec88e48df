// The Azure requests one tailing job costs, counted by a forwarding proxy in front of the real Azurite: every poll
// of the service pays them once per changed blob (scripts/bench/tailingCpu.ts), so one more is a cost per minute
// per NIC. The sequence is asserted exactly, with the documents, so a saved request cannot cost correctness.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { startFaultyProxy } from "../support/faultyProxy";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { runCollector } from "../../collector/src/service/collector";
import { loadConfig } from "../../collector/src/service/config";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";

const scratch = scratchContainers(azuriteConnectionString());

/** `GET checkpoint blob`, `PUT checkpoint lease`, `GET source blocklist`... */
function kind(seen: { method: string; path: string }, source: string): string {
  const url = new URL(seen.path, "http://proxy");
  const target = url.pathname.split("/")[2] === source ? "source" : "checkpoint";
  return `${seen.method} ${target} ${url.searchParams.get("comp") ?? url.searchParams.get("restype") ?? "blob"}`;
}

test("a job on a grown blob whose checkpoint exists: lease, read, count the try, block list, one ranged read, one write, release; no create-if-missing upload", async () => {
  const source = scratch.container("req-src");
  const checkpoints = scratch.container("req-cp");
  await source.create();
  const endpoint = new URL(scratch.service.url);
  const proxy = await startFaultyProxy(endpoint.origin, () => "forward");
  try {
    const viaProxy = BlobServiceClient.fromConnectionString(azuriteConnectionString().replace(endpoint.origin, proxy.url));
    const config = loadConfig({
      FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(),
      FLOWLOGS_CONTAINERS: source.containerName,
      FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
      FLOWLOGS_SINK: "stdout",
      FLOWLOGS_METRICS_PORT: "off",
      FLOWLOGS_REPLICA_ID: "test",
    });
    const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 31, mac: "000D3A000031" });
    const sink = new RecordingSink();
    const pass = () => runCollector({ config, sink, once: true, blobService: viaProxy, writeLog: () => {} });
    await writer.appendMinute({ records: 2 });
    await pass();
    await writer.appendMinute({ records: 2 });
    const from = proxy.seen.length;
    const summary = await pass();
    assert.deepEqual(proxy.seen.slice(from).map((seen) => kind(seen, source.containerName)), [
      "PUT checkpoint container", // ensureContainer (start-up)
      "GET checkpoint list", // caught-up ETags (start-up)
      "GET source list",
      "GET checkpoint blob", // peek: the checkpoint exists, its ETag is older than the listed one
      "PUT checkpoint lease", // acquire
      "GET checkpoint blob", // the checkpoint under the lease
      "PUT checkpoint blob", // the try, counted before reading
      "GET source blocklist",
      "GET source blob", // the new minute, one ranged read
      "PUT checkpoint blob", // after the sink took the last (here: only) window, caught up: with the ETag
      "PUT checkpoint lease", // release
    ]);
    assert.deepEqual(new Set(sink.documents.keys()), await expectedIds([writer]));
    assert.equal(sink.documents.size, writer.tuples);
    assert.equal(summary.metrics.duplicates, 0);
    assert.equal(summary.metrics.blobsRead, 1);
  } finally {
    await proxy.stop();
  }
});
