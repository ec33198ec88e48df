// Ships flow documents to Logz.io through its HTTPS bulk listener: POST https://<listener>:8071/?token=<account
// token>&type=<type>, the body one minified JSON document per line (at most 10,485,760 bytes per request and
// 500,000 bytes per line). 200 = all accepted; 400 = some lines were not (the answer counts malformed, oversized and
// empty lines, the valid ones are kept); 401 = token missing or wrong; 413 = body too large.
// The listener cannot deduplicate by id, so delivery is at-least-once: the deterministic id travels as `event.id`
// (not `_id`, a metadata field Elasticsearch-based stores refuse inside a document) so duplicates can be found.
// The token is part of the URL: every message built here names the listener by origin only, and any text coming
// from the network layer is scrubbed of the token before it is logged or thrown.
import type { DeadLetter, IdentifiedDocument, Sink, SinkResult, SourcePosition, WriteOptions } from "../model";
import { deadLetterDocument } from "./deadLetterDocument";
import { logzioLine } from "./logzioLine";
import { StoppedWriteError } from "./stoppedWrite";
import {
  readCaFile,
  backoffDelay, describeConnectionError, httpPost, isTlsVerificationError, retryableStatus,
  sizedBatches, type DeliveryOptions,
  deliverySettings, type DeliverySettings,
} from "./httpBulk";

/** The listener's documented limits. */
export const LOGZIO_MAX_BODY_BYTES = 10_485_760;
export const LOGZIO_MAX_LINE_BYTES = 500_000;
export const LOGZIO_DEFAULT_URL = "https://listener.logz.io:8071";
export const LOGZIO_DEFAULT_TYPE = "azure_flowlogs";

export interface LogzioSinkOptions extends DeliveryOptions {
  /** Listener URL of the account's region, e.g. https://listener-eu.logz.io:8071. No token in it. */
  url?: string;
  /** Log shipping token of the account. Secret: never logged. */
  token: string;
  /** Log type (no spaces); Logz.io picks its parsing by type. Dead letters go under `<type>_deadletter`. */
  type?: string;
  /** PEM file of a private CA to trust (a proxy in between); verification always stays on. */
  caFile?: string;
}

interface Line {
  text: string;
  bytes: number;
  entry: DeadLetter;
}

/** What a 400 answer carries. */
interface PartialAnswer {
  malformedLines?: number;
  successfulLines?: number;
  oversizedLines?: number;
  emptyLogLines?: number;
}

export class LogzioSink implements Sink {
  private readonly listener: URL;
  private readonly token: string;
  private readonly type: string;
  private readonly deadLetterType: string;
  private readonly caPem?: string;
  private readonly delivery: DeliverySettings;

  constructor(options: LogzioSinkOptions) {
    this.listener = listenerUrl(options.url ?? LOGZIO_DEFAULT_URL);
    if (!options.token || /\s/.test(options.token)) throw new Error("the Logz.io token is empty or contains spaces: use the account's log shipping token");
    this.token = options.token;
    this.type = logType(options.type ?? LOGZIO_DEFAULT_TYPE);
    this.deadLetterType = `${this.type}_deadletter`;
    if (options.caFile) {
      this.caPem = readCaFile(options.caFile);
    }
    this.delivery = deliverySettings(options, { maxBatchDocuments: 5000, maxBatchBytes: LOGZIO_MAX_BODY_BYTES });
    if (this.delivery.maxBatchBytes > LOGZIO_MAX_BODY_BYTES) {
      throw new Error(`maxBatchBytes ${this.delivery.maxBatchBytes} is over the Logz.io listener's limit of ${LOGZIO_MAX_BODY_BYTES} bytes per request`);
    }
  }

  /** The listener as it may be shown: origin only, never the token. */
  get target(): string {
    return `${this.listener.origin} (type ${this.type})`;
  }

