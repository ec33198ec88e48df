// A loopback stand-in for the Elasticsearch APIs the test engine lacks (API keys, ILM, ingest pipelines), that
// ENFORCES the documented contract (REFERENCE.md Part 2 §6 and Elastic's API docs): method and path, the auth
// header, request body schemas (unknown fields refused, as Elasticsearch's strict parsers do), and the documented
// answers: 400 on bad bodies and on deleting what is in use, 401, 404. Where its exact behaviour is unknown it is
// stricter, never looser. Templates are kept too, so one double can answer a full-stack plan.
import { randomBytes } from "node:crypto";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { AddressInfo } from "node:net";
import { refusedPrivileges, refusedSettings, SERVERLESS_ROOT, unavailableApi } from "./serverlessRules";

export interface RecordedRequest { method: string; path: string; query: URLSearchParams; headers: IncomingMessage["headers"]; body: string }
export interface StoredKey { id: string; name: string; apiKey: string; roleDescriptors: any; metadata: any; expiration?: number; invalidated: boolean; creation: number; username: string }

export interface FakeElasticsearchOptions {
  basic?: { username: string; password: string };
  /** More users with the same roles as `basic` (a deployer changed: each sees only its own keys with `ownKeysOnly`). */
  otherUsers?: Array<{ username: string; password: string }>;
  /** An API key (encoded) the double accepts for admin calls; a key it minted is accepted too. */
  apiKey?: string;
  ilm?: boolean;
  processors?: string[];
  /** Serve https with this key and certificate. */
  tls?: { key: string; cert: string };
  /**
   * The user holds `manage_own_api_key`, not `manage_api_key`: as Elasticsearch's ManageOwnApiKeyClusterPrivilege
   * rules, getting or invalidating keys by id is allowed only with `owner: true` (or the user's own name and realm),
   * and then only the user's own keys are seen.
   */
  ownKeysOnly?: boolean;
  /**
   * Behave as Elastic Cloud Serverless (./serverlessRules.ts): GET / says `build_flavor: "serverless"`, ILM and the
   * internal APIs are refused as Serverless refuses them, and so are templates with settings it does not publish.
   * Give it no `basic` user: Serverless projects authenticate API keys only.
   */
  serverless?: boolean;
  /** GET / refused (403), as for an identity without the `monitor` cluster privilege. */
  rootForbidden?: boolean;
}

class Answer extends Error {
  constructor(readonly status: number, readonly body: unknown) { super(`HTTP ${status}`); }
}

const forbidden = (action: string, username: string) => new Answer(403, {
  error: { type: "security_exception", reason: `action [${action}] is unauthorized for user [${username}] with effective roles [flowlogs_deployer]` }, status: 403,
});
/** An Elasticsearch name pattern (`*` for any run of characters) as a regular expression. */
const wildcard = (pattern: string): RegExp => new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
const bad = (type: string, reason: string) => new Answer(400, { error: { root_cause: [{ type, reason }], type, reason }, status: 400 });
const missing = (type: string, reason: string) => new Answer(404, { error: { root_cause: [{ type, reason }], type, reason }, status: 404 });

/** GET / of a stateful cluster (the specification's RootNodeInfoResponseExample1, "Stack response"). */
const STATEFUL_ROOT = {
  name: "instance-0000000000", cluster_name: "my_test_cluster", cluster_uuid: "zk-HjQtYQGyL3NFSSu7InA",
  version: { number: "9.1.0", build_flavor: "default", build_type: "docker", build_hash: "00000000", build_date: "2025-07-09T22:10:13.578182715Z", build_snapshot: false, lucene_version: "10.2.2", minimum_wire_compatibility_version: "8.19.0", minimum_index_compatibility_version: "8.0.0" },
  tagline: "You Know, for Search",
};

const ILM_PHASES = ["hot", "warm", "cold", "frozen", "delete"];
const DURATION = /^\d+(d|h|m|s|ms|micros|nanos)$/;

