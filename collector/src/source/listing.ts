// Listing of the flow-log containers, whole or under one prefix. Only .json blobs are flow logs (in any case: a
// copied `PT1H.JSON` is read too, rather than skipped unseen); anything else is ignored. Azure files each hour's blobs under <flow log's path>/y=YYYY/m=MM/d=DD/h=HH/, so the blobs still being
// written can be listed without walking the whole retention period.
import type { BlobServiceClient } from "@azure/storage-blob";
import type { BlobRef } from "./blobReader";
import { normalizeEtag } from "./download";

export class ContainerMissingError extends Error {
  constructor(readonly container: string) {
    super(`container ${container} does not exist (yet): flow logs create it on their first write; check FLOWLOGS_CONTAINERS`);
  }
}

const JSON_NAME = /\.json$/i;

export async function* listFlowLogBlobs(service: BlobServiceClient, container: string, prefix?: string): AsyncGenerator<BlobRef> {
  const client = service.getContainerClient(container);
  try {
    for await (const item of client.listBlobsFlat(prefix ? { prefix } : {})) {
      if (!JSON_NAME.test(item.name)) continue;
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

const HOUR_PATH = /(?:^|\/)y=(\d{4})\/m=(\d{2})\/d=(\d{2})\/h=(\d{2})\//;
const HOUR_MS = 3_600_000;

/** The start of the hour a PT1H.json covers, from its `y=/m=/d=/h=` path segments; undefined if absent. */
export function blobHour(name: string): Date | undefined {
  const match = HOUR_PATH.exec(name);
  if (!match) return undefined;
  const [, y, m, d, h] = match;
  return new Date(Date.UTC(Number(y), Number(m) - 1, Number(d), Number(h)));
}

/** The flow log's own path, before `y=` (e.g. `resourceId=/SUBSCRIPTIONS/…/NSG-WEB/`); undefined if no hour path. */
export function flowLogPath(name: string): string | undefined {
  const match = HOUR_PATH.exec(name);
  if (!match) return undefined;
  return name.slice(0, match.index + (match[0].startsWith("/") ? 1 : 0));
}

/**
 * The hour folders still being written at `now`: the current and the previous hour, and any older one whose hour
 * ended less than `graceMinutes` ago (Azure's last append for an hour lands a little after it ends).
 */
export function recentHourFolders(now: number, graceMinutes: number): string[] {
  const two = (n: number) => String(n).padStart(2, "0");
  const folders: string[] = [];
  const current = Math.floor(now / HOUR_MS) * HOUR_MS;
  for (let start = current; start >= current - HOUR_MS || start + HOUR_MS + graceMinutes * 60_000 > now; start -= HOUR_MS) {
    const t = new Date(start);
    folders.push(`y=${t.getUTCFullYear()}/m=${two(t.getUTCMonth() + 1)}/d=${two(t.getUTCDate())}/h=${two(t.getUTCHours())}/`);
  }
  return folders;
}
