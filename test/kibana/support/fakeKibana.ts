// A loopback stand-in for Kibana's HTTP APIs that ENFORCES the documented contract (REFERENCE.md Part 2 §5):
// method and path, `kbn-xsrf` on mutating calls, the auth header, multipart `file` NDJSON for imports, the body
// schemas of connectors and .es-query rules, and Kibana's documented answers (200 with success:false on import,
// 400 on bad bodies, 401, 403 for license, 404, 409). It keeps objects per space. It is not Kibana: where Kibana's
// exact behaviour is unknown it is stricter, never looser.
// Kibana's own rules it holds to (elastic/kibana paths):
// - `_import` takes only a file named *.ndjson (src/core/packages/saved-objects/server-internal/src/routes/import.ts);
//   `_export` with an `objects` list answers NDJSON, or 400 "Error fetching objects to export" listing the objects it
//   could not get (routes/export.ts; import-export-server-internal/src/export/saved_objects_exporter.ts).
// - An import finds an object already in the space by its id or, for a copy Kibana made with a new id, by its
//   originId, and overwrites it (import/lib/check_origin_conflicts.ts). `_find` takes a KQL `filter` whose keys are
//   `<type>.<root field>` of a requested type (api-server-internal filter_utils.ts; originId is a root field); it is
//   internal on Serverless like the per-object routes (routes/index.ts).
// - An object whose typeMigrationVersion is newer than this Kibana is refused with "belongs to a more recent version
//   of Kibana" (core-saved-objects-migration-server-internal document migrator).
// - Attributes are checked against the type's schema (./savedObjectSchemas.ts).
// - On Serverless the per-object saved-objects routes are internal (routes/index.ts registers them with
//   `access: 'internal'` there); an external call gets 400 "uri [...] with method [...] exists but is not available
//   with the current configuration".
// - Connector `config` and `secrets` values may not be empty strings (validateEmptyStrings in
//   x-pack/platform/plugins/shared/actions/common/routes/connector/apis/create/schemas/v1.ts).
// - `.es-query` `size` is a required number 0..10000
//   (x-pack/platform/plugins/shared/stack_alerts/server/rule_types/es_query/rule_type_params.ts), its params an
//   object without unknown keys; aggType one of count/avg/sum/min/max (triggers_actions_ui builtInAggregationTypes)
//   with aggField unless count; groupBy all or top (row only for ES|QL), top needing termField and termSize <= 1000
//   (MAX_GROUPS) (src/platform/packages/shared/response-ops/rule_params/es_query/v1.ts validateParams).
// - Security detection rules (`/api/detection_engine/rules`, addressed by rule_id): the threshold rule's fields
//   (common/api/detection_engine/model/rule_schema/specific_attributes/threshold_attributes.gen.ts: threshold.field
//   a string or up to 5, value an integer >= 1, cardinality [{field, value >= 0}]), risk_score 0..100, severity
//   low|medium|high|critical, one action group "default" (rule_types/threshold/create_threshold_alert_type.ts, which
//   also registers minimumLicenseRequired 'basic'); 409 `rule_id: "<id>" already exists` when the request's space
//   has the rule_id (rule_management/api/rules/create_rule/route.ts: readRules, then siemResponse.error 409), 404 on
//   a missing one. The new_terms
//   rule's fields (specific_attributes/new_terms_attributes.gen.ts: new_terms_fields 1 to 3 strings,
//   history_window_start a non-empty string) and its params check (rule_types/new_terms/create_new_terms_alert_type.ts
//   -> new_terms/utils.ts validateHistoryWindowStart: history_window_start earlier than from; minimumLicenseRequired
//   'basic'). `from` and `to` are plain strings in the schema (common_attributes.gen.ts RuleIntervalFrom/To) that
//   Kibana parses as date math only when the rule runs (rule_types/utils/utils.ts getRuleRangeTuples: "Failed to
//   parse date math of rule.from or rule.to"): the double refuses at create what would fail every run.
// - A rule action's `frequency` (alerting common/routes/rule/apis/create/schemas/v1.ts actionsSchema): summary a
//   boolean, notify_when one of onActionGroupChange, onActiveAlert, onThrottleInterval, throttle a string or null.
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { AddressInfo } from "node:net";
import { attributesProblem } from "./savedObjectSchemas";

export interface StoredObject { type: string; id: string; originId?: string; attributes: any; references: any[]; version: string }
export interface RecordedRequest { method: string; path: string; space: string; headers: Record<string, string | string[] | undefined>; body: string }

export interface FakeKibanaOptions {
  apiKey?: string;
  basic?: { username: string; password: string };
  license?: "basic" | "gold";
  spaces?: string[];
  tls?: { key: string; cert: string };
  /** The Kibana version `GET /api/status` reports and imports are held to; default 9.2.4. */
  version?: string;
  /** Behave as Elastic Cloud Serverless: the per-object saved-objects GET/DELETE routes are internal. */
  serverless?: boolean;
}

export const DEFAULT_KIBANA_VERSION = "9.2.4";

const SAVED_OBJECT_TYPES = ["index-pattern", "lens", "search", "dashboard", "visualization", "tag"];
const ENCODED = ["panelsJSON", "optionsJSON", "visState", "uiStateJSON"];
const CONNECTOR_TYPES: Record<string, { license: "basic" | "gold"; config: string[]; required: string[] }> = {
  ".index": { license: "basic", config: ["index", "refresh", "executionTimeField"], required: ["index"] },
  ".server-log": { license: "basic", config: [], required: [] },
  ".webhook": { license: "gold", config: ["url", "method", "headers", "hasAuth", "authType"], required: ["url"] },
  ".email": { license: "gold", config: ["from", "service", "host", "port", "secure", "hasAuth"], required: ["from"] },
};

