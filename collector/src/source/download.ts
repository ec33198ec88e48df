// Ranged downloads with the end-of-blob and change cases made explicit. Azure answers 416 for a range that starts
// at the end of the blob; Azurite answers 206 with an empty body (Azure/Azurite#318): both mean "nothing there".
import type { BlobClient } from "@azure/storage-blob";
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

/** Translate storage errors that have a meaning for the reader; rethrow the rest. */
export function translate(error: unknown, blob: string): never {
  const status = statusOf(error);
  if (status === 404) throw new BlobGoneError(blob);
  if (status === 412) throw new BlobChangedError(blob);
  throw error;
}

/**
 * Bytes [start, end) of the blob, only if its ETag is still `etag`. Returns fewer bytes (possibly none) when the
 * blob ends earlier; an empty buffer for 416 / empty 206.
 */
export async function downloadRange(client: BlobClient, start: number, end: number, etag: string | undefined): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  // Through the client's pipeline, the bytes as they come; a body cut off is downloaded again by the SDK below, whose
  // stream resumes by itself.
  const protocol = protocolClientOf(client);
  if (protocol) {
    const response = await sendGet(protocol, client.url, { "x-ms-range": `bytes=${start}-${end - 1}`, ...(etag ? { "if-match": etag } : {}) }, BODY);
    if (!BODY.has(response.status)) return failed(client, storageError(response, `a download of ${client.name}`));
    const body = await readStreamed(response);
    if (body) return body;
  }
  let response;
  try {
    response = await client.download(start, end - start, { conditions: etag ? { ifMatch: etag } : undefined });
  } catch (error) {
    return failed(client, error);
  }
  return bytesOf(response.readableStreamBody);
}

const BODY = new Set([200, 206]);

/** A failed download's meaning: nothing there (416), the blob gone or changed, else the error itself. */
async function failed(client: BlobClient, error: unknown): Promise<Buffer> {
  if (statusOf(error) === 416) return Buffer.alloc(0);
  // If-Match on a deleted blob answers 412 (Azurite) or 404: tell "gone" from "changed".
  if (statusOf(error) === 412 && !(await client.exists())) throw new BlobGoneError(client.name);
  translate(error, client.name);
}

/** ETags come quoted in response headers and unquoted in listings; compare them in one form. */
export function normalizeEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, "$1");
}
