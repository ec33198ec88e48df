// What the bulk-writing sinks (Elasticsearch, OpenSearch, Logz.io) share: which failures are transient, the backoff
// between retries, batching by count and bytes, the classification of one `_bulk` item result, and one HTTP POST
// over the global fetch (or node:https when a private CA must be trusted, which fetch cannot be handed).
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import type { DeadLetter, SinkResult, SourcePosition } from "../model";
import { deadLetterDocument, deadLetterId } from "./deadLetterDocument";
import { createAction } from "../ecs/bulk";
import { retryableStatus, type BulkItemResult } from "./bulkItemClass";
import { sleep } from "../sleep";

export { classifyBulkItem, retryableStatus, type BulkItemClass, type BulkItemResult } from "./bulkItemClass";

/** How a sink delivers: bounds of one request, retries and their backoff. Shared by every HTTP sink's options. */
export interface DeliveryOptions {
  /** Bounds of one bulk request. */
  maxBatchDocuments?: number;
  maxBatchBytes?: number;
  /** Retries of one request before `write` rejects, and the backoff between them. */
  maxRetries?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  requestTimeoutMs?: number;
  log?: (line: string) => void;
  /** For tests: the jitter source and the wait between retries (`signal`: the writes waiting have all stopped). */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** DeliveryOptions with every default filled in and checked, the same for every sink but its batch bounds. */
export interface DeliverySettings {
  maxBatchDocuments: number;
  maxBatchBytes: number;
  maxRetries: number;
  backoff: BackoffOptions;
  timeoutMs: number;
  log: (line: string) => void;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function deliverySettings(options: DeliveryOptions, batchDefaults: { maxBatchDocuments: number; maxBatchBytes: number }): DeliverySettings {
  return {
    maxBatchDocuments: positiveInteger("maxBatchDocuments", options.maxBatchDocuments ?? batchDefaults.maxBatchDocuments),
    maxBatchBytes: positiveInteger("maxBatchBytes", options.maxBatchBytes ?? batchDefaults.maxBatchBytes),
    maxRetries: Math.max(0, options.maxRetries ?? 8),
    backoff: { initialBackoffMs: options.initialBackoffMs ?? 250, maxBackoffMs: options.maxBackoffMs ?? 30_000, random: options.random ?? Math.random },
    timeoutMs: options.requestTimeoutMs ?? 60_000,
    log: options.log ?? (() => {}),
    sleep: options.sleep ?? sleep,
  };
}

/** One document on its way through a `_bulk` request: two NDJSON lines, the action and the source. */
export interface PendingDocument<Position> {
  id: string;
  /** The action line, newline included. */
  action: string;
  /** The document as sent (its line without the newline), also what a dead letter keeps. */
  source: string;
  /** UTF-8 bytes of both lines. */
  bytes: number;
  position?: Position;
}

/** A `create` of `source` under `id` in `index`: refused with 409 if the id exists, never an overwrite. */
export function bulkCreate(index: string, id: string, source: string, position?: SourcePosition): PendingDocument<SourcePosition> {
  const action = createAction(index, id);
  return { id, action, source, position, bytes: Buffer.byteLength(action) + Buffer.byteLength(source) + 1 };
}

/** Dead letters as bulk creates under an id derived from their content, so a retried write adds no second copy. */
export function deadLetterCreates(entries: DeadLetter[], index: string): PendingDocument<SourcePosition>[] {
  const now = new Date().toISOString();
  return entries.map((entry) => bulkCreate(index, deadLetterId(entry), JSON.stringify(deadLetterDocument(entry, now))));
}

/** A refused dead letter has nowhere left to go: fail loudly so no checkpoint moves past it. */
export function failOnRefusedDeadLetters(delivery: Delivery, index: string): void {
  if (!delivery.refused.length) return;
  const first = delivery.refused[0]!;
  throw new Error(`${index} refused ${delivery.refused.length} dead letter(s), e.g. ${first.item.id}: ${first.reason}`);
}

/** What delivering one `_bulk` batch came to. */
export interface Delivery {
  created: number;
  duplicates: number;
  retries: number;
  refused: Array<{ item: PendingDocument<SourcePosition>; reason: string }>;
}

/** Adds a batch's delivery to the write's result, turning refused documents into dead letters with their reason. */
export function tallyDelivery(result: SinkResult, delivery: Delivery, refused: DeadLetter[]): void {
  result.indexed += delivery.created;
  result.duplicates += delivery.duplicates;
  result.retries += delivery.retries;
  for (const { item, reason } of delivery.refused) {
    refused.push({ id: item.id, reason, raw: item.source, ...(item.position ? { position: item.position } : {}) });
  }
}

export interface BackoffOptions {
  initialBackoffMs: number;
  maxBackoffMs: number;
  random: () => number;
}

/** Capped exponential backoff with "equal jitter": spreads retries of many replicas, keeps a floor of half the cap. */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const cap = Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** attempt);
  return Math.round(cap / 2 + (options.random() * cap) / 2);
}