/** An answer that is not JSON (the NDJSON of `_export`). */
class RawBody {
  constructor(readonly text: string, readonly contentType: string) {}
}

class Answer extends Error {
  constructor(readonly status: number, readonly body: unknown) { super(String(status)); }
}
const bad = (message: string) => new Answer(400, { statusCode: 400, error: "Bad Request", message });
const notFound = (type: string, id: string) => new Answer(404, { statusCode: 404, error: "Not Found", message: `Saved object [${type}/${id}] not found` });

export class FakeKibana {
  readonly requests: RecordedRequest[] = [];
  readonly spaces = new Map<string, { objects: Map<string, StoredObject>; connectors: Map<string, any>; rules: Map<string, any>; detectionRules: Map<string, any> }>();
  url = "";
  private versionCounter = 0;
  private server?: ReturnType<typeof createHttpServer>;

  constructor(private readonly options: FakeKibanaOptions = {}) {
    for (const space of ["default", ...(options.spaces ?? [])]) {
      this.spaces.set(space, { objects: new Map(), connectors: new Map(), rules: new Map(), detectionRules: new Map() });
    }
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = this.options.tls ? createHttpsServer(this.options.tls, handler) : createHttpServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `${this.options.tls ? "https" : "http"}://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  space(name = "default") {
    return this.spaces.get(name)!;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://x");
    let path = url.pathname;
    let space = "default";
    const spaced = /^\/s\/([^/]+)(\/.*)$/.exec(path);
    if (spaced) { space = decodeURIComponent(spaced[1]); path = spaced[2]; }
    this.requests.push({ method: req.method ?? "", path, space, headers: req.headers, body: raw.toString("utf8") });
    let status = 200;
    let body: unknown;
    try {
      this.authenticate(req);
      if (req.method !== "GET" && req.headers["kbn-xsrf"] === undefined) throw bad("Request must contain a kbn-xsrf header.");
      const store = this.spaces.get(space);
      if (!store) throw new Answer(404, { statusCode: 404, error: "Not Found", message: "Not Found" });
      body = this.route(req.method ?? "", path, url.searchParams, req.headers["content-type"] ?? "", raw, store);
      if (body === undefined) status = 204;
    } catch (error) {
      if (!(error instanceof Answer)) throw error;
      status = error.status;
      body = error.body;
    }
    if (body instanceof RawBody) {
      res.writeHead(status, { "content-type": body.contentType });
      res.end(body.text);
      return;
    }
    res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  private authenticate(req: IncomingMessage): void {
    const expected = this.options.apiKey ? `ApiKey ${this.options.apiKey}`
      : this.options.basic ? `Basic ${Buffer.from(`${this.options.basic.username}:${this.options.basic.password}`).toString("base64")}` : undefined;
    if (expected && req.headers.authorization !== expected) {
      throw new Answer(401, { statusCode: 401, error: "Unauthorized", message: "[security_exception]: unable to authenticate user" });
    }
  }

  private route(method: string, path: string, query: URLSearchParams, contentType: string, raw: Buffer, store: ReturnType<FakeKibana["space"]>): unknown {
    const json = () => {
      if (!contentType.startsWith("application/json")) throw bad(`Unsupported Media Type: expected application/json, got "${contentType}"`);
      try { return JSON.parse(raw.toString("utf8")); } catch { throw bad("Invalid JSON body"); }
    };
    let m: RegExpExecArray | null;
    if (method === "GET" && path === "/api/status") return this.status();
    if (method === "POST" && path === "/api/saved_objects/_import") return this.importObjects(query, contentType, raw, store);
    if (method === "POST" && path === "/api/saved_objects/_export") return this.exportObjects(json(), store);
    if (method === "GET" && path === "/api/saved_objects/_find") {
      if (this.options.serverless) throw bad(`uri [${path}] with method [get] exists but is not available with the current configuration`);
      return this.findObjects(query, store);
    }
    if ((m = /^\/api\/saved_objects\/([^/]+)\/([^/]+)$/.exec(path))) {
      if (this.options.serverless && (method === "GET" || method === "DELETE")) {
        throw bad(`uri [${path}] with method [${method.toLowerCase()}] exists but is not available with the current configuration`);
      }
      const [type, id] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
      const object = store.objects.get(`${type}/${id}`);
      if (method === "GET") {
        if (!object) throw notFound(type, id);
        return { ...object, namespaces: ["default"], updated_at: new Date().toISOString() };
      }
      if (method === "DELETE") {
        if (!object) throw notFound(type, id);
        store.objects.delete(`${type}/${id}`);
        return {};
      }
    }
    if (path === "/api/actions/connector" && method === "POST") return this.createConnector(randomUUID(), json(), store);
    if ((m = /^\/api\/actions\/connector\/([^/]+)$/.exec(path))) {
      const id = decodeURIComponent(m[1]);
      const connector = store.connectors.get(id);
      if (method === "POST") return this.createConnector(id, json(), store);
      if (!connector) throw notFound("action", id);
      if (method === "GET") return connector;
      if (method === "DELETE") { store.connectors.delete(id); return undefined; }
      if (method === "PUT") return this.updateConnector(connector, json());
    }
    if (path === "/api/alerting/rule" && method === "POST") return this.createRule(randomUUID(), json(), store);
    if ((m = /^\/api\/alerting\/rule\/([^/]+)(\/_enable|\/_disable)?$/.exec(path))) {
      const id = decodeURIComponent(m[1]);
      const rule = store.rules.get(id);
      if (method === "POST" && !m[2]) return this.createRule(id, json(), store);
      if (!rule) throw notFound("alert", id);
      if (method === "POST" && m[2]) { rule.enabled = m[2] === "/_enable"; return undefined; }
      if (method === "GET") return rule;
      if (method === "DELETE") { store.rules.delete(id); return undefined; }
      if (method === "PUT") return this.updateRule(rule, json(), store);
    }
    if (path === "/api/detection_engine/rules") return this.detectionRule(method, query, method === "GET" || method === "DELETE" ? undefined : json(), store);
    throw new Answer(404, { statusCode: 404, error: "Not Found", message: "Not Found" });
  }

  // ---- Security detection rules ----

  private detectionRule(method: string, query: URLSearchParams, body: any, store: ReturnType<FakeKibana["space"]>): unknown {
    const notFoundRule = (ruleId: string) => new Answer(404, { message: `rule_id: "${ruleId}" not found`, status_code: 404 });
    if (method === "GET" || method === "DELETE") {
      const ruleId = query.get("rule_id") ?? "";
      const rule = store.detectionRules.get(ruleId);
      if (!rule) throw notFoundRule(ruleId);
      if (method === "DELETE") store.detectionRules.delete(ruleId);
      return rule;
    }
    const problem = detectionRuleProblem(body, store.connectors);
    if (problem) throw new Answer(400, { message: problem, status_code: 400 });
    const existing = store.detectionRules.get(body.rule_id);
    if (method === "POST" && existing) throw new Answer(409, { message: `rule_id: "${body.rule_id}" already exists`, status_code: 409 });
    if (method === "PUT" && !existing) throw notFoundRule(body.rule_id);
    if (method !== "POST" && method !== "PUT") throw new Answer(404, { statusCode: 404, error: "Not Found", message: "Not Found" });
    // Kibana answers with the defaults filled in (a reader must not take them for drift).
    const rule = {
      id: existing?.id ?? randomUUID(), language: "kuery", from: "now-6m", to: "now", interval: "5m", enabled: true, max_signals: 100, tags: [],
      ...body,
      // Each stored action gets a uuid (alerting addGeneratedActionValues: `uuid || v4()`) and its connector's type,
      // both in the answer (security_solution common/detection_engine/transform_actions.ts transformAlertToRuleAction).
      actions: (body.actions ?? []).map((a: any) => ({ ...a, action_type_id: store.connectors.get(a.id).connector_type_id, uuid: a.uuid ?? randomUUID() })),
      ...(body.threshold ? { threshold: { ...body.threshold, field: typeof body.threshold.field === "string" ? [body.threshold.field] : body.threshold.field } } : {}),
      immutable: false, version: (existing?.version ?? 0) + 1, updated_at: new Date().toISOString(),
    };
    store.detectionRules.set(body.rule_id, rule);
    return rule;
  }

  get version(): string {
    return this.options.version ?? DEFAULT_KIBANA_VERSION;
  }

  private status(): unknown {
    return {
      name: "fake-kibana",
      version: { number: this.version, build_snapshot: false, build_flavor: this.options.serverless ? "serverless" : "traditional" },
      status: { overall: { level: "available" } },
    };
  }

  // ---- saved objects ----

  private exportObjects(body: any, store: ReturnType<FakeKibana["space"]>): unknown {
    onlyKeys(body, ["type", "hasReference", "objects", "search", "includeReferencesDeep", "excludeExportDetails"]);
    if (!Array.isArray(body.objects) || body.objects.length === 0) {
      if (body.type === undefined) throw bad("Either `type` or `objects` are required.");
      throw bad("this double exports by `objects` only");
    }
    if (body.type !== undefined) throw bad(`Can't specify both "types" and "objects" properties when exporting`);
    const found: StoredObject[] = [];
    const errors: any[] = [];
    for (const wanted of body.objects) {
      onlyKeys(wanted, ["type", "id"], "request body.objects");
      const object = store.objects.get(`${wanted.type}/${wanted.id}`);
      if (object) found.push(object);
      else errors.push({ id: wanted.id, type: wanted.type, error: { statusCode: 404, error: "Not Found", message: `Saved object [${wanted.type}/${wanted.id}] not found` } });
    }
    if (errors.length) throw new Answer(400, { statusCode: 400, error: "Bad Request", message: "Error fetching objects to export", attributes: { objects: errors } });
    const lines = found.map((o) => JSON.stringify({ ...o, originId: o.originId, managed: false, updated_at: new Date().toISOString() }));
    if (body.excludeExportDetails !== true) lines.push(JSON.stringify({ excludedObjects: [], excludedObjectsCount: 0, exportedCount: found.length, missingRefCount: 0, missingReferences: [] }));
    return new RawBody(lines.join("\n"), "application/ndjson");
  }

