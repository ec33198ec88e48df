// A ContainerClient stand-in that keeps staged/committed blocks in memory, so the Azure-like writer
// (test/support/flowLogWriter.ts) can produce exact PT1H.json bytes for pure benchmarks without any storage.
import type { ContainerClient } from "@azure/storage-blob";

export class MemoryBlob {
  private readonly staged = new Map<string, Buffer>();
  private committed: Buffer[] = [];

  async stageBlock(id: string, body: Buffer): Promise<void> {
    this.staged.set(id, Buffer.from(body));
  }

  async commitBlockList(ids: string[]): Promise<void> {
    this.committed = ids.map((id) => this.staged.get(id)!);
  }

  async deleteIfExists(): Promise<void> {
    this.committed = [];
  }

  text(): string {
    return Buffer.concat(this.committed).toString("utf8");
  }

  /** The committed blocks in order, e.g. to upload the same blob block by block. */
  blocks(): Buffer[] {
    return [...this.committed];
  }

  size(): number {
    return this.committed.reduce((n, block) => n + block.length, 0);
  }
}

export function memoryContainer(): { container: ContainerClient; blobs: Map<string, MemoryBlob> } {
  const blobs = new Map<string, MemoryBlob>();
  const container = {
    containerName: "memory",
    getBlockBlobClient(name: string) {
      if (!blobs.has(name)) blobs.set(name, new MemoryBlob());
      return blobs.get(name)!;
    },
  } as unknown as ContainerClient;
  return { container, blobs };
}