/** Splits `items` into batches of at most `maxCount` items and `maxBytes` bytes (a lone larger item goes alone). */
export function* sizedBatches<T>(items: T[], sizeOf: (item: T) => number, maxCount: number, maxBytes: number): Generator<T[]> {
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (batch.length && (batch.length >= maxCount || bytes + size > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length) yield batch;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, got ${value}`);
  return value;
}

/** The result of the single action of a `_bulk` item (`{"create": {...}}`). */
export function bulkItemOutcome(entry: Record<string, BulkItemResult> | null): BulkItemResult {
  // An entry that is not an object (null in a mangled answer) says nothing about the document: sent again.
  const outcome = entry !== null && typeof entry === "object" ? entry.create ?? Object.values(entry)[0] : undefined;
  return outcome !== null && typeof outcome === "object" ? outcome : { status: 0, error: { type: "empty_item", reason: "the bulk item carries no result" } };
}

/**
 * The longest item reason kept (it becomes a dead letter's error.message). A cluster may answer each of a request's
 * thousand items with a long one (a user's ingest script that throws with a long message), and a write keeps the
 * reasons of its refused documents until their dead letters are written: bounded, so they fit the heap.
 */
export const MAX_ITEM_REASON_CHARS = 1_000;

/** Why the item was not created; `target`: the data stream it was sent to (named where the failure store holds it). */
export function bulkItemReason(outcome: BulkItemResult, target = "<data stream>"): string {
  if (outcome.failure_store === "used") {
    return `failure_store used: ${target} refused the document and Elasticsearch kept it in the data stream's failure store ` +
      `(${target}::failures), not in the data stream`;
  }
  const error = outcome.error;
  if (!error) return "no reason given";
  const cause = error.caused_by ? ` (${error.caused_by.type}: ${error.caused_by.reason})` : "";
  const reason = `${error.type}: ${error.reason}${cause}`;
  if (reason.length <= MAX_ITEM_REASON_CHARS) return reason;
  // Not between the two halves of a surrogate pair: a lone one is not text a cluster need accept.
  const last = reason.charCodeAt(MAX_ITEM_REASON_CHARS - 1);
  const cut = last >= 0xd800 && last <= 0xdbff ? MAX_ITEM_REASON_CHARS - 1 : MAX_ITEM_REASON_CHARS;
  return `${reason.slice(0, cut)}… (${reason.length} characters)`;
}

/** A set-up mistake that no retry or dead letter can fix: the target matches no data stream template. */
export class MissingTemplateError extends Error {
  constructor(index: string, reason: string) {
    super(`no index template with a data stream matches ${index} (${reason}): apply the index assets first ` +
      `(npm run index-assets -- --namespace <the same namespace>; it recognises Elasticsearch and OpenSearch)`);
  }
}

