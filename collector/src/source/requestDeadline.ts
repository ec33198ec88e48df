// A client-side deadline on every try of every Azure Storage request the collector makes. The SDK has none of its
// own: the retry policy's tryTimeoutInMs only sets the server's `timeout` parameter, and the pipeline's
// request.timeout (0 by default) stops at the response headers and ends in an AbortError no retry policy retries.
// A peer that stops sending (a live one, or a middlebox) would hold a job, and so its whole poll, for as long as TCP
// keepalive takes to notice (about 11 minutes at Linux defaults) or forever.
//
// The policy sits under the SDK's retry policy, so it times each try: no response headers within `ms`, or no body
// bytes for `ms` while the body arrives (a stall, not a total: a large range on a slow link is fine while bytes
// come), and the try is aborted, its socket closed, with a RestError ETIMEDOUT, which storageRetryPolicy retries like
// a socket timeout. A body handed to the caller as a stream is destroyed with that error: the SDK's download stream
// asks for the rest again, the reader's own requests fall back to the SDK (protocolRequest.ts).
// A stall deadline alone is held for ever by a peer that trickles a byte just inside it, so the body also has a
// total limit, counted from the headers: the stall deadline again plus its length at a throughput no legitimate link
// falls below (bodyLimitMs).
import { Transform } from "node:stream";
import { RestError, type PipelinePolicy, type PipelineRequest, type PipelineResponse } from "@azure/core-rest-pipeline";

import { BEARER_TOKEN_POLICY, STOP_WAITING_FOR_TOKEN_POLICY, stopWaitingForTokenPolicy } from "./tokenDeadline";

export const REQUEST_DEADLINE_POLICY = "flowlogsRequestDeadline";

/** The core pipeline of a storage client (core-client's ServiceClient.pipeline), which its derived clients share. */
interface CorePipeline {
  addPolicy(policy: PipelinePolicy, options?: { phase?: "Sign"; beforePolicies?: string[]; afterPolicies?: string[] }): void;
  removePolicy(options: { name: string }): unknown;
}

/**
 * Puts the deadline on `client`'s pipeline, which the clients made from it (getContainerClient, getBlockBlobClient...)
 * share, replacing one put there before. Throws when the client has no such pipeline (another SDK version): the
 * collector does not run without a deadline.
 */
export function withRequestDeadline<T extends object>(client: T, ms: number): T {
  const pipeline = (client as { storageClientContext?: { pipeline?: Partial<CorePipeline> } }).storageClientContext?.pipeline;
  if (typeof pipeline?.addPolicy !== "function" || typeof pipeline.removePolicy !== "function") {
    throw new Error("this @azure/storage-blob client has no pipeline to put the request deadline on (storageClientContext.pipeline)");
  }
  pipeline.removePolicy({ name: REQUEST_DEADLINE_POLICY });
  pipeline.removePolicy({ name: STOP_WAITING_FOR_TOKEN_POLICY });
  // A stopped try stops waiting for its token without ending the fetch other tries share (tokenDeadline.ts).
  pipeline.addPolicy(stopWaitingForTokenPolicy(), { phase: "Sign", beforePolicies: [BEARER_TOKEN_POLICY] });
  // Last of the Sign phase, after the credential's policy: each try is timed from just before it is sent.
  pipeline.addPolicy(requestDeadlinePolicy(ms), { phase: "Sign", afterPolicies: [BEARER_TOKEN_POLICY] });
  return client;
}

/**
 * The slowest a legitimate answer comes: Azure Storage in the collector's region gives tens of MB/s; 64 KiB/s is a
 * few hundred times less, and still reads the default 4 MiB window in 64 s.
 */
export const MIN_BODY_BYTES_PER_SECOND = 64 << 10;
/** The longest answer the collector asks for: a ranged download of the largest FLOWLOGS_WINDOW_BYTES (256 MiB). */
const LONGEST_ANSWER_BYTES = 256 << 20;
/**
 * An answer without a Content-Length (chunked) is a listing page (at most 1,000 blobs) or a block list (at most
 * Azure's 50,000 committed blocks): a few MB at the most, counted as 16 MiB.
 */
const UNSIZED_ANSWER_BYTES = 16 << 20;

/**
 * The bytes a body's total limit counts: its Content-Length, at most the longest range the collector asks for (a
 * larger one is no answer it asked for); without one, UNSIZED_ANSWER_BYTES.
 */
export function countedBodyBytes(contentLength: string | undefined): number {
  return contentLength !== undefined && /^\d+$/.test(contentLength) ? Math.min(Number(contentLength), LONGEST_ANSWER_BYTES) : UNSIZED_ANSWER_BYTES;
}

/** How long a body may take from its headers to its last byte: the stall deadline (its first bytes), then its length at the slowest legitimate throughput. */
export function bodyLimitMs(stallMs: number, bytes: number): number {
  return stallMs + Math.ceil((bytes * 1000) / MIN_BODY_BYTES_PER_SECOND);
}

/** Every response body is read here (or watched, when the caller streams it), so a stall in it is seen. */
const EVERY_STATUS = new Set([Number.POSITIVE_INFINITY]);