  /**
   * `_find` as far as the ownership check uses it: `type` (repeatable), `per_page`, `fields`, and a KQL `filter` on
   * the root field originId, `<type>.originId:("<id>" or ...)` clauses joined by `or`; anything else is refused.
   */
  private findObjects(query: URLSearchParams, store: ReturnType<FakeKibana["space"]>): unknown {
    for (const key of query.keys()) if (!["type", "per_page", "fields", "filter"].includes(key)) throw bad(`this double does not take [${key}] on _find`);
    const types = query.getAll("type");
    if (types.length === 0) throw bad("[request query.type]: expected value of type [string] but got [undefined]");
    const perPage = Number(query.get("per_page") ?? 20);
    if (!Number.isInteger(perPage) || perPage < 0) throw bad("[request query.per_page]: expected value of type [number]");
    const wanted = new Map<string, Set<string>>();
    for (const clause of (query.get("filter") ?? "").split(/\s+or\s+(?=[\w-]+\.originId:)/)) {
      const match = /^([\w-]+)\.originId:\(("(?:[^"\\]|\\.)*"(?:\s+or\s+"(?:[^"\\]|\\.)*")*)\)$/.exec(clause.trim());
      if (!match) throw bad(`this double understands only <type>.originId:("<id>" or ...) filters, not ${JSON.stringify(clause)}`);
      // Kibana's filter validation: every key's type must be one of the requested types.
      if (!types.includes(match[1])) throw bad(`This type ${match[1]} is not allowed: Bad Request`);
      wanted.set(match[1], new Set(match[2].split(/\s+or\s+/).map((quoted) => JSON.parse(quoted))));
    }
    const found = [...store.objects.values()].filter((o) => o.originId !== undefined && wanted.get(o.type)?.has(o.originId));
    const fields = query.get("fields");
    return {
      page: 1, per_page: perPage, total: found.length,
      saved_objects: found.slice(0, perPage).map((o) => ({
        type: o.type, id: o.id, originId: o.originId, version: o.version, references: o.references, namespaces: ["default"], score: 0,
        attributes: fields ? { [fields]: o.attributes?.[fields] } : o.attributes, updated_at: new Date().toISOString(),
      })),
    };
  }

  private importObjects(query: URLSearchParams, contentType: string, raw: Buffer, store: ReturnType<FakeKibana["space"]>): unknown {
    const overwrite = query.get("overwrite") === "true";
    if (query.get("createNewCopies") === "true" && (overwrite || query.get("compatibilityMode") === "true")) {
      throw bad("cannot use [overwrite] or [compatibilityMode] with [createNewCopies]");
    }
    const part = multipartFilePart(contentType, raw, "file");
    if (part === undefined) throw bad("[request body.file]: expected value of type [Stream] but got [undefined]");
    const extension = /(\.[^./]*)$/.exec(part.filename)?.[1]?.toLowerCase() ?? "";
    if (extension !== ".ndjson") throw bad(`Invalid file extension ${extension}`);
    const objects: any[] = [];
    for (const line of part.content.split("\n")) {
      if (!line.trim()) continue;
      let object: any;
      try { object = JSON.parse(line); } catch { throw bad("Unexpected token in JSON (the file is not NDJSON)"); }
      if (typeof object.exportedCount === "number") continue;
      objects.push(object);
    }
    const keys = objects.map((o) => `${o.type}:${o.id}`);
    const duplicates = keys.filter((k, i) => keys.indexOf(k) !== i);
    if (duplicates.length) throw bad(`Non-unique import objects detected: [${[...new Set(duplicates)].join(",")}]`);
    const inFile = new Set(objects.map((o) => `${o.type}/${o.id}`));
    // Where each object lands: the object already imported in this space (same id, or a copy whose originId is
    // this id), else this id, unless another space holds it; then Kibana (8.0+) gives the copy a new id.
    const destination = new Map<string, string>();
    for (const object of objects) {
      const existing = this.findInSpace(store, object.type, object.id);
      const elsewhere = [...this.spaces.values()].some((other) => other !== store && other.objects.has(`${object.type}/${object.id}`));
      destination.set(`${object.type}/${object.id}`, existing?.id ?? (elsewhere ? randomUUID() : object.id));
    }
    const errors: any[] = [];
    const successResults: any[] = [];
    for (const object of objects) {
      const base = { type: object.type, id: object.id, meta: { title: object.attributes?.title } };
      if (!SAVED_OBJECT_TYPES.includes(object.type)) { errors.push({ ...base, error: { type: "unsupported_type" } }); continue; }
      if (!object.typeMigrationVersion && !object.migrationVersion && object.type === "lens") {
        // Every Lens migration since 7.7 runs and crashes on a modern formBased object.
        throw new Answer(500, { statusCode: 500, error: "Internal Server Error", message: "An internal server error occurred." });
      }
      const encoded = ENCODED.find((key) => key in (object.attributes ?? {}) && typeof object.attributes[key] !== "string") ??
        (object.attributes?.kibanaSavedObjectMeta && typeof object.attributes.kibanaSavedObjectMeta.searchSourceJSON !== "string" ? "kibanaSavedObjectMeta.searchSourceJSON" : undefined);
      if (encoded) { errors.push({ ...base, error: { type: "unknown", message: `attributes.${encoded} must be a JSON string`, statusCode: 400 } }); continue; }
      const version = object.typeMigrationVersion ?? object.migrationVersion?.[object.type];
      if (typeof version === "string" && isStackVersion(version) && compareVersions(version, this.version) > 0) {
        errors.push({ ...base, error: { type: "unknown", message: `Document "${object.id}" belongs to a more recent version of Kibana [${version}] when the last known version is [${this.version}].`, statusCode: 400 } });
        continue;
      }
      const invalid = attributesProblem(object.type, object.attributes);
      if (invalid) { errors.push({ ...base, error: { type: "unknown", message: invalid, statusCode: 400 } }); continue; }
      const references = (object.references ?? []).map((r: any) => ({ ...r, id: destination.get(`${r.type}/${r.id}`) ?? this.findInSpace(store, r.type, r.id)?.id ?? r.id }));
      const missing = (object.references ?? []).filter((r: any) => !inFile.has(`${r.type}/${r.id}`) && !this.findInSpace(store, r.type, r.id));
      if (missing.length) {
        errors.push({ ...base, error: { type: "missing_references", references: missing.map((r: any) => ({ type: r.type, id: r.id })) } });
        continue;
      }
      const targetId = destination.get(`${object.type}/${object.id}`)!;
      const key = `${object.type}/${targetId}`;
      if (store.objects.has(key) && !overwrite) { errors.push({ ...base, error: { type: "conflict" } }); continue; }
      successResults.push({ ...base, ...(targetId !== object.id ? { destinationId: targetId } : {}), ...(store.objects.has(key) ? { overwrite: true } : {}) });
      store.objects.set(key, { type: object.type, id: targetId, originId: targetId !== object.id ? object.id : undefined, attributes: object.attributes, references, version: this.nextVersion() });
    }
    return { success: errors.length === 0, successCount: successResults.length, successResults, ...(errors.length ? { errors } : {}) };
  }

  private findInSpace(store: ReturnType<FakeKibana["space"]>, type: string, id: string): StoredObject | undefined {
    return store.objects.get(`${type}/${id}`) ?? [...store.objects.values()].find((o) => o.type === type && o.originId === id);
  }

  nextVersion(): string {
    this.versionCounter += 1;
    return Buffer.from(JSON.stringify([this.versionCounter, 1])).toString("base64");
  }

  // ---- connectors ----

  private createConnector(id: string, body: any, store: ReturnType<FakeKibana["space"]>): unknown {
    onlyKeys(body, ["name", "connector_type_id", "config", "secrets"]);
    if (store.connectors.has(id)) throw new Answer(409, { statusCode: 409, error: "Conflict", message: `Saved object [action/${id}] conflict` });
    if (typeof body.name !== "string" || !body.name) throw bad("[request body.name]: expected value of type [string] but got [undefined]");
    const type = CONNECTOR_TYPES[body.connector_type_id];
    if (!type) throw bad(`Action type "${body.connector_type_id}" is not registered.`);
    if (type.license === "gold" && (this.options.license ?? "basic") === "basic") {
      throw new Answer(403, { statusCode: 403, error: "Forbidden", message: `Action type ${body.connector_type_id} is disabled because your basic license does not support it. Please upgrade your license.` });
    }
    this.checkConnectorConfig(body.connector_type_id, body.config, body.secrets);
    const connector = { id, name: body.name, connector_type_id: body.connector_type_id, config: connectorDefaults(body.connector_type_id, body.config ?? {}), is_preconfigured: false, is_deprecated: false, is_missing_secrets: false, is_system_action: false };
    store.connectors.set(id, connector);
    return connector;
  }

  private updateConnector(connector: any, body: any): unknown {
    onlyKeys(body, ["name", "config", "secrets"]);
    if (typeof body.name !== "string" || !body.name) throw bad("[request body.name]: expected value of type [string] but got [undefined]");
    this.checkConnectorConfig(connector.connector_type_id, body.config, body.secrets);
    connector.name = body.name;
    connector.config = connectorDefaults(connector.connector_type_id, body.config ?? {});
    return connector;
  }

  private checkConnectorConfig(typeId: string, config: any, secrets: any): void {
    const type = CONNECTOR_TYPES[typeId];
    if (secrets === undefined || typeof secrets !== "object" || secrets === null) throw bad("[request body.secrets]: expected value of type [object] but got [undefined]");
    if (config !== undefined && (typeof config !== "object" || config === null)) throw bad("[request body.config]: expected a plain object value");
    for (const key of Object.keys(config ?? {})) if (!type.config.includes(key)) throw bad(`error validating action type config: [${key}]: definition for this key is missing`);
    for (const key of type.required) if (typeof config?.[key] !== "string") throw bad(`error validating action type config: [${key}]: expected value of type [string] but got [undefined]`);
    for (const [where, values] of [["config", config ?? {}], ["secrets", secrets]] as const) {
      for (const [key, value] of Object.entries(values)) {
        if (hasEmptyString(value)) throw bad(`[request body.${where}.${key}]: value '' is not valid`);
      }
    }
  }

  // ---- rules ----

  private createRule(id: string, body: any, store: ReturnType<FakeKibana["space"]>): unknown {
    if (store.rules.has(id)) throw new Answer(409, { statusCode: 409, error: "Conflict", message: `Saved object [alert/${id}] conflict` });
    onlyKeys(body, ["name", "rule_type_id", "consumer", "schedule", "params", "actions", "enabled", "tags", "throttle", "notify_when"]);
    if (body.rule_type_id !== ".es-query") throw bad(`Rule type "${body.rule_type_id}" is not registered.`);
    if (!["stackAlerts", "alerts"].includes(body.consumer)) throw bad(`[request body.consumer]: "${body.consumer}" is not a valid consumer for .es-query`);
    const rule = { id, rule_type_id: body.rule_type_id, consumer: body.consumer, enabled: body.enabled ?? true, ...this.ruleCommon(body, store), created_at: new Date().toISOString(), api_key_owner: "elastic", execution_status: { status: "pending" } };
    store.rules.set(id, rule);
    return rule;
  }

  private updateRule(rule: any, body: any, store: ReturnType<FakeKibana["space"]>): unknown {
    onlyKeys(body, ["name", "tags", "schedule", "params", "actions", "throttle", "notify_when"]);
    Object.assign(rule, this.ruleCommon(body, store));
    return rule;
  }

  private ruleCommon(body: any, store: ReturnType<FakeKibana["space"]>) {
    if (typeof body.name !== "string" || !body.name) throw bad("[request body.name]: expected value of type [string] but got [undefined]");
    if (!/^[1-9]\d*[smhd]$/.test(body.schedule?.interval ?? "")) throw bad(`[request body.schedule.interval]: string is not a valid duration: ${body.schedule?.interval}`);
    const problem = esQueryParamsProblem(body.params);
    if (problem) throw bad(`params invalid: ${problem}`);
    const actions = body.actions ?? [];
    // validate_actions.ts: without a rule-level notify_when or throttle, every action must say its frequency.
    const withoutFrequency = actions.filter((a: any) => a.frequency === undefined);
    if (body.notify_when === undefined && body.throttle === undefined && withoutFrequency.length) {
      throw bad(`Failed to validate actions due to the following error: Actions missing frequency parameters: ${withoutFrequency.map((a: any) => a.uuid ?? a.id).join(", ")}`);
    }
    for (const action of actions) {
      onlyKeys(action, ["id", "group", "params", "frequency", "uuid"], "request body.actions");
      const frequencyProblem = actionFrequencyProblem(action.frequency);
      if (frequencyProblem) throw bad(frequencyProblem);
      if (!store.connectors.has(action.id)) throw bad(`Failed to validate actions due to the following error: Saved object [action/${action.id}] not found`);
      if (!["query matched", "recovered"].includes(action.group)) throw bad(`Invalid action groups: ${action.group}`);
      if (typeof action.params !== "object" || action.params === null) throw bad("[request body.actions.0.params]: expected value of type [object]");
    }
    // Kibana fills defaulted params; a reader must not take them for drift.
    const params = { searchType: "esQuery", aggType: "count", groupBy: "all", excludeHitsFromPreviousRun: true, size: 100, ...body.params };
    return { name: body.name, tags: body.tags ?? [], schedule: body.schedule, params, actions: actions.map((a: any) => ({ ...a, uuid: a.uuid ?? randomUUID(), connector_type_id: store.connectors.get(a.id).connector_type_id })), updated_at: new Date().toISOString() };
  }
}

