// Ranged downloads with the end-of-blob and change cases made explicit. Azure answers 416 for a range that starts
// at the end of the blob; Azurite answers 206 with an empty body (Azure/Azurite#318): both mean "nothing there".
import type { BlobClient } from "@azure/storage-blob";
import { StorageFailure } from "../storageFailure";
import { bytesOf, protocolClientOf, readStreamed, sendGet, storageError } from "./protocolRequest";

/** The blob disappeared (404). */
export class BlobGoneError extends Error {
  constructor(readonly blob: string) {
    super(`blob ${blob} no longer exists`);
  }
}

/** The blob changed since its block list was read (412 on If-Match); the next poll plans again. */
export class BlobChangedError extends Error {
  constructor(readonly blob: string) {
    super(`blob ${blob} changed while being read; it will be read again on the next poll`);
  }
}

export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * A source read Azure Storage refuses for what the blob is, not for how it was asked (409: an archived blob, or one
 * being rehydrated, has no readable data; an append or page blob has no block list): no retry of this version helps.
 */
export class BlobRefusedError extends Error {
  constructor(blob: string, readonly code: string | undefined) {
    super(`Azure Storage refuses to read ${blob} (HTTP 409${code ? ` ${code}` : ""}; ${BlobRefusedError.why(code)})`);
  }

  private static why(code: string | undefined): string {
    // Azure Monitor's diagnostic settings write their PT1H.json as append blobs; Network Watcher writes block blobs.
    if (code === "InvalidBlobType") return "it is not a block blob, as Network Watcher writes flow logs: not a flow log, not read";
    return "an archived blob must be rehydrated to the hot or cool tier, then read by the next start of the collector";
  }
}

/** A source read (block list, download) that Azure Storage, or the way to it, did not answer as asked. */
export class SourceReadError extends StorageFailure {}

/** Translate storage errors that have a meaning for the reader; the rest become SourceReadErrors. */
export function translate(error: unknown, blob: string): never {
  if (error instanceof BlobGoneError || error instanceof BlobChangedError || error instanceof SourceReadError || error instanceof BlobRefusedError) throw error;
  const status = statusOf(error);
  if (status === 404) throw new BlobGoneError(blob);
  if (status === 409) throw new BlobRefusedError(blob, (error as { code?: string }).code);
  if (status === 412) throw new BlobChangedError(blob);
  throw new SourceReadError(error);
}

/**
 * Bytes [start, end) of the blob, only if its ETag is still `etag`. Returns fewer bytes (possibly none) when the
 * blob ends earlier; an empty buffer for 416 / empty 206. An answer that is not the range asked for (a 200 with the
 * whole blob, where something on the way dropped the range) is cut to it when it holds the range in at most
 * `answerLimit` bytes (the reader's window: what it may hold), and refused before its body is read otherwise.
 * `abortSignal` ends the download and its retries (the collector's stop, a lost lease).
 */
export async function downloadRange(
  client: BlobClient, start: number, end: number, etag: string | undefined, answerLimit = end - start, abortSignal?: AbortSignal,
): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  // Through the client's pipeline, the bytes as they come; a body cut off is downloaded again by the SDK below, whose
  // stream resumes by itself.
  const protocol = protocolClientOf(client);
  if (protocol) {
    const response = await sendGet(protocol, client.url, { "x-ms-range": `bytes=${start}-${end - 1}`, ...(etag ? { "if-match": etag } : {}) }, BODY, abortSignal);
    if (!BODY.has(response.status)) return failed(client, storageError(response, `a download of ${client.name}`), abortSignal);
    const answer = { status: response.status, contentRange: response.headers.get("content-range"), contentLength: Number(response.headers.get("content-length") ?? NaN) };
    const from = offsetOfRange(answer, start, end, answerLimit, client.name, response.readableStreamBody);
    const body = await readStreamed(response);
    if (body) return cut(body, from, end - start);
  }
  let response;
  try {
    response = await client.download(start, end - start, { conditions: etag ? { ifMatch: etag } : undefined, abortSignal });
  } catch (error) {
    return failed(client, error, abortSignal);
  }
  const answer = { status: response._response.status, contentRange: response.contentRange, contentLength: response.contentLength ?? NaN };
  const from = offsetOfRange(answer, start, end, answerLimit, client.name, response.readableStreamBody);
  return cut(await bytesOf(response.readableStreamBody), from, end - start);
}

const BODY = new Set([200, 206]);

interface RangeAnswer {
  status: number;
  contentRange: string | undefined;
  /** Declared body bytes; NaN when not declared. */
  contentLength: number;
}

/**
 * Where the range [start, end) begins in an answer's body, checked before the body is read. The body's first byte is
 * Content-Range's (`bytes a-b/size`); a 206 without one starts at `start`, a 200 without one is the whole blob. An
 * answer that starts after `start` would shift every byte after it; one larger than the range and than `limit` would
 * take more memory than the reader allows: both are refused (their stream destroyed), and read again on the next poll.
 */
export function offsetOfRange(answer: RangeAnswer, start: number, end: number, limit: number, blob: string, stream?: NodeJS.ReadableStream): number {
  const { status, contentRange, contentLength } = answer;
  if (contentLength === 0) return 0; // nothing there, whatever its Content-Range says
  const first = contentRange === undefined ? (status === 200 ? 0 : start) : Number(/^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(contentRange)?.[1] ?? NaN);
  const exact = first === start && !(contentLength > end - start);
  if (exact || (first <= start && contentLength <= limit)) return start - first;
  (stream as { destroy?: () => void } | undefined)?.destroy?.();
  throw new Error(`Azure Storage answered a download of ${blob} bytes ${start}-${end - 1} with ${contentRange === undefined ? "no Content-Range" : `Content-Range "${contentRange}"`}, ` +
    `${Number.isNaN(contentLength) ? "no Content-Length" : `${contentLength} bytes`} (status ${status}): not that range, so not taken; it will be read again on the next poll`);
}

/** `length` bytes of `body` from `from`, or what there is. */
function cut(body: Buffer, from: number, length: number): Buffer {
  return from === 0 && body.length <= length ? body : body.subarray(from, Math.min(body.length, from + length));
}

/** A failed download's meaning: nothing there (416), the blob gone or changed, else the error itself. */
async function failed(client: BlobClient, error: unknown, abortSignal?: AbortSignal): Promise<Buffer> {
  if (statusOf(error) === 416) return Buffer.alloc(0);
  // If-Match on a deleted blob answers 412 (Azurite) or 404: tell "gone" from "changed".
  if (statusOf(error) === 412 && !(await client.exists({ abortSignal }))) throw new BlobGoneError(client.name);
  translate(error, client.name);
}

/** ETags come quoted in response headers and unquoted in listings; compare them in one form. */
export function normalizeEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, "$1");
}
