// How every Elasticsearch resource reaches the cluster: one connection shape (a secret input of each resource), its
// validation, and a request function that adds auth and turns errors into messages that say what to fix.
// Credentials never appear in messages. Used from inside dynamic providers, so nothing here captures a client.
import type { Client } from "@elastic/elasticsearch";
import { httpRequest } from "../http";

export interface ElasticsearchConnection {
  /** Base URL of Elasticsearch, e.g. https://my-deployment.es.westeurope.azure.elastic-cloud.com:443 */
  url: string;
  /** Encoded API key (base64 of `id:api_key`). Fine for templates, pipelines, ILM; NOT for minting the writer key. */
  apiKey?: string;
  username?: string;
  password?: string;
  /** PEM of a private CA that signed the cluster's certificate. Verification is never turned off. */
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

export function checkConnection(connection: ElasticsearchConnection | undefined): Failure[] {
  const fail = (reason: string): Failure[] => [{ property: "connection", reason }];
  if ((connection as unknown) === UNKNOWN) return [];
  if (connection === undefined || connection === null) return fail("connection is required: { url, apiKey } or { url, username, password }");
  if (typeof connection !== "object") return fail("connection must be an object { url, apiKey | username+password, caCert? }");
  const failures: Failure[] = [];
  const { url } = connection;
  if (url !== UNKNOWN) {
    let parsed: URL | undefined;
    try { parsed = new URL(url); } catch { /* reported below */ }
    if (!parsed || !["http:", "https:"].includes(parsed.protocol)) {
      failures.push({ property: "connection.url", reason: `"${url}" is not an http(s) URL: set it to the cluster's endpoint, e.g. https://my-deployment.es.westeurope.azure.elastic-cloud.com` });
    } else if (parsed.username || parsed.password) {
      failures.push({ property: "connection.url", reason: "the URL carries credentials: remove them from the URL and pass apiKey (or username/password) as secrets" });
    } else if (parsed.search || parsed.hash) {
      failures.push({ property: "connection.url", reason: "the URL has a query or fragment: give only scheme, host, port and an optional base path" });
    } else if (parsed.protocol === "http:" && !isLoopback(parsed.hostname) && !connection.allowInsecureHttp) {
      failures.push({ property: "connection.url", reason: `${parsed.origin} is plain http: use https (set allowInsecureHttp only for a trusted private network)` });
    }
    if (parsed && connection.caCert && connection.caCert !== UNKNOWN && parsed.protocol !== "https:") {
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
  if (connection.caCert !== undefined && connection.caCert !== UNKNOWN && !String(connection.caCert).includes("-----BEGIN CERTIFICATE-----")) {
    failures.push({ property: "connection.caCert", reason: "caCert must be a PEM certificate (-----BEGIN CERTIFICATE-----)" });
  }
  return failures;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\./.test(hostname);
}

export interface EsCall {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path starting with "/" (query string allowed). */
  path: string;
  json?: unknown;
  /** Statuses that are answers rather than errors (e.g. 404 on read or delete). */
  accept?: number[];
}

export interface EsAnswer {
  status: number;
  body: any;
}

export class ElasticsearchError extends Error {
  constructor(message: string, readonly status: number, readonly body?: any) {
    super(message);
    this.name = "ElasticsearchError";
  }
}

export async function callElasticsearch(connection: ElasticsearchConnection, call: EsCall): Promise<EsAnswer> {
  const base = connection.url.replace(/\/+$/, "");
  const headers: Record<string, string> = {
    accept: "application/json",
    authorization: connection.apiKey
      ? `ApiKey ${connection.apiKey}`
      : `Basic ${Buffer.from(`${connection.username}:${connection.password}`).toString("base64")}`,
  };
  let body: string | undefined;
  if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers["content-type"] = "application/json";
  }
  const where = `${call.method} ${call.path.split("?")[0]}`;
  let answer;
  try {
    answer = await httpRequest({ method: call.method, url: `${base}${call.path}`, headers, body, caCert: connection.caCert });
  } catch (error) {
    const cause = error instanceof Error ? ((error as { cause?: Error }).cause?.message ?? error.message) : String(error);
    throw new ElasticsearchError(`${where}: could not reach Elasticsearch at ${new URL(base).origin}: ${cause}`, 0);
  }
  let parsed: any = undefined;
  if (answer.text) {
    try { parsed = JSON.parse(answer.text); } catch { parsed = answer.text; }
  }
  if ((answer.status >= 200 && answer.status < 300) || call.accept?.includes(answer.status)) {
    return { status: answer.status, body: parsed };
  }
  if (answer.status >= 300 && answer.status < 400) {
    throw new ElasticsearchError(`${where}: Elasticsearch answered with a redirect (HTTP ${answer.status}) to ${answer.location ?? "(no location)"}; ` +
      "redirects are not followed so credentials stay with the configured host: set connection.url to the cluster's real endpoint", answer.status);
  }
  throw new ElasticsearchError(`${where} failed with HTTP ${answer.status}: ${describeError(parsed)}${hint(answer.status)}`, answer.status, parsed);
}

/** `type: reason` of an Elasticsearch error body (the root cause when there is one). */
export function describeError(body: any): string {
  const error = body?.error;
  if (error && typeof error === "object") {
    const root = Array.isArray(error.root_cause) && error.root_cause[0] && error.root_cause[0].reason !== error.reason ? ` (root cause: ${error.root_cause[0].reason})` : "";
    return `${error.type ?? "error"}: ${error.reason ?? JSON.stringify(error).slice(0, 500)}${root}`;
  }
  if (typeof error === "string") return error;
  if (body && typeof body === "object") return JSON.stringify(body).slice(0, 500);
  return typeof body === "string" && body ? body.slice(0, 500) : "(empty answer)";
}

function hint(status: number): string {
  switch (status) {
    case 401: return " (the API key or username/password was refused: check the connection secrets)";
    case 403: return " (authenticated but not allowed: the identity needs manage_index_templates, manage_ilm, manage_pipeline (templates, retention, pipeline) or manage_own_api_key (writer key))";
    default: return "";
  }
}

/**
 * The two calls `detectCapabilities` (dashboards/src/applyIndexAssets.ts) makes, answered over this module's HTTP, so
 * the providers reuse that one detection without shipping a client inside the serialized provider. Errors carry
 * `meta.statusCode` and `meta.body` like the client's.
 */
export function capabilityClient(connection: ElasticsearchConnection): Client {
  const get = async (path: string): Promise<any> => {
    try {
      return (await callElasticsearch(connection, { method: "GET", path })).body;
    } catch (error) {
      const failure = error as ElasticsearchError;
      throw Object.assign(new Error(failure.message), { meta: { statusCode: failure.status, body: failure.body } });
    }
  };
  const shim = {
    ilm: { getStatus: () => get("/_ilm/status") },
    nodes: { info: () => get("/_nodes/plugins,ingest") },
  };
  return shim as unknown as Client;
}