export interface HttpPost {
  url: string;
  headers: Record<string, string>;
  body: string | Buffer;
  /** PEM of a private CA to trust; verification stays on. Without it the system roots are used. */
  caPem?: string;
  timeoutMs: number;
  /** Ends the request early: nobody waits for its answer any more. */
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/**
 * POSTs `body` and returns the status and text of the answer. Redirects are not followed (credentials must not go
 * elsewhere: a 3xx comes back as an answer). Connection and TLS failures reject with Node's error.
 */
export function httpPost(post: HttpPost): Promise<HttpAnswer> {
  return withDeadline(post.timeoutMs, post.signal, (signal) => (post.caPem ? httpsPostWithCa(post, signal) : fetchPost(post, signal)));
}

async function fetchPost(post: HttpPost, signal: AbortSignal): Promise<HttpAnswer> {
  const response = await fetch(post.url, { method: "POST", headers: post.headers, body: post.body, redirect: "manual", signal });
  return { status: response.status, text: await response.text() };
}

function httpsPostWithCa(post: HttpPost, signal: AbortSignal): Promise<HttpAnswer> {
  const url = new URL(post.url);
  if (url.protocol !== "https:") return Promise.reject(new Error(`a CA file was given but ${url.origin} is not https: use an https:// URL`));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method: "POST",
      headers: { ...post.headers, "content-length": String(Buffer.byteLength(post.body)) },
      ca: post.caPem,
      rejectUnauthorized: true,
      timeout: post.timeoutMs,
      signal,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
      // Destroyed mid-body (the deadline or a stop): without this the promise would never settle.
      res.on("close", () => { if (!res.complete) reject(new Error(`the answer from ${url.origin} was cut off`)); });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url.origin} within ${post.timeoutMs} ms`)));
    req.on("error", reject);
    req.end(post.body);
  });
}

/** A connection-level failure described with its cause (fetch wraps the useful part: "fetch failed" + cause). */
export function describeConnectionError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause ? `: ${cause.code ? `${cause.code} ` : ""}${cause.message ?? ""}`.trimEnd() : "";
  return `${error.name}: ${error.message}${detail}`;
}

/**
 * True when a connection error is a TLS verification failure (or a CA fingerprint that does not match), which
 * retrying will not heal. A connection closed during the handshake names TLS too ("socket disconnected before secure
 * TLS connection was established", ECONNRESET): a node or load balancer restarting, retried like any other reset.
 */
export function isTlsVerificationError(error: unknown): boolean {
  const text = describeConnectionError(error);
  return /certificate|CERT_|fingerprint|self[- ]signed|SSL|TLS|altname/i.test(text) && !/ECONNRESET|socket hang up|disconnected/i.test(text);
}

/**
 * A CA's SHA-256 fingerprint as the Elasticsearch client takes it (upper-case hex pairs joined by colons), from 64 hex
 * digits with or without colons (openssl prints them with); undefined when it is not one.
 */
export function caFingerprintPairs(value: string): string | undefined {
  const hex = value.replace(/:/g, "").toUpperCase();
  return /^[0-9A-F]{64}$/.test(hex) ? hex.match(/../g)!.join(":") : undefined;
}

/** A CA file (tls.caFile) that cannot be read: a setting's fault, found when the sink is built. */
export class CaFileError extends Error {}

/** The PEM text of a CA file, or CaFileError naming the path and why. */
export function readCaFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new CaFileError(`cannot read the CA file ${path}: ${(error as Error).message}`);
  }
}

/** The error a request gets when its answer has not ended within its deadline (withDeadline). */
export class RequestDeadlineError extends Error {}

/**
 * Runs `request` with a signal that aborts when `stop` does or `ms` after the start: a total deadline, where an
 * HTTP client's own timeout (undici's, the https module's) only bounds each wait for the next bytes, so an answer
 * trickled a byte at a time would hold the write, and the blob's lease, for ever. A stop rejects as the request
 * does; the deadline as RequestDeadlineError. No AbortSignal.any: its dependants are kept until the stop signal dies.
 */
export async function withDeadline<T>(ms: number, stop: AbortSignal | undefined, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onStop = (): void => controller.abort(stop!.reason);
  if (stop?.aborted) onStop();
  else stop?.addEventListener("abort", onStop, { once: true });
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    controller.abort();
  }, ms);
  try {
    return await request(controller.signal);
  } catch (error) {
    if (late && !stop?.aborted) throw new RequestDeadlineError(`no complete answer within ${ms} ms (requestTimeoutMs)`);
    throw error;
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener("abort", onStop);
  }
}

/** The `error` of an Elasticsearch/OpenSearch error body, readable, or a bounded excerpt of the text. */
export function describeErrorBody(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { type?: string; reason?: string } | string };
    if (typeof body.error === "string") return body.error;
    if (body.error) return `${body.error.type}: ${body.error.reason}`;
  } catch {
    // not JSON: fall through to the excerpt
  }
  return text.slice(0, 500) || "(empty answer)";
}