/** An action's `frequency` as Kibana's actionsSchema checks it: Kibana's 400 message, or undefined. */
export function actionFrequencyProblem(frequency: any): string | undefined {
  const at = "[request body.actions.0.frequency";
  if (frequency === undefined) return undefined;
  if (!frequency || typeof frequency !== "object") return `${at}]: expected a plain object value`;
  onlyKeys(frequency, ["summary", "notify_when", "throttle"], "request body.actions.0.frequency");
  if (typeof frequency.summary !== "boolean") return `${at}.summary]: expected value of type [boolean] but got [${typeof frequency.summary}]`;
  if (!["onActionGroupChange", "onActiveAlert", "onThrottleInterval"].includes(frequency.notify_when)) {
    return `${at}.notify_when]: types that failed validation: expected onActionGroupChange, onActiveAlert or onThrottleInterval, got "${frequency.notify_when}"`;
  }
  if (frequency.throttle !== null && typeof frequency.throttle !== "string") return `${at}.throttle]: expected value of type [string] but got [${typeof frequency.throttle}]`;
  return undefined;
}

const ES_QUERY_PARAM_KEYS = ["size", "timeWindowSize", "excludeHitsFromPreviousRun", "timeWindowUnit", "threshold", "thresholdComparator", "aggType", "aggField",
  "groupBy", "termField", "termSize", "searchType", "timeField", "searchConfiguration", "esQuery", "index", "esqlQuery", "sourceFields"];

