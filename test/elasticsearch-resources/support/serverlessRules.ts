// Elastic Cloud Serverless's own rules, for the loopback double (FakeElasticsearch `serverless: true`). No Serverless
// runs here, so each rule is transcribed from Elastic's public source or docs, which are cited; the answers carry the
// status and error type Serverless gives. Kept apart from the production filter (dashboards/src/serverlessSettings.ts)
// on purpose: a contract test must not check the code against itself.

export interface Refusal { status: number; body: unknown }

/** Elasticsearch's error body for an exception of `type` (ElasticsearchException's REST rendering). */
const refusal = (status: number, type: string, reason: string): Refusal =>
  ({ status, body: { error: { root_cause: [{ type, reason }], type, reason }, status } });

/**
 * `GET /` on Serverless: elastic/elasticsearch-specification
 * specification/_global/info/examples/response/RootNodeInfoResponseExample2.yaml ("Serverless response").
 */
export const SERVERLESS_ROOT = {
  name: "serverless",
  cluster_name: "my_test_serverless_cluster",
  cluster_uuid: "8xx0pi24Squnf4PFDOAtwg",
  version: {
    number: "9.4.0", build_flavor: "serverless", build_type: "docker", build_hash: "6b73650b7c4192d4a7ef1d75a368dad7d28f1ae0",
    build_date: "2026-03-31T12:25:05.021648363Z", build_snapshot: false, lucene_version: "10.4.0",
    minimum_wire_compatibility_version: "9.4.0", minimum_index_compatibility_version: "9.4.0",
  },
  tagline: "You Know, for Search",
};

/**
 * Index settings a Serverless user may set: elastic/elasticsearch docs/reference/elasticsearch/index-settings/
 * serverless.md, transcribed (a trailing `*` is a group). Everything else is refused on PUT
 * (`Setting.Property.ServerlessPublic`, server/.../common/settings/Setting.java).
 */
const PUBLIC_SETTINGS = [
  "index.codec", "index.default_pipeline", "index.dense_vector.hnsw_filter_heuristic", "index.final_pipeline", "index.hidden",
  "index.mode", "index.query.default_field", "index.refresh_interval",
  "index.sort.field", "index.sort.missing", "index.sort.mode", "index.sort.order",
  "index.blocks.read_only", "index.blocks.read", "index.blocks.write", "index.blocks.metadata",
  "index.mapping.coerce", "index.mapping.ignore_above", "index.mapping.ignore_malformed", "index.mapping.source.mode",
  "index.mapping.synthetic_source_keep", "index.mapping.total_fields.limit", "index.mapping.total_fields.ignore_dynamic_beyond_limit",
  "index.lifecycle.origination_date",
  "index.time_series.start_time", "index.time_series.end_time", "index.look_ahead_time", "index.look_back_time", "index.routing_path",
  "index.similarity.*", "index.analysis.*",
];

/** Settings flattened and prefixed the way Elasticsearch normalises a template's (Settings.normalizePrefix("index.")). */
function flatKeys(settings: unknown, prefix = ""): string[] {
  return Object.entries((settings ?? {}) as Record<string, unknown>).flatMap(([key, value]) => {
    const path = `${prefix}${key}`;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) return flatKeys(value, `${path}.`);
    return [path.startsWith("index.") ? path : `index.${path}`];
  });
}

const isPublic = (key: string): boolean =>
  PUBLIC_SETTINGS.some((allowed) => (allowed.endsWith("*") ? key.startsWith(allowed.slice(0, -1)) : key === allowed));

/**
 * A component or index template whose settings name one Serverless does not publish: 400 illegal_argument_exception,
 * "Settings [a,b] are not available when running in serverless mode" (elastic/docs-content
 * deploy-manage/deploy/elastic-cloud/differences-from-other-elasticsearch-offerings.md, "Available Elasticsearch
 * settings", which shows that body; a Kibana StorageIndexAdapter test quotes the comma-joined list).
 */
export function refusedSettings(settings: unknown): Refusal | undefined {
  const refused = flatKeys(settings).filter((key) => !isPublic(key)).sort();
  if (refused.length === 0) return undefined;
  const reason = `Settings [${refused.join(",")}] are not available when running in serverless mode`;
  return refusal(400, "illegal_argument_exception", reason);
}