export class FakeElasticsearch {
  readonly requests: RecordedRequest[] = [];
  readonly components = new Map<string, any>();
  readonly indexTemplates = new Map<string, any>();
  readonly pipelines = new Map<string, any>();
  readonly policies = new Map<string, { version: number; modified_date: string; policy: any }>();
  readonly keys = new Map<string, StoredKey>();
  /** data stream name -> the index template that created it (set by tests to simulate data). */
  readonly dataStreams = new Map<string, string>();
  /**
   * Each data stream's own lifecycle (`_data_stream/<name>/_lifecycle`): copied from its template once, when it is
   * made (makeDataStream), and changed only through that API afterwards (Elastic, "Update the lifecycle of a data
   * stream"; the data stream lifecycle API docs).
   */
  readonly streamLifecycles = new Map<string, unknown>();
  private server: Server;
  url = "";

  constructor(private readonly options: FakeElasticsearchOptions = {}) {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = options.tls ? createHttpsServer(options.tls, handler) : createServer(handler);
  }

  /** What a first write does: the data stream made from `template`, taking its lifecycle as it is now. */
  makeDataStream(name: string, template: string): void {
    this.dataStreams.set(name, template);
    const lifecycle = this.indexTemplates.get(template)?.template?.lifecycle;
    if (lifecycle !== undefined) this.streamLifecycles.set(name, structuredClone(lifecycle));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `${this.options.tls ? "https" : "http"}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://x");
    const recorded = { method: req.method ?? "", path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
    this.requests.push(recorded);
    let status = 200;
    let body: unknown;
    try {
      const auth = this.authenticate(req.headers.authorization);
      body = this.route(recorded, auth);
    } catch (error) {
      if (!(error instanceof Answer)) throw error;
      status = error.status;
      body = error.body;
    }
    res.writeHead(status, { "content-type": "application/json", "x-elastic-product": "Elasticsearch" });
    res.end(JSON.stringify(body ?? { acknowledged: true }));
  }

  private authenticate(header: string | undefined): { kind: "user"; username: string } | { kind: "apiKey"; id: string } {
    const unauthorized = () => new Answer(401, { error: { type: "security_exception", reason: "unable to authenticate user" }, status: 401 });
    if (!header) throw unauthorized();
    const [scheme, value] = header.split(" ");
    if (scheme === "Basic" && this.options.basic) {
      const [username, ...rest] = Buffer.from(value ?? "", "base64").toString("utf8").split(":");
      const users = [this.options.basic, ...(this.options.otherUsers ?? [])];
      if (users.some((user) => username === user.username && rest.join(":") === user.password)) return { kind: "user", username: username! };
    }
    if (scheme === "ApiKey") {
      if (value === this.options.apiKey) return { kind: "apiKey", id: "admin-key" };
      const [id, secret] = Buffer.from(value ?? "", "base64").toString("utf8").split(":");
      const key = this.keys.get(id ?? "");
      if (key && !key.invalidated && key.apiKey === secret) return { kind: "apiKey", id: key.id };
    }
    throw unauthorized();
  }

  private route(req: RecordedRequest, auth: ReturnType<FakeElasticsearch["authenticate"]>): unknown {
    const json = (): any => {
      if (!req.body) throw bad("parse_exception", "request body is required");
      try { return JSON.parse(req.body); } catch { throw bad("x_content_parse_exception", "Failed to parse content to map"); }
    };
    const { method, path } = req;
    let m: RegExpExecArray | null;
    if (method === "GET" && path === "/") {
      if (this.options.rootForbidden) throw forbidden("cluster:monitor/main", auth.kind === "user" ? auth.username : "api-key");
      return this.options.serverless ? SERVERLESS_ROOT : STATEFUL_ROOT;
    }
    const unavailable = this.options.serverless ? unavailableApi(method, path) : undefined;
    if (unavailable) throw new Answer(unavailable.status, unavailable.body);
    if (method === "GET" && path === "/_ilm/status") {
      if (!this.options.ilm) throw bad("illegal_argument_exception", "no handler found for uri [/_ilm/status] and method [GET]");
      return { operation_mode: "RUNNING" };
    }
    if (method === "GET" && path === "/_nodes/plugins,ingest") {
      const processors = (this.options.processors ?? []).map((type) => ({ type }));
      const modules = [{ name: "constant-keyword", classname: "org.elasticsearch.xpack.constantkeyword.ConstantKeywordMapperPlugin" }, { name: "data-streams", classname: "org.elasticsearch.datastreams.DataStreamsPlugin" }];
      return { nodes: { n1: { name: "n1", modules, plugins: [], ingest: { processors } } } };
    }
    if ((m = /^\/_component_template\/([^/]+)$/.exec(path))) return this.componentTemplate(method, decodeURIComponent(m[1]!), json);
    if ((m = /^\/_index_template\/([^/]+)$/.exec(path))) return this.indexTemplate(method, decodeURIComponent(m[1]!), json);
    if ((m = /^\/_ingest\/pipeline\/([^/]+)$/.exec(path))) return this.pipeline(method, decodeURIComponent(m[1]!), json);
    if ((m = /^\/_ilm\/policy\/([^/]+)$/.exec(path))) return this.policy(method, decodeURIComponent(m[1]!), json);
    if ((m = /^\/_data_stream\/([^/]+)\/_lifecycle$/.exec(path))) return this.streamLifecycle(method, decodeURIComponent(m[1]!), json);
    if (path === "/_security/api_key") return this.apiKey(method, req.query, auth, json);
    if (path === "/_security/user/_has_privileges" && (method === "GET" || method === "POST")) return this.hasPrivileges(auth, json());
    throw bad("illegal_argument_exception", `no handler found for uri [${path}] and method [${method}]`);
  }

  /**
   * What the caller holds of what it asks for. A key the double minted or was given holds what its role descriptors
   * list by name (or `all`), on the exact names or `*` patterns listed: stricter than Elasticsearch, which also grants a
   * privilege through a wider one (`write` covers `create_doc`). The admin key and users hold everything.
   */
  private hasPrivileges(auth: ReturnType<FakeElasticsearch["authenticate"]>, request: any): unknown {
    const refusal = this.options.serverless ? refusedPrivileges(request) : undefined;
    if (refusal) throw new Answer(refusal.status, refusal.body);
    const key = auth.kind === "apiKey" ? this.keys.get(auth.id) : undefined;
    const roles = key ? Object.values<any>(key.roleDescriptors ?? {}) : undefined;
    const named = (list: string[] | undefined, privilege: string) => (list ?? []).some((p) => p === privilege || p === "all");
    const holdsCluster = (privilege: string) => !roles || roles.some((role) => named(role.cluster, privilege));
    const holdsIndex = (name: string, privilege: string) =>
      !roles || roles.some((role) => (role.indices ?? []).some((entry: any) => entry.names.some((pattern: string) => wildcard(pattern).test(name)) && named(entry.privileges, privilege)));
    const cluster = Object.fromEntries((request.cluster ?? []).map((privilege: string) => [privilege, holdsCluster(privilege)]));
    const index: Record<string, Record<string, boolean>> = {};
    for (const entry of request.index ?? []) {
      for (const name of entry.names) index[name] = { ...index[name], ...Object.fromEntries(entry.privileges.map((privilege: string) => [privilege, holdsIndex(name, privilege)])) };
    }
    const all = [...Object.values(cluster), ...Object.values(index).flatMap((held) => Object.values(held))].every((held) => held === true);
    return { username: key?.name ?? (auth.kind === "user" ? auth.username : "admin-key"), has_all_requested: all, cluster, index, application: {} };
  }

  private componentTemplate(method: string, name: string, json: () => any): unknown {
    if (method === "PUT") {
      const body = json();
      onlyKeys(body, ["template", "version", "_meta", "deprecated"], "component_template");
      this.refuseServerlessSettings(body);
      this.components.set(name, body);
      return undefined;
    }
    const stored = this.components.get(name);
    if (!stored) throw missing("resource_not_found_exception", `component template matching [${name}] not found`);
    if (method === "GET") return { component_templates: [{ name, component_template: stored }] };
    if (method === "DELETE") {
      const users = [...this.indexTemplates].filter(([, t]) => (t.composed_of ?? []).includes(name)).map(([n]) => n);
      if (users.length) throw bad("illegal_argument_exception", `component templates [${name}] cannot be removed as they are still in use by index templates [${users.join(", ")}]`);
      this.components.delete(name);
      return undefined;
    }
    throw bad("illegal_argument_exception", `no handler for ${method}`);
  }

  /** PUT (body: data_retention, enabled, downsampling), GET, DELETE of one named stream's lifecycle; 404 if no such stream. */
  private streamLifecycle(method: string, name: string, json: () => any): unknown {
    if (!this.dataStreams.has(name)) throw missing("index_not_found_exception", `no such index [${name}]`);
    if (method === "GET") return { data_streams: [{ name, ...(this.streamLifecycles.has(name) ? { lifecycle: this.streamLifecycles.get(name) } : {}) }] };
    if (method === "PUT") {
      const body = json();
      onlyKeys(body, ["data_retention", "enabled", "downsampling"], "data_stream_lifecycle");
      if (body.data_retention !== undefined && !DURATION.test(body.data_retention)) throw bad("illegal_argument_exception", `failed to parse setting [data_retention] with value [${body.data_retention}] as a time value`);
      this.streamLifecycles.set(name, body);
      return { acknowledged: true };
    }
    if (method === "DELETE") {
      this.streamLifecycles.delete(name);
      return { acknowledged: true };
    }
    throw bad("illegal_argument_exception", `no handler found for uri [/_data_stream/${name}/_lifecycle] and method [${method}]`);
  }

  private indexTemplate(method: string, name: string, json: () => any): unknown {
    if (method === "PUT") {
      const body = json();
      onlyKeys(body, ["index_patterns", "composed_of", "template", "data_stream", "priority", "version", "_meta", "allow_auto_create", "ignore_missing_component_templates", "deprecated"], "index_template");
      if (!Array.isArray(body.index_patterns) || !body.index_patterns.length) throw bad("action_request_validation_exception", "Validation Failed: 1: index patterns are missing;");
      this.refuseServerlessSettings(body);
      const absent = (body.composed_of ?? []).filter((c: string) => !this.components.has(c));
      if (absent.length) throw bad("invalid_index_template_exception", `index_template [${name}] invalid, cause [index template [${name}] specifies component templates ${JSON.stringify(absent)} that do not exist]`);
      const pipeline = body.template?.settings?.["index.default_pipeline"] ?? body.template?.settings?.index?.default_pipeline;
      if (pipeline && !this.pipelines.has(pipeline)) {
        // Elasticsearch accepts a missing default pipeline at template time; writes would fail. Stricter here.
        throw bad("illegal_argument_exception", `pipeline [${pipeline}] does not exist`);
      }
      this.indexTemplates.set(name, { ...body, created_date_millis: Date.now() });
      return undefined;
    }
    if (method === "GET" && name.includes("*")) {
      // A wildcard answers the templates it matches; matching none, a 404 whose body is the empty list (what the real
      // test cluster answers: indexAssetsProvider.test.ts).
      const pattern = wildcard(name);
      const matches = [...this.indexTemplates].filter(([n]) => pattern.test(n)).map(([n, t]) => ({ name: n, index_template: t }));
      if (matches.length === 0) throw new Answer(404, { index_templates: [] });
      return { index_templates: matches };
    }
    const stored = this.indexTemplates.get(name);
    if (!stored) throw missing("resource_not_found_exception", `index template matching [${name}] not found`);
    if (method === "GET") return { index_templates: [{ name, index_template: { ...stored, modified_date_millis: Date.now() } }] };
    if (method === "DELETE") {
      const streams = [...this.dataStreams].filter(([, t]) => t === name).map(([s]) => s);
      if (streams.length) throw bad("illegal_argument_exception", `unable to remove composable templates [${name}] as they are in use by a data streams [${streams.join(", ")}]`);
      this.indexTemplates.delete(name);
      return undefined;
    }
    throw bad("illegal_argument_exception", `no handler for ${method}`);
  }

  private refuseServerlessSettings(body: any): void {
    const refusal = this.options.serverless ? refusedSettings(body.template?.settings) : undefined;
    if (refusal) throw new Answer(refusal.status, refusal.body);
  }

  private pipeline(method: string, name: string, json: () => any): unknown {
    if (method === "PUT") {
      const body = json();
      onlyKeys(body, ["description", "processors", "on_failure", "version", "_meta", "deprecated"], "pipeline");
      if (!Array.isArray(body.processors)) throw bad("parse_exception", "[processors] required property is missing");
      for (const processor of body.processors) {
        const types = Object.keys(processor ?? {});
        if (types.length !== 1) throw bad("parse_exception", "processor must have exactly one type");
        if (!(this.options.processors ?? []).includes(types[0]!)) throw bad("parse_exception", `No processor type exists with name [${types[0]}]`);
      }
      this.pipelines.set(name, body);
      return undefined;
    }
    const stored = this.pipelines.get(name);
    if (!stored) {
      if (method === "GET") throw new Answer(404, {});
      throw missing("resource_not_found_exception", `pipeline [${name}] is missing`);
    }
    if (method === "GET") return { [name]: stored };
    if (method === "DELETE") {
      const users = [...this.dataStreams].filter(([, t]) => {
        const s = this.indexTemplates.get(t)?.template?.settings ?? {};
        return (s["index.default_pipeline"] ?? s.index?.default_pipeline) === name;
      });
      if (users.length) throw bad("illegal_argument_exception", `pipeline [${name}] cannot be deleted because it is the default pipeline for ${users.length} index(es) including [${users[0]![0]}]`);
      this.pipelines.delete(name);
      return undefined;
    }
    throw bad("illegal_argument_exception", `no handler for ${method}`);
  }

  private policy(method: string, name: string, json: () => any): unknown {
    if (!this.options.ilm) throw bad("illegal_argument_exception", `no handler found for uri [/_ilm/policy/${name}] and method [${method}]`);
    if (method === "PUT") {
      const body = json();
      // Elasticsearch's put_lifecycle_request parser knows only `policy` (ConstructingObjectParser, no unknown fields).
      for (const key of Object.keys(body)) if (key !== "policy") throw bad("x_content_parse_exception", `[1:2] [put_lifecycle_request] unknown field [${key}]`);
      const policy = body.policy;
      if (!policy || typeof policy !== "object") throw bad("x_content_parse_exception", "[put_lifecycle_request] policy is required");
      for (const key of Object.keys(policy)) if (!["phases", "_meta", "deprecated"].includes(key)) throw bad("x_content_parse_exception", `[lifecycle_policy] unknown field [${key}]`);
      for (const [phase, definition] of Object.entries<any>(policy.phases ?? {})) {
        if (!ILM_PHASES.includes(phase)) throw bad("illegal_argument_exception", `Timeseries lifecycle does not support phase [${phase}]`);
        if (definition.min_age !== undefined && !DURATION.test(definition.min_age)) throw bad("illegal_argument_exception", `failed to parse setting [min_age] with value [${definition.min_age}] as a time value`);
      }
      const previous = this.policies.get(name);
      this.policies.set(name, { version: (previous?.version ?? 0) + 1, modified_date: new Date().toISOString(), policy });
      return undefined;
    }
    const stored = this.policies.get(name);
    if (!stored) throw missing("resource_not_found_exception", `Lifecycle policy not found: ${name}`);
    if (method === "GET") return { [name]: stored };
    if (method === "DELETE") {
      const users = [...this.dataStreams].filter(([, t]) => {
        const s = this.indexTemplates.get(t)?.template?.settings ?? {};
        return (s["index.lifecycle.name"] ?? s.index?.lifecycle?.name) === name;
      });
      if (users.length) throw bad("illegal_argument_exception", `Cannot delete policy [${name}]. It is in use by one or more indices: [${users.map(([s]) => `.ds-${s}-000001`).join(", ")}]`);
      this.policies.delete(name);
      return undefined;
    }
    throw bad("illegal_argument_exception", `no handler for ${method}`);
  }

  private apiKey(method: string, query: URLSearchParams, auth: ReturnType<FakeElasticsearch["authenticate"]>, json: () => any): unknown {
    if (method === "POST") {
      const body = json();
      onlyKeys(body, ["name", "expiration", "role_descriptors", "metadata"], "api_key_request");
      if (typeof body.name !== "string" || !body.name) throw bad("action_request_validation_exception", "Validation Failed: 1: api key name is required;");
      if (body.expiration !== undefined && (typeof body.expiration !== "string" || !DURATION.test(body.expiration))) throw bad("illegal_argument_exception", `failed to parse [expiration] with value [${body.expiration}] as a time value`);
      const roles = body.role_descriptors ?? {};
      if (typeof roles !== "object" || Array.isArray(roles)) throw bad("parse_exception", "role_descriptors must be an object");
      for (const [role, descriptor] of Object.entries<any>(roles)) {
        onlyKeys(descriptor, ["cluster", "indices", "applications", "run_as", "metadata", "remote_indices"], `role_descriptor [${role}]`);
        for (const entry of descriptor.indices ?? []) {
          onlyKeys(entry, ["names", "privileges", "field_security", "query", "allow_restricted_indices"], `role_descriptor [${role}].indices`);
          if (!Array.isArray(entry.names) || !entry.names.length || !Array.isArray(entry.privileges) || !entry.privileges.length) {
            throw bad("parse_exception", `failed to parse indices privileges for role [${role}]. missing required [names] or [privileges] field`);
          }
        }
      }
      if (Object.keys(body.metadata ?? {}).some((k) => k.startsWith("_"))) throw bad("action_request_validation_exception", "Validation Failed: 1: API key metadata keys may not start with [_];");
      // Documented: a key derived from an API key cannot have privileges; asking for some is an error.
      if (auth.kind === "apiKey" && Object.keys(roles).length) {
        throw bad("illegal_argument_exception", "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)");
      }
      const id = randomBytes(10).toString("base64url");
      const apiKey = randomBytes(16).toString("base64url");
      const days = body.expiration ? parseDuration(body.expiration) : undefined;
      const key: StoredKey = { id, name: body.name, apiKey, roleDescriptors: roles, metadata: body.metadata ?? {}, expiration: days === undefined ? undefined : Date.now() + days, invalidated: false, creation: Date.now(), username: auth.kind === "user" ? auth.username : "api-key" };
      this.keys.set(id, key);
      return { id, name: body.name, api_key: apiKey, encoded: Buffer.from(`${id}:${apiKey}`).toString("base64"), ...(key.expiration ? { expiration: key.expiration } : {}) };
    }
    const username = auth.kind === "user" ? auth.username : "api-key";
    if (method === "GET") {
      const id = query.get("id");
      const owner = query.get("owner") === "true";
      if (this.options.ownKeysOnly && !owner) throw forbidden("cluster:admin/xpack/security/api_key/get", username);
      const found = [...this.keys.values()].filter((k) => (!id || k.id === id) && (!owner || k.username === username));
      if (id && !found.length) throw missing("resource_not_found_exception", `api key [${id}] not found`);
      return { api_keys: found.map((k) => ({ id: k.id, name: k.name, creation: k.creation, ...(k.expiration ? { expiration: k.expiration } : {}), invalidated: k.invalidated, username: k.username, realm: "file", metadata: k.metadata })) };
    }
    if (method === "DELETE") {
      const body = json();
      onlyKeys(body, ["ids", "id", "name", "owner", "realm_name", "username"], "invalidate_api_key_request");
      if (this.options.ownKeysOnly && body.owner !== true) throw forbidden("cluster:admin/xpack/security/api_key/invalidate", username);
      if (body.ids !== undefined && (!Array.isArray(body.ids) || !body.ids.length)) throw bad("action_request_validation_exception", "Validation Failed: 1: Field [ids] cannot be an empty array;");
      const ids: string[] = body.ids ?? (body.id ? [body.id] : []);
      if (!ids.length) throw bad("action_request_validation_exception", "Validation Failed: 1: One of [api key id, api key name, username, realm name] must be specified if [owner] flag is false;");
      const invalidated: string[] = [];
      const previously: string[] = [];
      for (const id of ids) {
        const key = this.keys.get(id);
        if (!key || (body.owner === true && key.username !== username)) continue;
        (key.invalidated ? previously : invalidated).push(id);
        key.invalidated = true;
      }
      return { invalidated_api_keys: invalidated, previously_invalidated_api_keys: previously, error_count: 0 };
    }
    throw bad("illegal_argument_exception", `no handler for ${method}`);
  }
}

function onlyKeys(body: any, allowed: string[], where: string): void {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw bad("x_content_parse_exception", `[${where}] expected an object`);
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw bad("x_content_parse_exception", `[${where}] unknown field [${key}]`);
}

function parseDuration(text: string): number {
  const [, n, unit] = /^(\d+)(d|h|m|s)$/.exec(text) ?? [];
  const ms: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  return Number(n) * (ms[unit ?? "s"] ?? 1000);
}

