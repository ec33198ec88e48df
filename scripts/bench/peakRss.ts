// peak_rss_mb_200mb_blob: peak RSS of the shipped collector while it collects one 200 MB PT1H.json from Azurite
// (blocks of about 1 MB, as a busy NIC's minutes are).
import { BlobServiceClient } from "@azure/storage-blob";
import { FlowLogBlobWriter } from "../../test/support/flowLogWriter";
import { collectOnceInChild, imageMemoryEnvironment, imageNodeFlags } from "./imageRuntime";
import { progress, report } from "./stats";

const SIZE_MB = Number(process.env.BENCH_BLOB_MB ?? 200);

export async function benchPeakRss(connectionString: string): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const source = service.getContainerClient("bench-rss");
  await source.createIfNotExists();
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T12:00:00Z"), seed: 21 });
  while (writer.length < SIZE_MB * 1024 * 1024) {
    await writer.appendMinute({ records: 4, tuplesPerRecord: 2_500 });
    if (writer.dataBlocks % 50 === 0) progress(`peak RSS: wrote ${(writer.length / 1048576).toFixed(0)} MB`);
  }
  progress(`peak RSS: collecting a ${(writer.length / 1048576).toFixed(1)} MB blob (${writer.tuples} tuples) with the image's ${JSON.stringify(imageMemoryEnvironment())} and node ${imageNodeFlags().join(" ")}`);
  const result = await collectOnceInChild({
    FLOWLOGS_STORAGE_CONNECTION_STRING: connectionString,
    FLOWLOGS_CONTAINERS: source.containerName,
    FLOWLOGS_CHECKPOINT_CONTAINER: "bench-rss-checkpoints",
    FLOWLOGS_SINK: "stdout",
  }, "count");
  if (result.documents !== writer.tuples) throw new Error(`collected ${result.documents} documents, wrote ${writer.tuples} tuples`);
  report(`peak_rss_mb_${SIZE_MB}mb_blob`, result.maxRssMb, 0, `${result.documents} documents in ${result.seconds.toFixed(1)} s`);
  await source.deleteIfExists();
  await service.getContainerClient("bench-rss-checkpoints").deleteIfExists();
}
