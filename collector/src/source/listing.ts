// Flat listing of the flow-log containers. Only PT1H.json blobs are flow logs; anything else is ignored.
import type { BlobServiceClient } from "@azure/storage-blob";
import type { BlobRef } from "./blobReader";
import { normalizeEtag } from "./download";

export class ContainerMissingError extends Error {
  constructor(readonly container: string) {
    super(`container ${container} does not exist (yet): flow logs create it on their first write; check FLOWLOGS_CONTAINERS`);
  }
}

export async function* listFlowLogBlobs(service: BlobServiceClient, container: string): AsyncGenerator<BlobRef> {
  const client = service.getContainerClient(container);
  try {
    for await (const item of client.listBlobsFlat()) {
      if (!item.name.endsWith(".json")) continue;
      yield {
        container,
        name: item.name,
        etag: normalizeEtag(item.properties.etag),
        createdOn: item.properties.createdOn,
        lastModified: item.properties.lastModified,
        contentLength: item.properties.contentLength,
      };
    }
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) throw new ContainerMissingError(container);
    throw error;
  }
}

/** The start of the hour a PT1H.json covers, from its `y=/m=/d=/h=` path segments; undefined if absent. */
export function blobHour(name: string): Date | undefined {
  const match = /(?:^|\/)y=(\d{4})\/m=(\d{2})\/d=(\d{2})\/h=(\d{2})\//.exec(name);
  if (!match) return undefined;
  const [, y, m, d, h] = match;
  return new Date(Date.UTC(Number(y), Number(m) - 1, Number(d), Number(h)));
}