/** Validates `.es-query` params as Kibana's rule_type_params.ts schema does (the subset this project uses). */
export function esQueryParamsProblem(params: any): string | undefined {
  if (!params || typeof params !== "object") return "[params]: expected an object";
  for (const key of Object.keys(params)) if (!ES_QUERY_PARAM_KEYS.includes(key)) return `[${key}]: definition for this key is missing`;
  const aggType = params.aggType ?? "count";
  if (!["count", "avg", "sum", "min", "max"].includes(aggType)) return `[aggType]: invalid aggType: "${aggType}"`;
  if (aggType !== "count" && !params.aggField) return `[aggField]: must have a value when [aggType] is "${aggType}"`;
  const groupBy = params.groupBy ?? "all";
  if (!["all", "top", "row"].includes(groupBy)) return `[groupBy]: invalid groupBy: "${groupBy}"`;
  if (groupBy === "row") return "[groupBy]: groupBy should be all or top when [searchType] is not esqlQuery";
  if (groupBy === "top") {
    if (params.termField == null) return "[termField]: termField required when [groupBy] is top";
    if (params.termSize == null) return "[termSize]: termSize required when [groupBy] is top";
    if (params.termSize > 1000) return "[termSize]: must be less than or equal to 1000";
  }
  if (params.searchType !== undefined && params.searchType !== "esQuery") return `[searchType]: only esQuery is accepted by this double`;
  if (typeof params.esQuery !== "string") return `[esQuery]: expected value of type [string] but got [${Array.isArray(params.esQuery) ? "Array" : typeof params.esQuery}]`;
  let parsed: any;
  try { parsed = JSON.parse(params.esQuery); } catch { return "[esQuery]: must be valid JSON"; }
  if (!parsed || typeof parsed !== "object" || !("query" in parsed)) return "[esQuery]: must contain \"query\"";
  if (!Array.isArray(params.index) || params.index.length < 1 || params.index.some((i: unknown) => typeof i !== "string")) return "[index]: expected a non-empty array of strings";
  if (typeof params.timeField !== "string" || !params.timeField) return "[timeField]: is required";
  if (!Array.isArray(params.threshold) || params.threshold.length < 1 || params.threshold.length > 2 || params.threshold.some((n: unknown) => typeof n !== "number")) return "[threshold]: expected an array of 1 or 2 numbers";
  if (![">", ">=", "<", "<=", "between", "notBetween"].includes(params.thresholdComparator)) return `[thresholdComparator]: invalid comparator "${params.thresholdComparator}"`;
  if (["between", "notBetween"].includes(params.thresholdComparator) && params.threshold.length !== 2) return "[threshold]: must have two elements for the \"between\" comparators";
  if (!Number.isInteger(params.timeWindowSize) || params.timeWindowSize < 1) return "[timeWindowSize]: Value must be equal to or greater than [1].";
  if (!["s", "m", "h", "d"].includes(params.timeWindowUnit)) return `[timeWindowUnit]: invalid timeWindowUnit: "${params.timeWindowUnit}"`;
  if (typeof params.size !== "number") return `[size]: expected value of type [number] but got [${params.size === undefined ? "undefined" : typeof params.size}]`;
  if (params.size < 0) return `[size]: Value must be equal to or greater than [0].`;
  if (params.size > 10000) return `[size]: Value must be equal to or lower than [10000].`;
  return undefined;
}

