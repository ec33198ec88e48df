// How every Kibana resource reaches Kibana: one connection shape (a secret input of each resource), its
// validation, and a request function that adds auth, `kbn-xsrf` and the space prefix and turns errors into
// messages that say what to fix. Credentials never appear in messages.
import { multipartFile } from "../http";
import { checkHttpConnection, sendServiceRequest, UNKNOWN, type Failure, type HttpConnection } from "../connection";

export interface KibanaConnection extends HttpConnection {
  /** Base URL of Kibana, e.g. https://kibana.example.com:5601 (a base path such as /kibana is kept). */
  url: string;
  /** Space id; objects go to `/s/<space>/api/...`. Omitted or "default" means the default space. */
  space?: string;
}

export { UNKNOWN, type Failure };

export function checkConnection(connection: KibanaConnection | undefined): Failure[] {
  const failures = checkHttpConnection(connection, {
    service: "Kibana",
    urlAdvice: "Kibana's base URL, e.g. https://kibana.example.com:5601",
    shape: "{ url, apiKey | username+password, space?, caCert? }",
  });
  if (connection && typeof connection === "object" && connection.space !== undefined && connection.space !== UNKNOWN && !/^[a-z0-9_-]+$/.test(connection.space)) {
    failures.push({ property: "connection.space", reason: `space id "${connection.space}" is invalid: use lowercase letters, digits, "_" and "-" (the space id, not its display name)` });
  }
  return failures;
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
    // Set again for the dynamic providers: Pulumi serializes their code, and its copy of this class calls Error as a
    // function, which sets nothing on \`this\`; the engine then reports the failure as "error: undefined".
    this.message = message;
    this.name = "KibanaError";
  }
}

export async function callKibana(connection: KibanaConnection, call: KibanaCall): Promise<KibanaAnswer> {
  const space = spaceOf(connection);
  const prefix = space === "default" ? "" : `/s/${encodeURIComponent(space)}`;
  // Kibana refuses every mutating call without kbn-xsrf (CSRF protection).
  const headers: Record<string, string> = call.method === "GET" ? {} : { "kbn-xsrf": "true" };
  let body: string | Buffer | undefined;
  if (call.ndjsonFile) {
    const part = multipartFile("file", call.ndjsonFile.filename, "application/ndjson", call.ndjsonFile.content);
    body = part.body;
    headers["content-type"] = part.contentType;
  } else if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers["content-type"] = "application/json";
  }
  return sendServiceRequest(connection, {
    method: call.method,
    url: `${connection.url.replace(/\/+$/, "")}${prefix}${call.path}`,
    headers,
    body,
    accept: call.accept,
    where: `${call.method} ${space === "default" ? "" : `/s/${space}`}${call.path}`,
  }, {
    service: "Kibana",
    redirectAdvice: "Kibana's real base URL",
    describe: describeError,
    hint: (status) => hint(status, space),
    fail: (message, status) => new KibanaError(message, status),
  });
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
