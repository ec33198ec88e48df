// /healthz and /metrics. Healthy while the loop makes progress (a poll makes progress, the sink acknowledges a
// batch, or it waits out an outage). 503, so the platform restarts the replica, when three polls in a row made none (every blob job or every
// listing failed: e.g. the checkpoint container is gone and may not be recreated), or when nothing made progress
// for three poll intervals (at least two minutes: a hung loop).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "./metrics";

export interface StatusServer {
  url: string;
  close(): Promise<void>;
}

/** Polls in a row without progress after which /healthz answers 503. */
export const FAILED_POLLS_LIMIT = 3;

export async function startStatusServer(metrics: Metrics, host: string, port: number, pollIntervalSeconds: number, startedAt = Date.now()): Promise<StatusServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET") {
      response.writeHead(405, { allow: "GET" }).end();
    } else if (path === "/metrics") {
      response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(metrics.render());
    } else if (path === "/healthz") {
      const now = Date.now();
      const last = metrics.lastProgress ?? startedAt;
      const limit = Math.max(3 * pollIntervalSeconds * 1000, 120_000);
      const failing = metrics.failedPolls >= FAILED_POLLS_LIMIT;
      const healthy = now - last <= limit && !failing;
      response.writeHead(healthy ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({
        status: healthy ? "ok" : failing ? "failing" : "stalled",
        ...(healthy ? {} : { reason: failing ? `${metrics.failedPolls} polls in a row made no progress: ${metrics.lastFailure}` : `no progress for ${Math.round((now - last) / 1000)} s` }),
        lastPollEnd: metrics.lastPollEnd ? new Date(metrics.lastPollEnd).toISOString() : null,
        polls: metrics.polls,
        failedPolls: metrics.failedPolls,
      }));
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz or /metrics\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
