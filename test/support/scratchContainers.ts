// Blob containers a test file uses on Azurite: unique per process and call, all deleted when the file's tests end.
// It takes the connection string so that the test file itself calls azuriteConnectionString(), which is what
// test/run.ts looks for to start Azurite.
import { after } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";

export interface ScratchContainers {
  service: BlobServiceClient;
  /** A client for a new, unique container name (`<label>-<pid>-<n>`); not created: call `create()` when needed. */
  container(label: string): ContainerClient;
}

export function scratchContainers(connectionString: string): ScratchContainers {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const used: ContainerClient[] = [];
  let counter = 0;
  after(async () => {
    for (const container of used) await container.deleteIfExists();
  });
  return {
    service,
    container(label) {
      const container = service.getContainerClient(`${label}-${process.pid}-${counter++}`.slice(0, 63).replace(/-+$/, ""));
      used.push(container);
      return container;
    },
  };
}
