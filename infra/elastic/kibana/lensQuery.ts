// Turns a Lens visualization (formBased datasource) into the Elasticsearch search request it stands for:
// `{ size: 0, query, aggs }` on the data view's index pattern. It lets a test run each panel's query on a real
// Elasticsearch without Kibana. Supported: the column operations and the KQL subset these dashboards use; anything
// else fails with a message naming it, rather than producing a different query.
import { loadSavedObjects, SavedObject } from "./savedObjects";

export interface LensSearch {
  /** The data view's title (index pattern), e.g. logs-azure.flowlogs-*. */
  index: string;
  body: { size: 0; track_total_hits: true; query: Record<string, unknown>; aggs: Record<string, any> };
}

export interface LensSearchOptions {
  /** Data views (index-pattern saved objects) to resolve the layer's reference; default: dashboards/kibana. */
  dataViews?: SavedObject[];
  /** Restrict to a time range on the data view's time field, as the dashboard's time picker does. */
  timeRange?: { from: string; to: string };
  /** What "auto" date-histogram intervals become (Kibana derives it from the time range). Default 1h. */
  autoInterval?: string;
}

export interface Column {
  operationType: string;
  /** formula: [its math column]; math: the columns its tinymathAst names. */
  references?: string[];
  sourceField?: string;
  isBucketed: boolean;
  params?: Record<string, any>;
  filter?: { language: string; query: string };
}

export function lensToSearch(lens: SavedObject, options: LensSearchOptions = {}): LensSearch {
  const where = `lens ${lens.id}`;
  if (lens.type !== "lens") throw new Error(`${lens.type}/${lens.id} is not a Lens visualization`);
  const layers = lens.attributes?.state?.datasourceStates?.formBased?.layers ?? {};
  const layerIds = Object.keys(layers);
  if (layerIds.length !== 1) throw new Error(`${where}: has ${layerIds.length} formBased layers; exactly one is supported`);
  const layerId = layerIds[0];
  const layer = layers[layerId];
  const ref = lens.references.find((r) => r.name === `indexpattern-datasource-layer-${layerId}`);
  if (!ref) throw new Error(`${where}: no reference "indexpattern-datasource-layer-${layerId}" names the layer's data view`);
  const dataViews = options.dataViews ?? loadSavedObjects().filter((o) => o.type === "index-pattern");
  const dataView = dataViews.find((d) => d.id === ref.id);
  if (!dataView) throw new Error(`${where}: data view "${ref.id}" is not among the saved objects`);
  const timeField: string | undefined = dataView.attributes.timeFieldName;

  const filters: Record<string, unknown>[] = [];
  const query = lens.attributes.state.query;
  if (query?.query) filters.push(kqlToQuery(query.query, where, query.language));
  for (const filter of lens.attributes.state.filters ?? []) {
    if (filter?.meta?.disabled) continue;
    if (!filter?.query) throw new Error(`${where}: a filter without a query DSL body is not supported`);
    filters.push(filter.meta?.negate ? { bool: { must_not: [filter.query] } } : filter.query);
  }
  if (options.timeRange) {
    if (!timeField) throw new Error(`${where}: a time range was given but data view ${dataView.id} has no timeFieldName`);
    filters.push({ range: { [timeField]: { gte: options.timeRange.from, lte: options.timeRange.to, format: "strict_date_optional_time" } } });
  }

  const columns: Record<string, Column> = layer.columns;
  const order: string[] = layer.columnOrder;
  for (const id of order) if (!columns[id]) throw new Error(`${where}: columnOrder names "${id}" which is not a column`);
  const buckets = order.filter((id) => columns[id].isBucketed);
  const metrics = order.filter((id) => !columns[id].isBucketed);

  // Metrics sit under the innermost bucket; counts need no aggregation (doc_count, or hits.total at the top).
  let aggs: Record<string, any> = {};
  for (const id of metrics) {
    const agg = metricAgg(id, columns[id], where);
    if (agg) aggs[id] = agg;
  }
  for (const id of [...buckets].reverse()) {
    const bucket = bucketAgg(id, columns, where, options);
    const children = { ...bucket.orderAggs, ...aggs };
    aggs = { [id]: Object.keys(children).length ? { ...bucket.agg, aggs: children } : bucket.agg };
  }
  return {
    index: dataView.attributes.title,
    body: { size: 0, track_total_hits: true, query: filters.length ? { bool: { filter: filters } } : { match_all: {} }, aggs },
  };
}

/** Every Lens visualization in dashboards/kibana (or the given objects), by id. */
export function lensSearches(objects: SavedObject[] = loadSavedObjects(), options: Omit<LensSearchOptions, "dataViews"> = {}): Record<string, LensSearch> {
  const dataViews = objects.filter((o) => o.type === "index-pattern");
  const result: Record<string, LensSearch> = {};
  for (const lens of objects.filter((o) => o.type === "lens")) result[lens.id] = lensToSearch(lens, { ...options, dataViews });
  return result;
}

const METRIC_AGGS: Record<string, string> = { sum: "sum", average: "avg", min: "min", max: "max", unique_count: "cardinality" };

