// How every Elasticsearch resource reaches the cluster: one connection shape (a secret input of each resource), its
// validation, and a request function that adds auth and turns errors into messages that say what to fix.
// Credentials never appear in messages. Used from inside dynamic providers, so nothing here captures a client.
import type { Client } from "@elastic/elasticsearch";
import { checkHttpConnection, sendServiceRequest, UNKNOWN, type Failure, type HttpConnection } from "../connection";

export interface ElasticsearchConnection extends HttpConnection {
  /** Base URL of Elasticsearch, e.g. https://my-deployment.es.westeurope.azure.elastic-cloud.com:443 */
  url: string;
  /** Encoded API key (base64 of `id:api_key`). Fine for templates, pipelines, ILM; NOT for minting the writer key. */
  apiKey?: string;
}

export { UNKNOWN, type Failure };

export function checkConnection(connection: ElasticsearchConnection | undefined): Failure[] {
  return checkHttpConnection(connection, {
    service: "Elasticsearch",
    urlAdvice: "the cluster's endpoint, e.g. https://my-deployment.es.westeurope.azure.elastic-cloud.com",
    shape: "{ url, apiKey | username+password, caCert? }",
  });
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
    // Set again for the dynamic providers: Pulumi serializes their code, and its copy of this class calls Error as a
    // function, which sets nothing on \`this\`; the engine then reports the failure as "error: undefined".
    this.message = message;
    this.name = "ElasticsearchError";
  }
}

export async function callElasticsearch(connection: ElasticsearchConnection, call: EsCall): Promise<EsAnswer> {
  const body = call.json === undefined ? undefined : JSON.stringify(call.json);
  return sendServiceRequest(connection, {
    method: call.method,
    url: `${connection.url.replace(/\/+$/, "")}${call.path}`,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body,
    accept: call.accept,
    where: `${call.method} ${call.path.split("?")[0]}`,
  }, {
    service: "Elasticsearch",
    redirectAdvice: "the cluster's real endpoint",
    describe: describeError,
    hint,
    fail: (message, status, answer) => new ElasticsearchError(message, status, answer),
  });
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
 * The calls `detectCapabilities` (dashboards/src/applyIndexAssets.ts) makes, answered over this module's HTTP, so
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
    info: () => get("/"),
    ilm: { getStatus: () => get("/_ilm/status") },
    nodes: { info: () => get("/_nodes/plugins,ingest") },
  };
  return shim as unknown as Client;
}