  async write(documents: IdentifiedDocument[], position?: SourcePosition, options?: WriteOptions): Promise<SinkResult> {
    const result: SinkResult = { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 };
    const lines: Line[] = [];
    const refused: DeadLetter[] = [];
    for (const document of documents) {
      // Logz.io wants the id inside the document (event.id): written into the JSON text, not parsed again.
      // `source` read once: a parsed document writes its text on each read.
      const { id, source } = document;
      const text = logzioLine({ id, source, get doc() { return document.doc; } });
      const entry: DeadLetter = { id, reason: "", raw: source, ...(position ? { position } : {}) };
      const bytes = Buffer.byteLength(text) + 1;
      // The listener would refuse this line anyway (counted, not named): set it aside here, with the reason.
      if (bytes - 1 > LOGZIO_MAX_LINE_BYTES) refused.push({ ...entry, reason: `document is ${bytes - 1} bytes, over the Logz.io listener's limit of ${LOGZIO_MAX_LINE_BYTES} bytes per line` });
      else lines.push({ text, bytes, entry });
    }
    // After a 400 every line of the batch is kept as a dead letter, but the accepted ones count as indexed only.
    let keptButIndexed = 0;
    for (const batch of sizedBatches(lines, (line) => line.bytes, this.delivery.maxBatchDocuments, this.delivery.maxBatchBytes)) {
      const sent = await this.send(batch, this.type, options);
      result.retries += sent.retries;
      result.indexed += sent.accepted;
      if (sent.partial) {
        refused.push(...batch.map((line) => ({ ...line.entry, reason: sent.partial! })));
        keptButIndexed += sent.accepted;
      }
    }
    if (refused.length) {
      this.delivery.log(`${refused.length} document(s) not accepted by ${this.target}; writing them as type ${this.deadLetterType}`);
      result.retries += await this.storeDeadLetters(refused, options);
      result.deadLettered = refused.length - keptButIndexed;
    }
    return result;
  }

  async deadLetter(entries: DeadLetter[], options?: WriteOptions): Promise<void> {
    if (entries.length) await this.storeDeadLetters(entries, options);
  }

  async close(): Promise<void> {
    // Nothing held open: each batch is one fetch.
  }

  private async storeDeadLetters(entries: DeadLetter[], options?: WriteOptions): Promise<number> {
    const now = new Date().toISOString();
    const lines = entries.map((entry): Line => {
      const text = fitLine(entry, now);
      return { text, bytes: Buffer.byteLength(text) + 1, entry };
    });
    let retries = 0;
    for (const batch of sizedBatches(lines, (line) => line.bytes, this.delivery.maxBatchDocuments, this.delivery.maxBatchBytes)) {
      const sent = await this.send(batch, this.deadLetterType, options);
      retries += sent.retries;
      if (sent.partial) throw new Error(`${this.listener.origin} refused dead letters (type ${this.deadLetterType}): ${sent.partial}`);
    }
    return retries;
  }

