// A saved search (Discover session) panel as the Elasticsearch search it stands for: its KQL query and filters, the
// dashboard's time range on the data view's time field, its sort and its sample size, the columns as the fields
// fetched. Lets a test run a saved-search panel's query on a real Elasticsearch without Kibana.
import { kqlToQuery } from "./lensQuery";
import type { SavedObject } from "./savedObjects";

export interface SavedSearchRequest {
  index: string;
  body: { size: number; query: Record<string, unknown>; sort: Array<Record<string, string>>; fields: string[]; _source: false };
}

export function savedSearchToSearch(search: SavedObject, dataViews: SavedObject[], timeRange?: { from: string; to: string }): SavedSearchRequest {
  const where = `search ${search.id}`;
  const source = search.attributes.kibanaSavedObjectMeta.searchSourceJSON;
  const ref = search.references.find((r) => r.name === source.indexRefName);
  const dataView = dataViews.find((d) => d.id === ref?.id);
  if (!dataView) throw new Error(`${where}: its data view (${ref?.id ?? "no reference"}) is not among the saved objects`);
  const filters: Record<string, unknown>[] = [];
  if (source.query?.query) filters.push(kqlToQuery(source.query.query, where, source.query.language));
  if ((source.filter ?? []).length) throw new Error(`${where}: filters are not supported here`);
  if (timeRange) filters.push({ range: { [dataView.attributes.timeFieldName]: { gte: timeRange.from, lte: timeRange.to, format: "strict_date_optional_time" } } });
  return {
    index: dataView.attributes.title,
    body: {
      // Kibana's default sample size (discover:sampleSize) where the search sets none.
      size: search.attributes.sampleSize ?? 500,
      query: filters.length ? { bool: { filter: filters } } : { match_all: {} },
      sort: (search.attributes.sort as Array<[string, string]>).map(([field, order]) => ({ [field]: order })),
      fields: [dataView.attributes.timeFieldName, ...search.attributes.columns],
      _source: false,
    },
  };
}
