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

/**
 * Blobs per listing page. Azure's default (5,000) makes a page in flight cost tens of MB of XML and parsed objects
 * (about 10 KB per blob until collected); a wide listing's day folders (24 blobs per NIC), a few at once, then ran
 * the image's 128 MB heap out next to the scheduler's state. Listings under a prefix run several at once: small
 * pages. The full listing runs alone and pages through all of retention: larger pages, fewer round trips.
 */
export const PREFIX_LISTING_PAGE_BLOBS = 250;
export const FULL_LISTING_PAGE_BLOBS = 1_000;

/** The .json blobs of `container` (under `prefix`); `abortSignal` ends the listing (the collector's stop). */
export async function* listFlowLogBlobs(service: BlobServiceClient, container: string, prefix?: string, abortSignal?: AbortSignal): AsyncGenerator<BlobRef> {
  for await (const page of listFlowLogPages(service, container, { prefix, abortSignal })) yield* page.refs;
}

/** One page of a flat listing: its .json blobs, and the continuation token it was asked with (undefined: the first page). */
export interface ListingPage {
  refs: BlobRef[];
  askedWith?: string;
}

/**
 * The listing page by page, from the page `from` names (a page's `askedWith`: the service's continuation token, a
 * position in name order that stays valid however long later it is used) or from the first.
 */
export async function* listFlowLogPages(service: BlobServiceClient, container: string, options: {
  prefix?: string;
  from?: string;
  /** Default PREFIX_LISTING_PAGE_BLOBS under a prefix, FULL_LISTING_PAGE_BLOBS for the whole container. */
  pageBlobs?: number;
  abortSignal?: AbortSignal;
} = {}): AsyncGenerator<ListingPage> {
  const { prefix, abortSignal } = options;
  const client = service.getContainerClient(container);
  try {
    const maxPageSize = options.pageBlobs ?? (prefix ? PREFIX_LISTING_PAGE_BLOBS : FULL_LISTING_PAGE_BLOBS);
    let askedWith = options.from;
    for await (const page of client.listBlobsFlat({ prefix, abortSignal }).byPage({ maxPageSize, continuationToken: askedWith })) {
      const refs: BlobRef[] = [];
      for (const item of page.segment.blobItems) {
        if (!JSON_NAME.test(item.name)) continue;
        refs.push({
          container,
          name: item.name,
          etag: normalizeEtag(item.properties.etag),
          createdOn: item.properties.createdOn,
          lastModified: item.properties.lastModified,
          contentLength: item.properties.contentLength,
        });
      }
      yield { refs, askedWith };
      askedWith = page.continuationToken || undefined;
    }
  } catch (error) {
    throw asContainerMissing(error, container);
  }
}

/** A 404 from a listing is the container missing; any other error as it is. */
function asContainerMissing(error: unknown, container: string): unknown {
  return (error as { statusCode?: number }).statusCode === 404 ? new ContainerMissingError(container) : error;
}

/**
 * The flow logs' paths (what `flowLogPath` gives, e.g. `flowLogResourceID=/<SUB>_<RG>/<WATCHER>_<NAME>/`), found by
 * walking the folders down to the first that holds `y=<year>/` folders: a few listings per flow log, however many
 * hours the containers keep, where a flat listing pages through every blob of the retention period. Folders deeper
 * than `maxDepth` are not walked (flow logs are at most 9 folders down: NSG ones under their resource id).
 */
export async function discoverFlowLogPaths(service: BlobServiceClient, container: string, options: {
  maxDepth?: number;
  /** Runs the listings of one level (default: one after another); a failure fails the walk. */
  forEach?: (prefixes: string[], work: (prefix: string) => Promise<void>) => Promise<void>;
  onFolder?: () => void;
  /** Ends the walk (the collector's stop). */
  abortSignal?: AbortSignal;
} = {}): Promise<Set<string>> {
  const client = service.getContainerClient(container);
  const paths = new Set<string>();
  const maxDepth = options.maxDepth ?? 12;
  let level: string[] = [""];
  for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
    const next: string[] = [];
    await (options.forEach ?? oneAfterAnother)(level, async (prefix) => {
      const children: string[] = [];
      try {
        for await (const item of client.listBlobsByHierarchy("/", { prefix: prefix || undefined, abortSignal: options.abortSignal })) {
          if (item.kind === "prefix") children.push(item.name);
        }
      } catch (error) {
        throw asContainerMissing(error, container);
      }
      options.onFolder?.();
      if (children.some((child) => YEAR_FOLDER.test(child.slice(prefix.length)))) paths.add(prefix);
      else next.push(...children);
    });
    level = next;
  }
  return paths;
}

const YEAR_FOLDER = /^y=\d{4}\/$/;

async function oneAfterAnother(prefixes: string[], work: (prefix: string) => Promise<void>): Promise<void> {
  for (const prefix of prefixes) await work(prefix);
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

const DAY_PATH = /(?:^|\/)y=\d{4}\/m=\d{2}\/d=\d{2}\//;

/** The name up to its day folder (`<flow log's path>y=YYYY/m=MM/d=DD/`): the prefix a wide listing lists it under. */
export function dayPrefix(name: string): string | undefined {
  const match = DAY_PATH.exec(name);
  return match ? name.slice(0, match.index + match[0].length) : undefined;
}

/** The flow log's own path, before `y=` (e.g. `resourceId=/SUBSCRIPTIONS/…/NSG-WEB/`); undefined if no hour path. */
export function flowLogPath(name: string): string | undefined {
  const match = HOUR_PATH.exec(name);
  if (!match) return undefined;
  return name.slice(0, match.index + (match[0].startsWith("/") ? 1 : 0));
}

/** The day folders (`y=YYYY/m=MM/d=DD/`, UTC) of every hour from `hours` hours before `now` up to `now`. */
export function horizonDayFolders(now: number, hours: number): string[] {
  const folders: string[] = [];
  const DAY_MS = 24 * HOUR_MS;
  for (let day = Math.floor(now / DAY_MS) * DAY_MS; day + DAY_MS > now - hours * HOUR_MS; day -= DAY_MS) folders.push(dayFolder(new Date(day)));
  return folders;
}

const two = (n: number): string => String(n).padStart(2, "0");

/** `y=YYYY/m=MM/d=DD/` of a UTC time, as Azure names the folders. */
function dayFolder(t: Date): string {
  return `y=${t.getUTCFullYear()}/m=${two(t.getUTCMonth() + 1)}/d=${two(t.getUTCDate())}/`;
}

/**
 * The hour folders still being written at `now`: the current and the previous hour, and any older one whose hour
 * ended less than `graceMinutes` ago (Azure's last append for an hour lands a little after it ends).
 */
export function recentHourFolders(now: number, graceMinutes: number): string[] {
  const folders: string[] = [];
  const current = Math.floor(now / HOUR_MS) * HOUR_MS;
  for (let start = current; start >= current - HOUR_MS || start + HOUR_MS + graceMinutes * 60_000 > now; start -= HOUR_MS) {
    const t = new Date(start);
    folders.push(`${dayFolder(t)}h=${two(t.getUTCHours())}/`);
  }
  return folders;
}
