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
  /** Azurite's CPU meanwhile (NaN when its process is not known): it answers on the same cores. */
  azuriteCpuSeconds: number;
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

  /** `cpu`: the CPU seconds so far of the Elasticsearch and Azurite processes (NaN when unknown). */
  constructor(
    private readonly connectionString: string, private readonly esUrl: string,
    private readonly cpu: { es: () => number; azurite: () => number }, private readonly settle: () => Promise<void>,
  ) {
    this.service = BlobServiceClient.fromConnectionString(connectionString);
    this.source = this.service.getContainerClient("bench-cost");
  }

  async upload(dataset: CostDataset): Promise<void> {
    await uploadAsAzureCommits(this.source, dataset);
  }

  /**
   * One process collects every blob once into `namespace`, with a checkpoint container of its own. The caller lets
   * the node's merges settle first (untilMergesSettle).
   */
  async collectOnce(namespace: string): Promise<EndToEndRun> {
    const checkpoints = `bench-cost-checkpoints-${namespace}`;
    const [esBefore, azuriteBefore] = [this.cpu.es(), this.cpu.azurite()];
    const result = await collectOnceInChild(this.settings(namespace, checkpoints), "elasticsearch");
    const [esCpuSeconds, azuriteCpuSeconds] = [this.cpu.es() - esBefore, this.cpu.azurite() - azuriteBefore];
    await this.service.getContainerClient(checkpoints).deleteIfExists();
    return {
      documents: result.documents, seconds: result.seconds, esCpuSeconds, azuriteCpuSeconds,
      collectorCpuSeconds: result.cpuSeconds, mainThreadCpuSeconds: result.mainThreadCpuSeconds,
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
        beforeMeasuredPass: async () => { await this.settle(); warmEsBefore = this.cpu.es(); },
      },
      documents,
    );
    const warm = { collectorCpuSeconds: warmRun.cpuSeconds, mainThreadCpuSeconds: warmRun.mainThreadCpuSeconds, esCpuSeconds: this.cpu.es() - warmEsBefore };
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

/**
 * The cost dataset's blobs into `source`, block by block as Azure committed them, so the collector reads them the
 * way it reads real ones (6 blobs at a time).
 */
export async function uploadAsAzureCommits(source: ContainerClient, dataset: CostDataset): Promise<void> {
  await source.createIfNotExists();
  let at = 0;
  const upload = async (): Promise<void> => {
    while (at < dataset.blobs.length) {
      const { name, blob } = dataset.blobs[at++]!;
      const client = source.getBlockBlobClient(name);
      const ids = blob.blocks().map((_, i) => Buffer.from(`block-${String(i).padStart(8, "0")}`).toString("base64"));
      for (const [i, block] of blob.blocks().entries()) await client.stageBlock(ids[i]!, block, block.length);
      await client.commitBlockList(ids);
    }
  };
  await Promise.all(Array.from({ length: 6 }, upload));
}