  /** Sends one batch until the listener answers for it; rejects on a permanent refusal or when retries run out. */
  private async send(batch: Line[], type: string, options?: WriteOptions): Promise<{ accepted: number; retries: number; partial?: string }> {
    const url = new URL(this.listener);
    url.searchParams.set("token", this.token);
    url.searchParams.set("type", type);
    const body = batch.map((line) => `${line.text}\n`).join("");
    // The write's signal (the collector's stop, a lost lease) ends the request in flight and the wait between tries.
    const signal = options?.signal;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new StoppedWriteError(signal);
      let transient: string;
      try {
        const answer = await httpPost({ url: url.href, headers: { "content-type": "application/json" }, body, caPem: this.caPem, timeoutMs: this.delivery.timeoutMs, signal });
        if (answer.status >= 200 && answer.status < 300) return { accepted: batch.length, retries: attempt };
        if (answer.status === 400) return { ...this.partial(answer.text, batch.length), retries: attempt };
        if (!retryableStatus(answer.status)) {
          throw new PermanentError(`the Logz.io listener ${this.listener.origin} refused the request (HTTP ${answer.status})` +
            (answer.status === 401 ? ": the token is missing or wrong, check FLOWLOGS_LOGZIO_TOKEN (the account's log shipping token)" : "") +
            (answer.status === 413 ? `: the body of ${Buffer.byteLength(body)} bytes is too large, lower maxBatchBytes` : "") +
            (answer.status >= 300 && answer.status < 400 ? ": redirects are not followed, use the region's listener URL" : "") +
            `${answer.text ? `: ${this.scrub(answer.text.slice(0, 300))}` : ""}`);
        }
        transient = `HTTP ${answer.status}`;
      } catch (error) {
        if (error instanceof PermanentError) throw error;
        if (signal?.aborted) throw new StoppedWriteError(signal);
        if (isTlsVerificationError(error)) {
          throw new Error(`TLS verification of the Logz.io listener ${this.listener.origin} failed (${this.scrub(describeConnectionError(error))})`);
        }
        transient = this.scrub(describeConnectionError(error));
      }
      if (attempt >= this.delivery.maxRetries) {
        throw new Error(`gave up sending ${batch.length} document(s) to ${this.target} after ${attempt} retries: last error ${transient}`);
      }
      const wait = backoffDelay(attempt, this.delivery.backoff);
      this.delivery.log(`retrying ${batch.length} document(s) in ${wait} ms (${transient})`);
      await options?.onWaiting?.();
      await this.delivery.sleep(wait, signal);
    }
  }

  /** A 400: the valid lines were kept, the others are counted but not named, so the whole batch is set aside. */
  private partial(text: string, total: number): { accepted: number; partial: string } {
    let counts: PartialAnswer;
    try {
      counts = JSON.parse(text) as PartialAnswer;
    } catch {
      throw new PermanentError(`the Logz.io listener ${this.listener.origin} answered 400 without its line counts: ${this.scrub(text.slice(0, 300))}`);
    }
    const accepted = Math.min(total, Math.max(0, counts.successfulLines ?? 0));
    return {
      accepted,
      partial: `the Logz.io listener accepted ${accepted} of ${total} lines (malformed ${counts.malformedLines ?? 0}, ` +
        `oversized ${counts.oversizedLines ?? 0}, empty ${counts.emptyLogLines ?? 0}) without naming them: the whole batch is kept here`,
    };
  }

  private scrub(text: string): string {
    return text.split(this.token).join("<token>").split(encodeURIComponent(this.token)).join("<token>");
  }
}

class PermanentError extends Error {}

function listenerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`invalid Logz.io listener URL: expected e.g. ${LOGZIO_DEFAULT_URL} (or listener-eu.logz.io, listener-nl.logz.io... for your region)`);
  }
  if (url.search || url.username || url.password) {
    throw new Error("the Logz.io listener URL must not carry a query string or credentials: give the token separately (FLOWLOGS_LOGZIO_TOKEN)");
  }
  const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new Error(`the Logz.io listener URL must use https (got ${url.protocol}): the token travels in the URL, e.g. ${LOGZIO_DEFAULT_URL}`);
  }
  return url;
}

function logType(type: string): string {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(type)) {
    throw new Error(`invalid Logz.io log type ${JSON.stringify(type)}: use 1-100 of A-Z, a-z, 0-9, "_", "." and "-" (no spaces)`);
  }
  return type;
}

/** The dead-letter document as one line within the listener's line limit: an over-long original is cut, and says so. */
function fitLine(entry: DeadLetter, timestamp: string): string {
  const text = JSON.stringify(deadLetterDocument(entry, timestamp));
  if (Buffer.byteLength(text) <= LOGZIO_MAX_LINE_BYTES) return text;
  const room = LOGZIO_MAX_LINE_BYTES - Buffer.byteLength(JSON.stringify(deadLetterDocument({ ...entry, raw: "" }, timestamp))) - 1000;
  let raw = entry.raw.slice(0, Math.max(0, room));
  while (Buffer.byteLength(JSON.stringify(raw)) > room) raw = raw.slice(0, Math.floor(raw.length * 0.9));
  const document = deadLetterDocument({ ...entry, raw }, timestamp);
  return JSON.stringify({ ...document, deadletter: { ...(document.deadletter as object), original_bytes: Buffer.byteLength(entry.raw), truncated: true } });
}
