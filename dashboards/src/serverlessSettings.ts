// Which index settings Elastic Cloud Serverless lets a user set, and the plan's filter for them. Serverless refuses
// every index-level setting not marked `Setting.Property.ServerlessPublic` ("All other settings will be rejected
// when used on a PUT request": elastic/elasticsearch server/.../common/settings/Setting.java), with 400
// illegal_argument_exception "Settings [index.number_of_shards] are not available when running in serverless mode"
// (elastic/docs-content deploy-manage/deploy/elastic-cloud/differences-from-other-elasticsearch-offerings.md,
// "Available Elasticsearch settings"). The list below is the published one: elastic/elasticsearch
// docs/reference/elasticsearch/index-settings/serverless.md ("Index settings available in Serverless projects").

/** Exact keys. */
const PUBLIC_KEYS = new Set([
  "index.codec", "index.default_pipeline", "index.dense_vector.hnsw_filter_heuristic", "index.final_pipeline", "index.hidden",
  "index.mode", "index.query.default_field", "index.refresh_interval",
  "index.sort.field", "index.sort.missing", "index.sort.mode", "index.sort.order",
  "index.blocks.read_only", "index.blocks.read", "index.blocks.write", "index.blocks.metadata",
  "index.mapping.coerce", "index.mapping.ignore_above", "index.mapping.ignore_malformed", "index.mapping.source.mode",
  "index.mapping.synthetic_source_keep", "index.mapping.total_fields.limit", "index.mapping.total_fields.ignore_dynamic_beyond_limit",
  "index.lifecycle.origination_date",
  "index.time_series.start_time", "index.time_series.end_time", "index.look_ahead_time", "index.look_back_time", "index.routing_path",
]);
/** Whole groups (`index.similarity.*`, `index.analysis.*`). */
const PUBLIC_PREFIXES = ["index.similarity.", "index.analysis."];

/** A settings key as Elasticsearch normalises it (`number_of_shards` in a template means `index.number_of_shards`). */
export function normalisedKey(path: string): string {
  return path.startsWith("index.") ? path : `index.${path}`;
}

export function isServerlessPublic(key: string): boolean {
  const normalised = normalisedKey(key);
  return PUBLIC_KEYS.has(normalised) || PUBLIC_PREFIXES.some((prefix) => normalised.startsWith(prefix));
}

/**
 * The settings without the keys Serverless refuses, in the shape they were written (nested or dotted); objects
 * left empty are dropped. `dropped` names the removed keys, normalised.
 */
export function serverlessSettings(settings: Record<string, unknown>): { settings: Record<string, unknown>; dropped: string[] } {
  const dropped: string[] = [];
  const walk = (node: Record<string, unknown>, prefix: string): Record<string, unknown> => {
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      const path = `${prefix}${key}`;
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        const inner = walk(value as Record<string, unknown>, `${path}.`);
        if (Object.keys(inner).length > 0) kept[key] = inner;
      } else if (isServerlessPublic(path)) {
        kept[key] = value;
      } else {
        dropped.push(normalisedKey(path));
      }
    }
    return kept;
  };
  return { settings: walk(settings, ""), dropped };
}
