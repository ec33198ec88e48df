// Puts the planned index assets into an OpenSearch cluster. The Elasticsearch client refuses servers that are not
// Elasticsearch (product check), so this speaks plain HTTP over fetch: `GET /` says which engine and version it is,
// `GET _nodes/plugins,ingest` what it has, then every request of the plan is PUT in order, as for Elasticsearch.
import type { AppliedIndexAssets } from "./applyIndexAssets";
import { type ClusterCapabilities, type IndexAssetOptions, planIndexAssets } from "./indexAssets";

export interface OpenSearchConnection {
  /** Cluster URL without credentials, e.g. https://search-domain.eu-west-1.es.amazonaws.com. */
  node: string;
  auth?: { apiKey: string } | { username: string; password: string };
}

/** What `GET /` answers: the engine's name and version. */
export interface ClusterIdentity {
  distribution: "elasticsearch" | "opensearch";
  version: string;
}

export async function applyOpenSearchIndexAssets(connection: OpenSearchConnection, options: IndexAssetOptions = {}): Promise<AppliedIndexAssets> {
  const capabilities = await detectOpenSearchCapabilities(connection);
  const plan = planIndexAssets(options, capabilities);
  for (const request of plan.requests) {
    const answer = await call(connection, "PUT", request.path, request.body);
    if (answer.status < 200 || answer.status >= 300) {
      throw new Error(`could not put ${request.kind} ${request.name}: HTTP ${answer.status} ${describe(answer.body)}`);
    }
  }
  return { ...plan, capabilities };
}

/** The engine behind a URL; OpenSearch says so in `version.distribution`, Elasticsearch has no such field. */
export async function identifyCluster(connection: OpenSearchConnection): Promise<ClusterIdentity> {
  const answer = await call(connection, "GET", "/");
  const version = (answer.body as { version?: { number?: string; distribution?: string } } | undefined)?.version;
  if (answer.status !== 200 || typeof version?.number !== "string") {
    throw new Error(`could not ask ${new URL(connection.node).origin} what it is (GET /): HTTP ${answer.status} ${describe(answer.body)}`);
  }
  return { distribution: version.distribution === "opensearch" ? "opensearch" : "elasticsearch", version: version.number };
}

export async function detectOpenSearchCapabilities(connection: OpenSearchConnection): Promise<ClusterCapabilities> {
  const identity = await identifyCluster(connection);
  if (identity.distribution !== "opensearch") {
    throw new Error(`${new URL(connection.node).origin} is Elasticsearch ${identity.version}, not OpenSearch: use applyIndexAssets with an Elasticsearch client`);
  }
  const answer = await call(connection, "GET", "/_nodes/plugins,ingest");
  if (answer.status !== 200) throw new Error(`could not list the cluster's modules: HTTP ${answer.status} ${describe(answer.body)}`);
  const nodes = Object.values((answer.body as { nodes?: Record<string, NodeInfo> }).nodes ?? {});
  const perNode = nodes.map((node) => new Set((node.ingest?.processors ?? []).map((processor) => processor.type)));
  const ingestProcessors = [...(perNode[0] ?? [])].filter((type) => perNode.every((set) => set.has(type))).sort();
  // constant_keyword is core server code since OpenSearch 2.14 (no module to look for); ILM never exists there.
  // Its geoip processor is Elasticsearch 7.10's: no continent_code property (refused with a 400 parse_exception).
  const [major, minor] = identity.version.split(".").map(Number) as [number, number];
  return {
    distribution: "opensearch", ilm: false, logsdb: false, implicitLogsdb: false, constantKeyword: major > 2 || (major === 2 && minor >= 14),
    ingestProcessors, geoipContinentCode: false,
  };
}

interface NodeInfo {
  ingest?: { processors?: Array<{ type: string }> };
}

async function call(connection: OpenSearchConnection, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { accept: "application/json", ...authHeader(connection.auth) };
  if (body !== undefined) headers["content-type"] = "application/json";
  const url = new URL(path.replace(/^\//, ""), connection.node.endsWith("/") ? connection.node : `${connection.node}/`);
  let response: Response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${method} ${url.pathname} on ${url.origin} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  const text = await response.text();
  let parsed: unknown = text;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { /* keep the text */ }
  return { status: response.status, body: parsed };
}

/** Credentials go into this header only, never into URLs or messages. */
function authHeader(auth: OpenSearchConnection["auth"]): Record<string, string> {
  if (!auth) return {};
  if ("apiKey" in auth) return { authorization: `ApiKey ${auth.apiKey}` };
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` };
}

function describe(body: unknown): string {
  const error = (body as { error?: { type?: string; reason?: string } | string } | undefined)?.error;
  if (error && typeof error === "object") return `${error.type}: ${error.reason}`;
  if (typeof error === "string") return error;
  return typeof body === "string" ? body.slice(0, 300) : JSON.stringify(body ?? "").slice(0, 300);
}
