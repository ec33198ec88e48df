// A loopback HTTP proxy in front of the real Elasticsearch (or Azurite) that misbehaves on cue (answers 429/503, drops the
// connection, or stops sending without closing it) and otherwise forwards, so retry logic is tested against the real
// engine, not a mock.
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createGunzip, gunzipSync } from "node:zlib";

/**
 * `forwardAfter`: forwarded once the promise settles (another client's request can be made to come first).
 * `rewriteBody`: forwarded, and the upstream's answer body replaced by what the function makes of it.
 * `cutBody`: forwarded, and the connection dropped after the answer's head and half of its body.
 * `dropRange`: forwarded without its `x-ms-range` header (a hop that drops it): the upstream answers with the whole blob.
 * `dropHeaders`: forwarded, and these answer headers removed when `when` (given the answer's body) says so, or always:
 * to answer as Azure documents where Azurite says more.
 * `stallHead`: read, never forwarded nor answered; the connection stays open (a peer that stopped answering).
 * `stallBody`: forwarded, and the answer's head and half of its body sent, then nothing more; the connection stays
 * open (a peer or middlebox that stopped sending mid-body). Both last until the client gives up or the proxy stops.
 * `trickleEveryMs`: forwarded, and the answer's head sent, then its body one byte per `trickleEveryMs` (a peer that
 * sends just enough to keep a stall deadline from firing, which would hold a client with no total limit for ever).
 * `loseAnswerIf`: forwarded whole (the upstream applies it), and its answer never sent when the function, given the
 * request's body and the answer's status, says so; the connection stays open (an answer lost on the way back).
 */
export type Fault = "forward" | "drop" | "cutBody" | "dropRange" | "stallHead" | "stallBody" | { status: number } | { forwardAfter: Promise<unknown> }
  | { rewriteBody: (body: string) => string } | { dropHeaders: string[]; when?: (body: string) => boolean }
  | { loseAnswerIf: (requestBody: string, status: number) => boolean } | { trickleEveryMs: number };

export interface FaultyProxy {
  url: string;
  /** Every request seen, in order, with what was done to it. */
  seen: Array<{
    method: string; path: string; fault: Fault; authorization?: string; range?: string; ifMatch?: string; bytes?: number;
    /** The upstream's answer (forwarded requests, once it arrived). */
    status?: number;
    /** `loseAnswerIf` kept the upstream's answer from the client. */
    answerLost?: boolean;
    /** When the request arrived (epoch milliseconds). */
    arrivedAt: number;
    /** Milliseconds from the request's arrival until its answer ended or its connection closed (a stalled one: the client gave up). */
    closedAfterMs?: number;
    /** Milliseconds from the request's arrival until the answer's head went to the client (forwarded answers). */
    headAfterMs?: number;
    responseBytes: number; decodedBytes: number;
  }>;
  stop(): Promise<void>;
}

/**
 * `decide` is asked once per request (`n` counts from 0) what to do with it. With `tls` (PEM key and certificate)
 * the proxy speaks HTTPS to its clients, which tests CA pinning against the plain-HTTP test engine.
 */
