// GET requests sent through a storage client's own pipeline (its credential, retries, request ids and logging) whose
// answers the reader takes as bytes, without the SDK's per-operation wrapping: its XML parsing and mapping for block
// lists, its response objects and retrying stream for downloads. Measured in PERFORMANCE.md (fourteenth session).
// Callers fall back to the SDK's own call when protocolClientOf finds no pipeline (another SDK version) or a body is
// cut off, so the SDK's behaviour stays the reference.
import type { BlobClient } from "@azure/storage-blob";
import { createHttpHeaders, createPipelineRequest, RestError, type PipelineRequest, type PipelineResponse } from "@azure/core-rest-pipeline";

/** The generated protocol client inside every storage client (StorageClient's protected storageClientContext). */
export interface ProtocolClient {
  sendRequest(request: PipelineRequest): Promise<PipelineResponse>;
  /** The service version the SDK sends as x-ms-version. */
  version: string;
}

export function protocolClientOf(blob: BlobClient): ProtocolClient | undefined {
  const client = (blob as unknown as { storageClientContext?: Partial<ProtocolClient> }).storageClientContext;
  return typeof client?.sendRequest === "function" && typeof client.version === "string" ? (client as ProtocolClient) : undefined;
}

/**
 * GET `url` with the SDK's version header. Answers with a status in `streamed` come as a stream (the pipeline does not
 * parse them); any other comes with its error body parsed, for storageError. `streamed` is only read (a constant of
 * the caller's, not copied per request). `abortSignal` ends the request and its retries (the collector's stop).
 */
export function sendGet(
  client: ProtocolClient, url: string, headers: Record<string, string>, streamed: Set<number>, abortSignal?: AbortSignal,
): Promise<PipelineResponse> {
  return client.sendRequest(createPipelineRequest({
    abortSignal,
    url,
    method: "GET",
    headers: createHttpHeaders({ "x-ms-version": client.version, ...headers }),
    // The storage SDK allows http itself (Azurite, development); its credential policies refuse tokens over http.
    allowInsecureConnection: true,
    streamResponseStatusCodes: streamed,
  }));
}

/** The RestError the SDK would throw for this answer: Azure's status, error code (header or body) and message (body). */
export function storageError(response: PipelineResponse, what: string): RestError {
  // core-client's deserialization policy parses an error's XML body onto the response (FullOperationResponse).
  const body = (response as { parsedBody?: { Code?: unknown; Message?: unknown } }).parsedBody;
  const code = response.headers.get("x-ms-error-code") ?? (typeof body?.Code === "string" ? body.Code : undefined);
  const message = typeof body?.Message === "string" ? body.Message : `Azure Storage answered ${response.status}${code ? ` (${code})` : ""} to ${what}`;
  return new RestError(message, { code, statusCode: response.status, request: response.request, response });
}

/** A streamed answer's bytes; undefined when the stream fails (cut off), for the caller to ask the SDK instead. */
export function readStreamed(response: PipelineResponse): Promise<Buffer | undefined> {
  return bytesOf(response.readableStreamBody).catch(() => undefined);
}

/** All of a response body's bytes (none without a body); rejects as the stream does. */
export async function bytesOf(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