function metricAgg(id: string, column: Column, where: string): Record<string, unknown> | undefined {
  let agg: Record<string, unknown> | undefined;
  if (column.operationType === "count") {
    agg = undefined;
  } else if (column.operationType === "formula" || column.operationType === "math") {
    // Computed by Kibana from the other columns' values (lensFormula.ts does the same); no aggregation of its own.
    if (column.filter?.query) throw new Error(`${where}: ${column.operationType} column "${id}" has a filter, which this translation does not support`);
    return undefined;
  } else if (column.operationType === "median") {
    agg = { percentiles: { field: field(column, id, where), percents: [50] } };
  } else if (METRIC_AGGS[column.operationType]) {
    agg = { [METRIC_AGGS[column.operationType]]: { field: field(column, id, where) } };
  } else {
    throw new Error(`${where}: column "${id}" uses operation "${column.operationType}", which this translation does not support`);
  }
  if (column.filter?.query) {
    const filter = kqlToQuery(column.filter.query, `${where} column ${id}`, column.filter.language);
    return agg ? { filter, aggs: { value: agg } } : { filter };
  }
  return agg;
}

function bucketAgg(id: string, columns: Record<string, Column>, where: string, options: LensSearchOptions): { agg: Record<string, unknown>; orderAggs: Record<string, unknown> } {
  const column = columns[id];
  const params = column.params ?? {};
  if (column.operationType === "date_histogram") {
    const interval = params.interval === "auto" || !params.interval ? options.autoInterval ?? "1h" : params.interval;
    const calendar = /^\d*[wMqy]$/.test(interval);
    const histogram: Record<string, unknown> = { field: field(column, id, where), [calendar ? "calendar_interval" : "fixed_interval"]: interval };
    if (params.includeEmptyRows && options.timeRange) {
      histogram.min_doc_count = 0;
      histogram.extended_bounds = { min: options.timeRange.from, max: options.timeRange.to };
    }
    return { agg: { date_histogram: histogram }, orderAggs: {} };
  }
  if (column.operationType === "terms") {
    const direction = params.orderDirection === "asc" ? "asc" : "desc";
    const terms: Record<string, unknown> = { field: field(column, id, where), size: params.size ?? 5 };
    const orderAggs: Record<string, unknown> = {};
    const orderBy = params.orderBy ?? { type: "alphabetical" };
    if (orderBy.type === "alphabetical") {
      terms.order = { _key: direction === "desc" ? "desc" : "asc" };
    } else if (orderBy.type === "column") {
      const target = columns[orderBy.columnId];
      if (!target) throw new Error(`${where}: column "${id}" is ordered by "${orderBy.columnId}", which is not a column`);
      if (target.operationType === "formula" || target.operationType === "math") {
        throw new Error(`${where}: column "${id}" is ordered by the ${target.operationType} column "${orderBy.columnId}", which this translation does not support`);
      }
      if (target.operationType === "count" && !target.filter) {
        terms.order = { _count: direction };
      } else {
        // Ordering by a metric needs that metric directly under the terms aggregation.
        const name = `order_${orderBy.columnId}`;
        orderAggs[name] = metricAgg(orderBy.columnId, target, where);
        terms.order = { [target.filter ? `${name}>_count` : name]: direction };
      }
    } else {
      throw new Error(`${where}: column "${id}" orders by "${orderBy.type}", which this translation does not support`);
    }
    if (params.missingBucket) terms.missing = "(missing value)";
    if (params.otherBucket) throw new Error(`${where}: column "${id}" asks for an "Other" bucket, which needs a second request in Kibana; not supported here`);
    return { agg: { terms }, orderAggs };
  }
  throw new Error(`${where}: column "${id}" uses bucket operation "${column.operationType}", which this translation does not support`);
}

function field(column: Column, id: string, where: string): string {
  if (!column.sourceField || column.sourceField === "___records___") throw new Error(`${where}: column "${id}" has no sourceField`);
  return column.sourceField;
}

// ---- a small KQL subset: `field : value`, `field : "phrase"`, `field : *`, not, and, or, parentheses ----

export function kqlToQuery(kql: string, where = "query", language = "kuery"): Record<string, unknown> {
  if (language !== "kuery") throw new Error(`${where}: query language "${language}" is not supported (only kuery)`);
  const tokens = kql.match(/"(?:[^"\\]|\\.)*"|\(|\)|:|[^\s():"]+/g) ?? [];
  let position = 0;
  const peek = () => tokens[position];
  const next = () => tokens[position++];
  const fail = (message: string): never => { throw new Error(`${where}: KQL "${kql}": ${message}`); };
  const orExpr = (): Record<string, unknown> => {
    const parts = [andExpr()];
    while (peek()?.toLowerCase() === "or") { next(); parts.push(andExpr()); }
    return parts.length === 1 ? parts[0] : { bool: { should: parts, minimum_should_match: 1 } };
  };
  const andExpr = (): Record<string, unknown> => {
    const parts = [notExpr()];
    while (peek()?.toLowerCase() === "and") { next(); parts.push(notExpr()); }
    return parts.length === 1 ? parts[0] : { bool: { filter: parts } };
  };
  const notExpr = (): Record<string, unknown> => {
    if (peek()?.toLowerCase() === "not") { next(); return { bool: { must_not: [notExpr()] } }; }
    return primary();
  };
  const primary = (): Record<string, unknown> => {
    const token = next() ?? fail("unexpected end");
    if (token === "(") {
      const inner = orExpr();
      if (next() !== ")") fail("missing )");
      return inner;
    }
    if (next() !== ":") fail(`expected "field : value" after "${token}" (free-text search is not supported)`);
    const value = next() ?? fail(`no value after "${token} :"`);
    if (value === "*") return { exists: { field: token } };
    if (value.startsWith("\"")) return { match_phrase: { [token]: JSON.parse(value) } };
    if (value.includes("*")) fail(`wildcard values such as "${value}" are not supported`);
    return { match: { [token]: value } };
  };
  if (!tokens.length) return { match_all: {} };
  const result = orExpr();
  if (position !== tokens.length) fail(`unexpected "${tokens[position]}"`);
  return result;
}