/**
 * APIs Serverless does not serve to users, by path:
 * - ILM does not exist there ("not available, in favor of data stream lifecycle": the differences page; the
 *   specification marks ilm.* `@availability stack` only). Its REST handlers are not registered, so
 *   RestController.handleBadRequest answers 400 with a string `error`, as quoted from Serverless in
 *   elastic/kibana PR #277413 and elastic/docs-content issue #3384: "no handler found for uri [...] and method [...]".
 * - `_nodes/*`, `_cluster/*` (and most of `_cat`) are internal: RestNodesInfoAction is `@ServerlessScope(Scope.INTERNAL)`
 *   (specification: nodes.info `visibility=private`), and RestController answers ApiNotAvailableException, whose
 *   status is GONE (server/.../rest/ApiNotAvailableException.java), with the body the differences page shows.
 */
export function unavailableApi(method: string, path: string): Refusal | undefined {
  if (path === "/_ilm" || path.startsWith("/_ilm/")) {
    return { status: 400, body: { error: `no handler found for uri [${path}] and method [${method}]` } };
  }
  const cat = path.startsWith("/_cat/") && !/^\/_cat\/(indices|aliases)(\/|$)/.test(path);
  if (path === "/_nodes" || path.startsWith("/_nodes/") || path.startsWith("/_cluster/") || cat) {
    const reason = `Request for uri [${path}] with method [${method}] exists but is not available when running in serverless mode`;
    return refusal(410, "api_not_available_exception", reason);
  }
  return undefined;
}

/**
 * The privileges Serverless's has-privileges API takes (the Serverless API reference, "Check user privileges":
 * elastic.co/docs/api/elasticsearch-serverless/operation/operation-security-has-privileges, its `cluster` and
 * `index[].privileges` values, transcribed). A name outside them is refused as Elasticsearch refuses an unknown one:
 * 400 illegal_argument_exception, "unknown cluster privilege [..]" / "unknown index privilege [..]"
 * (x-pack/.../authz/privilege/ClusterPrivilegeResolver.java, IndexPrivilege.java).
 */
const SERVERLESS_CLUSTER_PRIVILEGES = [
  "all", "cancel_task", "manage", "manage_api_key", "manage_behavioral_analytics", "manage_enrich", "manage_esql",
  "manage_index_templates", "manage_inference", "manage_ingest_pipelines", "manage_logstash_pipelines", "manage_ml",
  "manage_own_api_key", "manage_pipeline", "manage_reindex", "manage_search_application", "manage_search_query_rules",
  "manage_search_synonyms", "manage_security", "manage_transform", "monitor", "monitor_enrich", "monitor_esql",
  "monitor_inference", "monitor_ml", "monitor_reindex", "monitor_transform", "none", "post_behavioral_analytics_event",
  "read_pipeline", "read_security", "read_project_routing", "manage_project_routing",
];
const SERVERLESS_INDEX_PRIVILEGES = [
  "all", "auto_configure", "create", "create_doc", "create_index", "create_view", "delete", "delete_index", "delete_view",
  "index", "maintenance", "manage", "manage_data_stream_lifecycle", "manage_view", "monitor", "none", "read",
  "read_view_metadata", "view_index_metadata", "write",
];

export function refusedPrivileges(request: { cluster?: string[]; index?: Array<{ privileges: string[] }> }): Refusal | undefined {
  const unknownCluster = (request.cluster ?? []).find((name) => !SERVERLESS_CLUSTER_PRIVILEGES.includes(name));
  const unknownIndex = (request.index ?? []).flatMap((entry) => entry.privileges).find((name) => !SERVERLESS_INDEX_PRIVILEGES.includes(name));
  const reason = unknownCluster !== undefined ? `unknown cluster privilege [${unknownCluster}]`
    : unknownIndex !== undefined ? `unknown index privilege [${unknownIndex}]` : undefined;
  return reason === undefined ? undefined : refusal(400, "illegal_argument_exception", reason);
}
