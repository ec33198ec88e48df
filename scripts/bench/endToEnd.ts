// The cost dataset through the shipped collector (collector/dist, the image's Node.js and settings), for
// ingestCost.ts: the blobs uploaded once to Azurite, then as many one-pass runs as asked (each a process that starts,
// collects every blob once into its own namespace with fresh checkpoints, and exits), and once: the start-up alone,
// a warm process's second pass, and the storage requests' floor.
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import type { CostDataset } from "./costDataset";
import { collectOnceInChild, collectWarmInChild, startupCost } from "./imageRuntime";
import { storageRequestsCpu, type StorageFloor } from "./storageFloor";
import { progress } from "./stats";

export interface EndToEndRun {
  documents: number;
  seconds: number;
  esCpuSeconds: number;
  collectorCpuSeconds: number;
  /** Of collectorCpuSeconds, the main thread's; the rest is V8 compiling and collecting on its own threads. */
  mainThreadCpuSeconds: number;
}

export interface OneTimeFigures {
  /** A run of the same settings on an empty container: node, modules, the geo/AS tables (median of 3). */
  startupCpuSeconds: number;
  startupSeconds: number;
  /** The second pass of one process over the same blobs: what the service pays once V8 compiled its hot code. */
  warm: { collectorCpuSeconds: number; mainThreadCpuSeconds: number; esCpuSeconds: number };
  storage: StorageFloor;
}

export class EndToEnd {
  private readonly service: BlobServiceClient;
  private readonly source: ContainerClient;

  constructor(private readonly connectionString: string, private readonly esUrl: string, private readonly esCpu: () => number, private readonly settle: () => Promise<void>) {
    this.service = BlobServiceClient.fromConnectionString(connectionString);
    this.source = this.service.getContainerClient("bench-cost");
  }

  /** Block by block, as Azure committed them, so the collector reads the blobs the way it reads real ones. */
  async upload(dataset: CostDataset): Promise<void> {
    await this.source.createIfNotExists();
    let at = 0;
    const upload = async (): Promise<void> => {
      while (at < dataset.blobs.length) {
        const { name, blob } = dataset.blobs[at++]!;
        const client = this.source.getBlockBlobClient(name);
        const ids = blob.blocks().map((_, i) => Buffer.from(`block-${String(i).padStart(8, "0")}`).toString("base64"));
        for (const [i, block] of blob.blocks().entries()) await client.stageBlock(ids[i]!, block, block.length);
        await client.commitBlockList(ids);
      }
    };
    await Promise.all(Array.from({ length: 6 }, upload));
  }

  /**
   * One process collects every blob once into `namespace`, with a checkpoint container of its own. `snapshot`: taken
   * just before the process starts (e.g. the node's merge counters), returned as `before`.
   */
  async collectOnce<T>(namespace: string, snapshot: () => Promise<T>): Promise<EndToEndRun & { before: T }> {
    await this.settle();
    const checkpoints = `bench-cost-checkpoints-${namespace}`;
    const before = await snapshot();
    const esBefore = this.esCpu();
    const result = await collectOnceInChild(this.settings(namespace, checkpoints), "elasticsearch");
    const esCpuSeconds = this.esCpu() - esBefore;
    await this.service.getContainerClient(checkpoints).deleteIfExists();
    return {
      documents: result.documents, seconds: result.seconds, esCpuSeconds,
      collectorCpuSeconds: result.cpuSeconds, mainThreadCpuSeconds: result.mainThreadCpuSeconds, before,
    };
  }

  /** Start-up, the warm process (into `warmUpNamespace` unmeasured, then `warmNamespace`) and the storage floor. */
  async oneTimeFigures(documents: number, warmUpNamespace: string, warmNamespace: string): Promise<OneTimeFigures> {
    const empty = this.service.getContainerClient("bench-cost-empty");
    await empty.createIfNotExists();
    const startup = await startupCost(this.settings(warmNamespace, "bench-cost-checkpoints-startup"), empty.containerName);
    await empty.deleteIfExists();
    progress(`ingest: the same blobs twice through one collector process, into ${warmUpNamespace} then ${warmNamespace} (measured)`);
    let warmEsBefore = NaN;
    const warmRun = await collectWarmInChild(
      this.settings(warmNamespace, "bench-cost-checkpoints-warm"),
      {
        env: { FLOWLOGS_ES_NAMESPACE: warmUpNamespace, FLOWLOGS_CHECKPOINT_CONTAINER: "bench-cost-checkpoints-warm-up" },
        beforeMeasuredPass: async () => { await this.settle(); warmEsBefore = this.esCpu(); },
      },
      documents,
    );
    const warm = { collectorCpuSeconds: warmRun.cpuSeconds, mainThreadCpuSeconds: warmRun.mainThreadCpuSeconds, esCpuSeconds: this.esCpu() - warmEsBefore };
    await this.service.getContainerClient("bench-cost-checkpoints-warm").deleteIfExists();
    await this.service.getContainerClient("bench-cost-checkpoints-warm-up").deleteIfExists();
    const storage = await storageRequestsCpu(this.source, (run) => this.service.getContainerClient(`bench-cost-floor-${run}`), documents);
    return { startupCpuSeconds: startup.cpuSeconds, startupSeconds: startup.seconds, warm, storage };
  }

  async removeBlobs(): Promise<void> {
    await this.source.deleteIfExists();
  }

  private settings(namespace: string, checkpointContainer: string): Record<string, string> {
    return {
      FLOWLOGS_STORAGE_CONNECTION_STRING: this.connectionString,
      FLOWLOGS_CONTAINERS: this.source.containerName,
      FLOWLOGS_CHECKPOINT_CONTAINER: checkpointContainer,
      FLOWLOGS_SINK: "elasticsearch",
      FLOWLOGS_ES_URL: this.esUrl,
      FLOWLOGS_ES_NAMESPACE: namespace,
    };
  }
}
