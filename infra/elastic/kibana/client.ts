// How every Kibana resource reaches Kibana: one connection shape (a secret input of each resource), its
// validation, and a request function that adds auth, `kbn-xsrf` and the space prefix and turns errors into
// messages that say what to fix. Credentials never appear in messages.
import { httpRequest, multipartFile } from "../http";

export interface KibanaConnection {
  /** Base URL of Kibana, e.g. https://kibana.example.com:5601 (a base path such as /kibana is kept). */
  url: string;
  /** Space id; objects go to `/s/<space>/api/...`. Omitted or "default" means the default space. */
  space?: string;
  /** Encoded API key (base64 of `id:api_key`, the `encoded` field Elasticsearch returns). */
  apiKey?: string;
  username?: string;
  password?: string;
  /** PEM of a private CA that signed Kibana's certificate. Verification is never turned off. */
  caCert?: string;
  /** Allow plain http to a host other than loopback (credentials would cross the network in clear). */
  allowInsecureHttp?: boolean;
}

/** Pulumi passes this string for values not known yet (preview); validation must not reject it. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Failure {
  property: string;
  reason: string;
}

export function checkConnection(connection: KibanaConnection | undefined): Failure[] {
  const fail = (reason: string): Failure[] => [{ property: "connection", reason }];
  if ((connection as unknown) === UNKNOWN) return [];
  if (connection === undefined || connection === null) return fail("connection is required: { url, apiKey } or { url, username, password }");
  if (typeof connection !== "object") return fail("connection must be an object { url, apiKey | username+password, space?, caCert? }");
  const failures: Failure[] = [];
  const { url } = connection;
  if (url !== UNKNOWN) {
    let parsed: URL | undefined;
    try { parsed = new URL(url); } catch { /* reported below */ }
    if (!parsed || !["http:", "https:"].includes(parsed.protocol)) {
      failures.push({ property: "connection.url", reason: `"${url}" is not an http(s) URL: set it to Kibana's base URL, e.g. https://kibana.example.com:5601` });
    } else if (parsed.username || parsed.password) {
      failures.push({ property: "connection.url", reason: "the URL carries credentials: remove them from the URL and pass apiKey (or username/password) as secrets" });
    } else if (parsed.search || parsed.hash) {
      failures.push({ property: "connection.url", reason: "the URL has a query or fragment: give only scheme, host, port and an optional base path" });
    } else if (parsed.protocol === "http:" && !isLoopback(parsed.hostname) && !connection.allowInsecureHttp) {
      failures.push({ property: "connection.url", reason: `${parsed.origin} is plain http: use https (set allowInsecureHttp only for a trusted private network)` });
    }
    if (parsed && connection.caCert && parsed.protocol !== "https:") {
      failures.push({ property: "connection.caCert", reason: "a CA certificate only makes sense with an https:// URL" });
    }
  }
  const hasKey = connection.apiKey !== undefined && connection.apiKey !== "";
  const hasBasic = connection.username !== undefined || connection.password !== undefined;
  if (hasKey === hasBasic) {
    failures.push({ property: "connection", reason: "give exactly one way to authenticate: apiKey, or username and password" });
  } else if (hasBasic && (!connection.username || !connection.password)) {
    failures.push({ property: "connection", reason: "basic auth needs both username and password" });
  }
  if (connection.space !== undefined && connection.space !== UNKNOWN && !/^[a-z0-9_-]+$/.test(connection.space)) {
    failures.push({ property: "connection.space", reason: `space id "${connection.space}" is invalid: use lowercase letters, digits, "_" and "-" (the space id, not its display name)` });
  }
  if (connection.caCert !== undefined && connection.caCert !== UNKNOWN && !connection.caCert.includes("-----BEGIN CERTIFICATE-----")) {
    failures.push({ property: "connection.caCert", reason: "caCert must be a PEM certificate (-----BEGIN CERTIFICATE-----)" });
  }
  return failures;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\./.test(hostname);
}

/** The space the objects live in; "default" and omitted are the same space. */
export function spaceOf(connection: KibanaConnection): string {
  return connection.space && connection.space !== "default" ? connection.space : "default";
}

export interface KibanaCall {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** API path starting with /api/ (the space prefix is added here). */
  path: string;
  json?: unknown;
  ndjsonFile?: { filename: string; content: string };
  /** Statuses that are answers rather than errors (e.g. 404 on read or delete). */
  accept?: number[];
}

export interface KibanaAnswer {
  status: number;
  body: any;
}

export class KibanaError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "KibanaError";
  }
}

export async function callKibana(connection: KibanaConnection, call: KibanaCall): Promise<KibanaAnswer> {
  const space = spaceOf(connection);
  const base = connection.url.replace(/\/+$/, "");
  const url = `${base}${space === "default" ? "" : `/s/${encodeURIComponent(space)}`}${call.path}`;
  const headers: Record<string, string> = {
    accept: "application/json",
    authorization: connection.apiKey
      ? `ApiKey ${connection.apiKey}`
      : `Basic ${Buffer.from(`${connection.username}:${connection.password}`).toString("base64")}`,
  };
  // Kibana refuses every mutating call without this header (CSRF protection).
  if (call.method !== "GET") headers["kbn-xsrf"] = "true";
  let body: string | Buffer | undefined;
  if (call.ndjsonFile) {
    const part = multipartFile("file", call.ndjsonFile.filename, "application/ndjson", call.ndjsonFile.content);
    body = part.body;
    headers["content-type"] = part.contentType;
  } else if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers["content-type"] = "application/json";
  }
  const where = `${call.method} ${space === "default" ? "" : `/s/${space}`}${call.path}`;
  let answer;
  try {
    answer = await httpRequest({ method: call.method, url, headers, body, caCert: connection.caCert });
  } catch (error) {
    const cause = error instanceof Error ? ((error as { cause?: Error }).cause?.message ?? error.message) : String(error);
    throw new KibanaError(`${where}: could not reach Kibana at ${new URL(base).origin}: ${cause}`, 0);
  }
  let parsed: any = undefined;
  if (answer.text) {
    try { parsed = JSON.parse(answer.text); } catch { parsed = answer.text; }
  }
  if ((answer.status >= 200 && answer.status < 300) || call.accept?.includes(answer.status)) {
    return { status: answer.status, body: parsed };
  }
  if (answer.status >= 300 && answer.status < 400) {
    throw new KibanaError(`${where}: Kibana answered with a redirect (HTTP ${answer.status}) to ${answer.location ?? "(no location)"}; ` +
      "redirects are not followed so credentials stay with the configured host: set connection.url to Kibana's real base URL", answer.status);
  }
  throw new KibanaError(`${where} failed with HTTP ${answer.status}: ${describeError(parsed)}${hint(answer.status, space)}`, answer.status);
}

function describeError(body: any): string {
  if (body && typeof body === "object") {
    const text = [body.error, body.message].filter((x) => typeof x === "string").join(": ");
    return text || JSON.stringify(body).slice(0, 500);
  }
  return typeof body === "string" && body ? body.slice(0, 500) : "(empty answer)";
}

function hint(status: number, space: string): string {
  switch (status) {
    case 401: return " (the API key or username/password was refused: check the connection secrets)";
    case 403: return " (authenticated but not allowed, or the license does not cover this: check the user's Kibana privileges and the license level)";
    case 404: return space === "default" ? "" : ` (does the space "${space}" exist?)`;
    case 409: return " (an object with this id already exists: import it into the stack or delete it)";
    default: return "";
  }
}