const SECURITY_RULE_KEYS = ["rule_id", "type", "name", "description", "risk_score", "severity", "index", "language", "query", "filters",
  "interval", "from", "to", "enabled", "tags", "actions", "max_signals", "author", "license", "references", "note", "false_positives", "timestamp_override"];
const THRESHOLD_RULE_KEYS = [...SECURITY_RULE_KEYS, "threshold"];
const NEW_TERMS_RULE_KEYS = [...SECURITY_RULE_KEYS, "new_terms_fields", "history_window_start", "alert_suppression"];

/** The create/update body of a Security rule (threshold or new_terms) as Kibana's detection-engine schema checks it. */
export function detectionRuleProblem(body: any, connectors: Map<string, any>): string | undefined {
  return body?.type === "new_terms" ? newTermsRuleProblem(body, connectors) : thresholdRuleProblem(body, connectors);
}

/** The fields every Security rule type shares (the ones this project uses). */
function securityRuleProblem(body: any, keys: string[], connectors: Map<string, any>): string | undefined {
  if (!body || typeof body !== "object") return "expected a JSON object";
  for (const key of Object.keys(body)) if (!keys.includes(key)) return `${key}: unknown field for this double (stricter than Kibana, which drops it)`;
  for (const key of ["name", "description", "rule_id", "query"]) if (typeof body[key] !== "string" || (key !== "query" && !body[key])) return `${key}: Required`;
  if (!Number.isInteger(body.risk_score) || body.risk_score < 0 || body.risk_score > 100) return "risk_score: Number must be an integer from 0 to 100";
  if (!["low", "medium", "high", "critical"].includes(body.severity)) return `severity: Invalid enum value. Expected 'low' | 'medium' | 'high' | 'critical', received '${body.severity}'`;
  if (body.language !== undefined && !["kuery", "lucene"].includes(body.language)) return `language: Invalid enum value '${body.language}'`;
  if (body.index !== undefined && (!Array.isArray(body.index) || body.index.some((i: unknown) => typeof i !== "string"))) return "index: Expected array of strings";
  if (body.interval !== undefined && !/^[1-9]\d*[smhd]$/.test(body.interval)) return `interval: Invalid duration "${body.interval}"`;
  if (body.from !== undefined && !/^now-[1-9]\d*[smhd]$/.test(body.from)) return `from: Invalid date math "${body.from}"`;
  if (body.to !== undefined && dateMath(body.to, Date.now()) === undefined) return "Failed to parse date math of rule.from or rule.to";
  for (const action of body.actions ?? []) {
    if (action.group !== "default") return `actions: Invalid action groups: ${action.group}`;
    const connector = connectors.get(action.id);
    if (!connector) return `actions: Saved object [action/${action.id}] not found`;
    if (action.action_type_id !== undefined && action.action_type_id !== connector.connector_type_id) return `actions: action_type_id "${action.action_type_id}" is not the connector's type ${connector.connector_type_id}`;
  }
  return undefined;
}

