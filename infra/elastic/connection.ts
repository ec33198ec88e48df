// What Elasticsearch and Kibana connections share: the shape (URL, API key or basic auth, private CA), its
// validation, and one request path that adds auth, never follows redirects (credentials stay with the configured
// host) and turns failures into messages that say what to fix. Credentials never appear in messages. Runs inside
// dynamic providers, so nothing here captures a client.
import { httpRequest } from "./http";
import { redactUrlText } from "../../collector/src/safeText";

export interface HttpConnection {
  url: string;
  /** Encoded API key (base64 of `id:api_key`, the `encoded` field Elasticsearch returns). */
  apiKey?: string;
  username?: string;
  password?: string;
  /** PEM of a private CA that signed the service's certificate. Verification is never turned off. */
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

export interface ServiceNaming {
  /** "Elasticsearch" or "Kibana", as messages name it. */
  service: string;
  /** How to describe the URL to set, e.g. "the cluster's endpoint, e.g. https://...". */
  urlAdvice: string;
  /** The object shape, for "connection must be an object ..." messages. */
  shape: string;
}

export function checkHttpConnection(connection: HttpConnection | undefined, naming: ServiceNaming): Failure[] {
  const fail = (reason: string): Failure[] => [{ property: "connection", reason }];
  if ((connection as unknown) === UNKNOWN) return [];
  if (connection === undefined || connection === null) return fail("connection is required: { url, apiKey } or { url, username, password }");
  if (typeof connection !== "object") return fail(`connection must be an object ${naming.shape}`);
  const failures: Failure[] = [];
  const { url } = connection;
  if (url !== UNKNOWN) {
    let parsed: URL | undefined;
    try { parsed = new URL(url); } catch { /* reported below */ }
    if (!parsed || !["http:", "https:"].includes(parsed.protocol)) {
      failures.push({ property: "connection.url", reason: `${JSON.stringify(typeof url === "string" ? redactUrlText(url) : url)} is not an http(s) URL: set it to ${naming.urlAdvice}` });
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

export function authorizationHeader(connection: HttpConnection): string {
  return connection.apiKey
    ? `ApiKey ${connection.apiKey}`
    : `Basic ${Buffer.from(`${connection.username}:${connection.password}`).toString("base64")}`;
}

export interface ServiceRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Statuses that are answers rather than errors (e.g. 404 on read or delete). */
  accept?: number[];
  /** How the call is named in messages, e.g. "PUT /_index_template/x". */
  where: string;
}

export interface ServiceAnswer {
  status: number;
  body: any;
}

export interface ServiceErrors {
  service: string;
  /** What URL to set when the service redirects. */
  redirectAdvice: string;
  /** A readable account of an error body. */
  describe(body: any): string;
  /** Advice appended for a status, e.g. which privilege is missing. */
  hint(status: number): string;
  fail(message: string, status: number, body?: any): Error;
}

/** Sends one request; 2xx and accepted statuses are answers, everything else an error built by `errors.fail`. */
export async function sendServiceRequest(connection: HttpConnection, request: ServiceRequest, errors: ServiceErrors): Promise<ServiceAnswer> {
  const headers = { accept: "application/json", authorization: authorizationHeader(connection), ...request.headers };
  let answer;
  try {
    answer = await httpRequest({ method: request.method, url: request.url, headers, body: request.body, caCert: connection.caCert });
  } catch (error) {
    const cause = error instanceof Error ? ((error as { cause?: Error }).cause?.message ?? error.message) : String(error);
    throw errors.fail(`${request.where}: could not reach ${errors.service} at ${new URL(request.url).origin}: ${cause}`, 0);
  }
  let parsed: any = undefined;
  if (answer.text) {
    try { parsed = JSON.parse(answer.text); } catch { parsed = answer.text; }
  }
  if ((answer.status >= 200 && answer.status < 300) || request.accept?.includes(answer.status)) {
    return { status: answer.status, body: parsed };
  }
  if (answer.status >= 300 && answer.status < 400) {
    throw errors.fail(`${request.where}: ${errors.service} answered with a redirect (HTTP ${answer.status}) to ${answer.location ?? "(no location)"}; ` +
      `redirects are not followed so credentials stay with the configured host: set connection.url to ${errors.redirectAdvice}`, answer.status);
  }
  throw errors.fail(`${request.where} failed with HTTP ${answer.status}: ${errors.describe(parsed)}${errors.hint(answer.status)}`, answer.status, parsed);
}
