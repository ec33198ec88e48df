// One small HTTP helper for the Elastic side (Kibana now, Elasticsearch admin calls later). It is used from inside
// Pulumi dynamic providers, whose code is serialized into the state: so no captured clients or agents, and
// node modules are `require`d inside the function.

export interface HttpRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** PEM of a private CA to trust (TLS verification stays on). Without it, the system roots are used. */
  caCert?: string;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  text: string;
  /** The Location header of a redirect: redirects are not followed, so credentials never go elsewhere. */
  location?: string;
}

/**
 * Sends one request. Uses Node's global `fetch`; when a custom CA is given it uses `node:https` instead, because
 * the global fetch cannot be handed a CA without the undici package (NODE_EXTRA_CA_CERTS works only at start-up).
 */
export async function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  const timeoutMs = request.timeoutMs ?? 60_000;
  if (request.caCert) return httpsWithCa(request, timeoutMs);
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: AbortSignal.timeout(timeoutMs),
    redirect: "manual",
  });
  return { status: response.status, text: await response.text(), location: response.headers.get("location") ?? undefined };
}

function httpsWithCa(request: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const https: typeof import("node:https") = require("node:https");
  const url = new URL(request.url);
  if (url.protocol !== "https:") {
    return Promise.reject(new Error(`a CA certificate was given but ${url.origin} is not https: use an https:// URL`));
  }
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: request.method,
      headers: request.body === undefined ? request.headers
        : { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
      ca: request.caCert,
      rejectUnauthorized: true,
      timeout: timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), location: res.headers.location }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)));
    req.on("error", reject);
    if (request.body !== undefined) req.write(request.body);
    req.end();
  });
}

/** Builds a multipart/form-data body with one file part, byte-exact, so both transports send the same thing. */
export function multipartFile(field: string, filename: string, contentType: string, content: string): { body: Buffer; contentType: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { randomBytes }: typeof import("node:crypto") = require("node:crypto");
  const boundary = `----flowlogs${randomBytes(12).toString("hex")}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
    `Content-Type: ${contentType}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), Buffer.from(content, "utf8"), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
