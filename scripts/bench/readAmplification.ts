// read_amplification: bytes the collector downloads ÷ the final blob size, over one simulated hour in which Azure
// appends a block a minute and the collector polls after every append (Filebeat's whole-blob re-reads give ~30).
import { BlobServiceClient } from "@azure/storage-blob";
import { runCollector } from "../../collector/src/service/collector";
import { loadConfig } from "../../collector/src/service/config";
import type { Sink } from "../../collector/src/model";
import { FlowLogBlobWriter } from "../../test/support/flowLogWriter";
import { progress, report } from "./stats";

const countingSink = (): Sink & { documents: number } => ({
  documents: 0,
  async write(batch) {
    this.documents += batch.length;
    return { indexed: batch.length, duplicates: 0, deadLettered: 0, retries: 0 };
  },
  async deadLetter() {},
  async close() {},
});

export async function benchReadAmplification(connectionString: string): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const source = service.getContainerClient("bench-amplification");
  const checkpoints = service.getContainerClient("bench-amplification-checkpoints");
  await source.createIfNotExists();
  const config = loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: connectionString,
    FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: checkpoints.containerName,
    FLOWLOGS_SINK: "stdout",
    FLOWLOGS_METRICS_PORT: "off",
  });
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T11:00:00Z"), seed: 7 });
  const sink = countingSink();
  let downloaded = 0;
  for (let minute = 1; minute <= 60; minute++) {
    await writer.appendMinute({ records: 2, tuplesPerRecord: 20 });
    const { metrics } = await runCollector({ config, sink, once: true, blobService: service, writeLog: () => {} });
    downloaded += metrics.bytesRead;
  }
  progress(`read amplification: ${downloaded} bytes downloaded for a ${writer.length}-byte blob, ${sink.documents}/${writer.tuples} documents`);
  if (sink.documents !== writer.tuples) throw new Error(`collected ${sink.documents} documents, wrote ${writer.tuples} tuples`);
  report("read_amplification", downloaded / writer.length, 4);
  await source.deleteIfExists();
  await checkpoints.deleteIfExists();
}