/** The threshold-rule create/update body as Kibana's detection-engine schema checks it (the fields this project uses). */
export function thresholdRuleProblem(body: any, connectors: Map<string, any>): string | undefined {
  const common = securityRuleProblem(body, THRESHOLD_RULE_KEYS, connectors);
  if (common) return common;
  if (body.type !== "threshold") return `type: Invalid literal value, expected "threshold"`;
  const t = body.threshold;
  if (!t || typeof t !== "object") return "threshold: Required";
  const fieldOk = typeof t.field === "string" || (Array.isArray(t.field) && t.field.length <= 5 && t.field.every((f: unknown) => typeof f === "string"));
  if (!fieldOk) return "threshold.field: Expected string or array of at most 5 strings";
  if (!Number.isInteger(t.value) || t.value < 1) return "threshold.value: Number must be an integer greater than or equal to 1";
  if (t.cardinality !== undefined) {
    if (!Array.isArray(t.cardinality)) return "threshold.cardinality: Expected array";
    for (const c of t.cardinality) {
      if (typeof c?.field !== "string" || !Number.isInteger(c?.value) || c.value < 0) return "threshold.cardinality: each entry needs field (string) and value (integer >= 0)";
    }
  }
  return undefined;
}

/**
 * The new_terms create/update body: new_terms_fields an array of 1 to 3 strings, history_window_start a non-empty
 * string (new_terms_attributes.gen.ts), and the rule type's params check (create_new_terms_alert_type.ts ->
 * new_terms/utils.ts validateHistoryWindowStart): both dates parse as date math, history strictly before `from`.
 */