export function requestDeadlinePolicy(ms: number): PipelinePolicy {
  return {
    name: REQUEST_DEADLINE_POLICY,
    async sendRequest(request: PipelineRequest, next): Promise<PipelineResponse> {
      const { abortSignal: outer, streamResponseStatusCodes: streamed } = request;
      const attempt = new Attempt(request, ms, outer);
      request.abortSignal = attempt.signal;
      request.streamResponseStatusCodes = EVERY_STATUS;
      let response: PipelineResponse;
      try {
        response = await next(request);
      } catch (error) {
        attempt.finish();
        throw attempt.expired ?? error;
      } finally {
        // The retry policy sends the same request object again.
        request.abortSignal = outer;
        request.streamResponseStatusCodes = streamed;
      }
      const body = response.readableStreamBody;
      if (attempt.expired) {
        // The deadline passed as the headers came: the socket is closed already.
        (body as { destroy?: () => void } | undefined)?.destroy?.();
        throw attempt.expired;
      }
      if (!body) {
        attempt.finish();
        return response;
      }
      attempt.limitBody(response.headers.get("content-length"));
      if (streamed?.has(Number.POSITIVE_INFINITY) || streamed?.has(response.status)) {
        response.readableStreamBody = attempt.watch(body);
        return response;
      }
      delete response.readableStreamBody;
      response.bodyAsText = await attempt.readText(body);
      return response;
    },
  };
}

/** One try: its abort signal (the caller's, or the deadline's), and the timer that progress restarts. */
class Attempt {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  /** The body's total limit (limitBody), once the headers came. */
  private limit?: NodeJS.Timeout;
  private readonly stopOuter: () => void = () => undefined;
  /** The error the try ended with when the deadline passed. */
  expired?: RestError;
  /** Destroys the body being read or streamed, once there is one. */
  private onExpiry: (error: RestError) => void = () => undefined;

  constructor(private readonly request: PipelineRequest, private readonly ms: number, outer: PipelineRequest["abortSignal"]) {
    if (outer) {
      const abort = (): void => this.controller.abort((outer as { reason?: unknown }).reason);
      if (outer.aborted) abort();
      else {
        outer.addEventListener("abort", abort);
        this.stopOuter = () => outer.removeEventListener("abort", abort);
      }
    }
    this.timer = setTimeout(() => this.expire(`no bytes came from Azure Storage for ${ms} ms (FLOWLOGS_STORAGE_TIMEOUT_MS) while waiting for the answer to ${this.where()}`), ms);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  finish(): void {
    clearTimeout(this.timer);
    clearTimeout(this.limit);
    this.stopOuter();
  }

  /** Starts the body's total limit (bodyLimitMs), which progress does not restart. */
  limitBody(contentLength: string | undefined): void {
    const bytes = countedBodyBytes(contentLength);
    const ms = bodyLimitMs(this.ms, bytes);
    this.limit = setTimeout(() => this.expire(`the body of the answer to ${this.where()} did not end within ${ms} ms of its headers ` +
      `(FLOWLOGS_STORAGE_TIMEOUT_MS, then ${bytes} bytes at ${MIN_BODY_BYTES_PER_SECOND} bytes/s): its bytes trickled`), ms);
    this.limit.unref();
  }

  /**
   * The body as the caller's stream: each chunk restarts the timer. An error or early close of the response (a cut
   * connection) errors it at once, as an error rather than the response's `aborted` (after which the SDK's download
   * stream gives up instead of asking for the rest); destroying it closes the response. Piped by hand: a pipeline()
   * cost twice the CPU per request here.
   */
  watch(body: NodeJS.ReadableStream): NodeJS.ReadableStream {
    const timer = this.timer;
    const response = body as NodeJS.ReadableStream & { destroy(): void };
    const watched = new Transform({
      transform(chunk, _encoding, done) {
        timer.refresh();
        done(null, chunk);
      },
      flush: (done) => {
        this.finish();
        done();
      },
      destroy: (error, done) => {
        this.finish();
        response.destroy();
        done(error);
      },
    });
    response.once("error", (error: Error) => watched.destroy(error));
    response.once("close", () => {
      if (!watched.writableEnded) watched.destroy(new Error("the response ended before its body did"));
    });
    // The caller's listeners still see an error; a caller that dropped the stream unread does not crash the process.
    watched.on("error", () => undefined);
    this.onExpiry = (error) => watched.destroy(error);
    response.pipe(watched);
    return watched;
  }

  /** The body as text, as the HTTP client would have read it, with the timer restarted by each chunk. */
  readText(body: NodeJS.ReadableStream): Promise<string> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      this.onExpiry = (error) => (body as { destroy?: (error: Error) => void }).destroy?.(error);
      body.on("data", (chunk: Buffer | string) => {
        this.timer.refresh();
        parts.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
      });
      body.once("end", () => {
        this.finish();
        resolve(Buffer.concat(parts).toString("utf8"));
      });
      body.once("error", (error: Error) => {
        this.finish();
        // As the HTTP client reports a body it could not read (a cut connection), unless the deadline cut it.
        reject(this.expired ?? (error.name === "AbortError" ? error : new RestError(`Error reading response as text: ${error.message}`, { code: RestError.PARSE_ERROR })));
      });
    });
  }

  /** The request, without its query (a SAS would be in it). */
  private where(): string {
    const url = new URL(this.request.url);
    return `${this.request.method} ${url.origin}${url.pathname}`;
  }

  private expire(why: string): void {
    this.expired = new RestError(`${why}: the request was aborted`, { code: "ETIMEDOUT", request: this.request });
    this.onExpiry(this.expired);
    this.controller.abort(this.expired);
    this.stopOuter();
  }
}
