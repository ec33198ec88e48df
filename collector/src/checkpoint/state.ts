// What the collector remembers about one source blob between polls and restarts. Kept small: it is written after
// every processed window.

import { quote } from "../safeText";

export const CHECKPOINT_FORMAT = 2;
/** Format 1 (offsets only at block ends, no block digest) is still read: its offset is checked by block sizes. */
const READABLE_FORMATS: readonly number[] = [1, 2];

/** Tries at one position, persisted before the risky work so a crash of the process is counted too. */
export interface AttemptCount {
  offset: number;
  count: number;
  /** The last in-process error at that position (a crash leaves none). */
  error?: string;
}

export interface BlobCheckpoint {
  format: 1 | typeof CHECKPOINT_FORMAT;
  container: string;
  blob: string;
  /** Bytes consumed: the end of the last record whose documents the sink acknowledged (may be inside a block). */
  offset: number;
  /** Committed blocks covering bytes [0, offset) (the last may extend past it). 0 for a blob written in one Put. */
  blocks: number;
  /** sha256 of the ids and sizes of those blocks: a different digest means the bytes before offset were rewritten. */
  blockDigest?: string;
  /** Single-Put blob read part-way: the ETag the offset belongs to (another ETag means start over). */
  partialEtag?: string;
  /** Tries at the current offset that did not finish (see FLOWLOGS_MAX_ATTEMPTS). */
  attempt?: AttemptCount;
  /** Records consumed; the record index the next block starts at (part of every document's position). */
  records: number;
  /** The blob's ETag when the reader last caught up with its end; absent while data is still unread. */
  etag?: string;
  /** The blob's creation time when first read: a different one means the blob was replaced. */
  createdOn?: string;
  /** The blob's Last-Modified when the reader last caught up. */
  lastModified?: string;
  /** The blob's hour is over (plus grace) and everything was read; a later change (new ETag) is still noticed. */
  done?: boolean;
  /** Which replica wrote this, and when (for operators). */
  updatedBy?: string;
  updatedAt?: string;
}

export function emptyCheckpoint(container: string, blob: string): BlobCheckpoint {
  return { format: CHECKPOINT_FORMAT, container, blob, offset: 0, blocks: 0, records: 0 };
}

/** Back to the start, keeping the identity: used when a blob was replaced, shrank or was deleted. */
export function restartCheckpoint(checkpoint: BlobCheckpoint): BlobCheckpoint {
  return emptyCheckpoint(checkpoint.container, checkpoint.blob);
}

/** Validate a stored checkpoint; a damaged one is reported by the caller and replaced by an empty one. */
export function parseCheckpoint(text: string, container: string, blob: string): BlobCheckpoint {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null) throw new Error("checkpoint is not a JSON object");
  const c = value as Partial<BlobCheckpoint>;
  if (!READABLE_FORMATS.includes(c.format as number)) {
    throw new Error(`checkpoint format ${quote(c.format)} is not one of ${READABLE_FORMATS.join(", ")}`);
  }
  for (const key of ["offset", "blocks", "records"] as const) {
    if (!Number.isSafeInteger(c[key]) || (c[key] as number) < 0) throw new Error(`checkpoint ${key} is not a non-negative integer`);
  }
  const attempt = c.attempt as Partial<AttemptCount> | undefined;
  if (attempt !== undefined && (typeof attempt !== "object" || attempt === null || !Number.isSafeInteger(attempt.offset) || !Number.isSafeInteger(attempt.count))) {
    throw new Error("checkpoint attempt is not {offset, count} integers");
  }
  for (const key of ["blockDigest", "partialEtag", "etag"] as const) {
    if (c[key] !== undefined && typeof c[key] !== "string") throw new Error(`checkpoint ${key} is not a string`);
  }
  if (c.container !== container || c.blob !== blob) throw new Error(`checkpoint belongs to ${shown(c.container)}/${shown(c.blob)}`);
  return c as BlobCheckpoint;
}

/** A stored name as written, or any other value as bounded JSON (a damaged checkpoint may hold anything). */
const shown = (value: unknown): string => (typeof value === "string" ? value.slice(0, 1100) : quote(value));

export const CHECKPOINT_SUFFIX = ".checkpoint";

/** Azure's limit on a blob name: a source blob whose checkpoint name would pass it cannot be tracked. */
export const BLOB_NAME_LIMIT = 1024;

/** Why a source blob cannot have a checkpoint (its name is too long), or undefined when it can. */
export function checkpointNameProblem(container: string, blob: string): string | undefined {
  const length = container.length + 1 + blob.length + CHECKPOINT_SUFFIX.length;
  return length > BLOB_NAME_LIMIT
    ? `its checkpoint name would be ${length} characters, over Azure's ${BLOB_NAME_LIMIT}-character blob name limit (blob name ${blob.length} characters)`
    : undefined;
}

/**
 * Name of the checkpoint blob for a source blob: the source container and path, so an operator can find it, with
 * a `.checkpoint` suffix so it is never mistaken for a flow log. Blob names allow up to 1024 characters.
 */
export function checkpointBlobName(container: string, blob: string): string {
  const problem = checkpointNameProblem(container, blob);
  if (problem) throw new Error(`no checkpoint for ${container}/${blob}: ${problem}`);
  return `${container}/${blob}${CHECKPOINT_SUFFIX}`;
}