export function newTermsRuleProblem(body: any, connectors: Map<string, any>): string | undefined {
  const common = securityRuleProblem(body, NEW_TERMS_RULE_KEYS, connectors);
  if (common) return common;
  const fields = body.new_terms_fields;
  if (!Array.isArray(fields) || fields.some((f: unknown) => typeof f !== "string")) return "new_terms_fields: Expected array of strings";
  if (fields.length < 1) return "new_terms_fields: Array must contain at least 1 element(s)";
  if (fields.length > 3) return "new_terms_fields: Array must contain at most 3 element(s)";
  if (typeof body.history_window_start !== "string" || !body.history_window_start.trim()) return "history_window_start: Required";
  const now = Date.now();
  const history = dateMath(body.history_window_start, now);
  if (history === undefined) return "Failed to parse 'historyWindowStart'";
  const from = dateMath(body.from ?? "now-6m", now)!;
  if (history >= from) return "History window size is smaller than rule interval + additional lookback, 'historyWindowStart' must be earlier than 'from'";
  return undefined;
}

/** `now`, `now-<n><unit>` (units y M w d h H m s, as @elastic/datemath) or an ISO date; undefined if it does not parse. */
function dateMath(text: string, now: number): number | undefined {
  if (text === "now") return now;
  const match = /^now-([1-9]\d*)([yMwdhHms])$/.exec(text);
  if (match) {
    const unit: Record<string, number> = { y: 365 * 86_400_000, M: 30 * 86_400_000, w: 604_800_000, d: 86_400_000, h: 3_600_000, H: 3_600_000, m: 60_000, s: 1000 };
    return now - Number(match[1]) * unit[match[2]];
  }
  const absolute = Date.parse(text);
  return /^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(absolute) ? absolute : undefined;
}

function onlyKeys(body: any, allowed: string[], where = "request body"): void {
  if (!body || typeof body !== "object") throw bad(`[${where}]: expected a plain object value, but found [${body === null ? "null" : typeof body}] instead.`);
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw bad(`[${where}.${key}]: definition for this key is missing`);
}

function connectorDefaults(typeId: string, config: any): any {
  return typeId === ".index" ? { refresh: false, executionTimeField: null, ...config } : config;
}

/** Whether a connector value is, or holds, a string that is empty once trimmed (Kibana's validateEmptyStrings). */
function hasEmptyString(value: unknown): boolean {
  if (typeof value === "string") return value.trim() === "";
  if (Array.isArray(value)) return value.some(hasEmptyString);
  if (value && typeof value === "object") return Object.values(value).some(hasEmptyString);
  return false;
}

/** Stack versions are x.y.z below 10; `10.N.0` are model versions (virtual), which this double does not rank. */
function isStackVersion(version: string): boolean {
  const major = Number(version.split(".")[0]);
  return /^\d+\.\d+\.\d+$/.test(version) && major < 10;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i += 1) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** The text of one form field of a multipart/form-data body (enough of RFC 7578 for a single file part). */
export function multipartField(contentType: string, raw: Buffer, field: string): string | undefined {
  return multipartFilePart(contentType, raw, field)?.content;
}

/** One form field with the file name its Content-Disposition gives ("" when it names none). */
export function multipartFilePart(contentType: string, raw: Buffer, field: string): { filename: string; content: string } | undefined {
  const boundary = /^multipart\/form-data;\s*boundary=("?)([^";]+)\1/i.exec(contentType)?.[2];
  if (!boundary) throw bad(`Unsupported Media Type: expected multipart/form-data, got "${contentType}"`);
  const text = raw.toString("utf8");
  for (const part of text.split(`--${boundary}`).slice(1)) {
    if (part.startsWith("--")) break;
    const headerEnd = part.indexOf("\r\n\r\n");
    if (headerEnd === -1) continue;
    const headers = part.slice(0, headerEnd);
    if (new RegExp(`name="${field}"`).test(headers)) {
      return { filename: /filename="([^"]*)"/.exec(headers)?.[1] ?? "", content: part.slice(headerEnd + 4).replace(/\r\n$/, "") };
    }
  }
  return undefined;
}