export async function startFaultyProxy(
  target: string,
  decide: (request: { method: string; path: string; n: number; /** Its Content-Length, when it has one. */ bytes?: number }) => Fault,
  tls?: { key: string; cert: string },
): Promise<FaultyProxy> {
  const upstream = new URL(target);
  const seen: FaultyProxy["seen"] = [];
  const sockets = new Set<Socket>();
  const handle = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    const method = incoming.method ?? "GET";
    const path = incoming.url ?? "/";
    const length = Number(incoming.headers["content-length"]);
    const fault = decide({ method, path, n: seen.length, ...(Number.isFinite(length) ? { bytes: length } : {}) });
    const arrived = Date.now();
    const entry: FaultyProxy["seen"][number] = {
      method, path, fault, arrivedAt: arrived, responseBytes: 0, decodedBytes: 0, ...(Number.isFinite(length) ? { bytes: length } : {}),
      ...(incoming.headers.authorization ? { authorization: incoming.headers.authorization } : {}),
      ...(typeof incoming.headers["x-ms-range"] === "string" ? { range: incoming.headers["x-ms-range"] } : {}),
      ...(typeof incoming.headers["if-match"] === "string" ? { ifMatch: incoming.headers["if-match"] } : {}),
    };
    seen.push(entry);
    outgoing.once("close", () => { entry.closedAfterMs = Date.now() - arrived; });
    if (fault === "drop") {
      incoming.socket.destroy();
      return;
    }
    if (fault === "stallHead") {
      incoming.resume();
      return;
    }
    if (fault === "cutBody" || fault === "stallBody" || (typeof fault === "object" && ("rewriteBody" in fault || "trickleEveryMs" in fault))) {
      forwardWhole(typeof fault === "object" && "rewriteBody" in fault ? fault.rewriteBody : undefined);
      return;
    }
    if (typeof fault === "object" && "dropHeaders" in fault) {
      forwardWhole((body) => body, (body) => ((fault.when?.(body) ?? true) ? fault.dropHeaders : []));
      return;
    }
    if (typeof fault === "object" && "loseAnswerIf" in fault) {
      const parts: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => parts.push(chunk));
      incoming.once("end", () => {
        const body = Buffer.concat(parts);
        const forwarded = request({ host: upstream.hostname, port: upstream.port, method, path, headers: { ...incoming.headers, host: upstream.host } }, (response) => {
          entry.status = response.statusCode;
          if (fault.loseAnswerIf(body.toString("utf8"), response.statusCode ?? 0)) {
            entry.answerLost = true;
            response.resume();
            return;
          }
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        });
        forwarded.once("error", () => outgoing.destroy());
        forwarded.end(body);
      });
      return;
    }
    if (typeof fault === "object" && "status" in fault) {
      incoming.resume();
      incoming.once("end", () => {
        outgoing.writeHead(fault.status, { "content-type": "application/json" });
        outgoing.end(JSON.stringify({ error: { type: "injected_fault", reason: `proxy answered ${fault.status}` }, status: fault.status }));
      });
      return;
    }
    if (typeof fault === "object" && "forwardAfter" in fault) void fault.forwardAfter.then(forward, forward);
    else forward();
    /** Sends the request on to the upstream; `answered` gets its answer. */
    function toUpstream(answered: (response: IncomingMessage) => void): void {
      const headers: Record<string, string | string[] | undefined> = { ...incoming.headers, host: upstream.host };
      if (fault === "dropRange") delete headers["x-ms-range"];
      const forwarded = request({ host: upstream.hostname, port: upstream.port, method, path, headers }, (response) => {
        entry.status = response.statusCode;
        answered(response);
      });
      forwarded.once("error", () => outgoing.destroy());
      incoming.pipe(forwarded);
    }
    function forward(): void {
      toUpstream((response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        entry.headAfterMs = Date.now() - arrived;
        response.on("data", (chunk: Buffer) => { entry.responseBytes += chunk.length; });
        // What the client reads after decompression (fetch asks for gzip, and OpenSearch compresses its answers).
        if (response.headers["content-encoding"] === "gzip") {
          const gunzip = createGunzip();
          gunzip.on("data", (chunk: Buffer) => { entry.decodedBytes += chunk.length; });
          response.pipe(gunzip);
        } else {
          response.on("data", (chunk: Buffer) => { entry.decodedBytes += chunk.length; });
        }
        response.pipe(outgoing);
      });
    }
    /**
     * Forwards, waits for the whole answer, then sends it rewritten (`rewrite`), a byte at a time (`trickleEveryMs`)
     * or only half its body (then the connection is dropped, or left open with `stallBody`), without the headers
     * `dropped` names.
     */
    function forwardWhole(rewrite?: (body: string) => string, dropped?: (body: string) => string[]): void {
      toUpstream((response) => {
        const parts: Buffer[] = [];
        response.on("data", (chunk: Buffer) => parts.push(chunk));
        response.once("end", () => {
          const received = Buffer.concat(parts);
          // A rewrite sees the text and sends it uncompressed (fetch asks for gzip; the engine then compresses).
          const gzipped = rewrite !== undefined && response.headers["content-encoding"] === "gzip";
          const original = gzipped ? gunzipSync(received) : received;
          const body = rewrite ? Buffer.from(rewrite(original.toString("utf8"))) : original;
          const headers: Record<string, string | string[] | undefined> = { ...response.headers, "content-length": String(body.length) };
          if (gzipped) delete headers["content-encoding"];
          delete headers["transfer-encoding"];
          for (const name of dropped?.(original.toString("utf8")) ?? []) delete headers[name.toLowerCase()];
          outgoing.writeHead(response.statusCode ?? 502, headers);
          entry.headAfterMs = Date.now() - arrived;
          entry.responseBytes = entry.decodedBytes = rewrite ? body.length : body.length >> 1;
          if (rewrite) outgoing.end(body);
          else if (typeof fault === "object" && "trickleEveryMs" in fault) trickle(body, fault.trickleEveryMs);
          else outgoing.write(body.subarray(0, body.length >> 1), () => { if (fault === "cutBody") incoming.socket.destroy(); });
        });
      });
    }
    function trickle(body: Buffer, everyMs: number): void {
      entry.responseBytes = entry.decodedBytes = 0;
      const timer = setInterval(() => {
        if (entry.responseBytes === body.length) {
          clearInterval(timer);
          outgoing.end();
          return;
        }
        outgoing.write(body.subarray(entry.responseBytes, ++entry.responseBytes));
        entry.decodedBytes = entry.responseBytes;
      }, everyMs);
      outgoing.once("close", () => clearInterval(timer));
    }
  };
  const server = tls ? createTlsServer(tls, handle) : createServer(handle);
  server.on(tls ? "secureConnection" : "connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    seen,
    stop: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A `rewriteBody` for `_bulk` answers: the first item replaced by null (an answer mangled on the way back). */
export function firstItemNull(body: string): string {
  const answer = JSON.parse(body) as { items: unknown[] };
  answer.items[0] = null;
  return JSON.stringify(answer);
}

/**
 * A proxy with a request body limit, like nginx's `client_max_body_size`: a `_bulk` request larger than `maxBytes`
 * is answered 413 before the cluster sees it; everything else is forwarded.
 */
export function startBodyLimitProxy(target: string, maxBytes: number): Promise<FaultyProxy> {
  return startFaultyProxy(target, ({ path, bytes }) => (path.startsWith("/_bulk") && (bytes ?? 0) > maxBytes ? { status: 413 } : "forward"));
}
