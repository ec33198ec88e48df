// The dashboard's panels as Elasticsearch searches on one data stream (the Lens → search translation of
// infra/elastic/kibana/lensQuery.ts), and their answers flattened into rows keyed by the Lens column ids. Shared by
// the demo's summary and the end-to-end tests, so both read exactly what the dashboard would show.
import type { Client } from "@elastic/elasticsearch";
import { lensSearches, type LensSearch } from "../../infra/elastic/kibana/lensQuery";
import { loadSavedObjects, type SavedObject } from "../../infra/elastic/kibana/savedObjects";
import { ALL_FLOW_DATA_STREAMS, namespaceSavedObjects } from "../../infra/elastic/kibana/namespace";
import { DEFAULT_NAMESPACE, FLOW_DATASET, flowDataStream } from "../../collector/src/sink/dataStreams";
import { evaluateFormulas, formulaHelperColumns } from "../../infra/elastic/kibana/lensFormula";

export interface PanelSearch {
  lens: SavedObject;
  search: LensSearch;
}

export type PanelRow = Record<string, string | number | null>;

/**
 * Every Lens panel's search as the dashboard of `dataStream`'s namespace runs it, keyed by the panel's id in
 * dashboards/kibana. Outside `default` that is the namespace's own data view, which must read exactly `dataStream`;
 * the `default` data view reads every namespace (`logs-azure.flowlogs-*`), so there the search is aimed at `dataStream`.
 */
export function panelSearches(dataStream: string, timeRange: { from: string; to: string }, autoInterval: string): Record<string, PanelSearch> {
  const namespace = dataStream.slice(`logs-${FLOW_DATASET}-`.length);
  if (!/^[a-z0-9_]{1,100}$/.test(namespace) || dataStream !== flowDataStream(namespace)) {
    throw new Error(`${dataStream} is not a flow-log data stream (logs-${FLOW_DATASET}-<namespace>)`);
  }
  const files = loadSavedObjects();
  const objects = namespaceSavedObjects(files, { namespace });
  const result: Record<string, PanelSearch> = {};
  for (const [id, search] of Object.entries(lensSearches(objects, { timeRange, autoInterval }))) {
    const expected = namespace === DEFAULT_NAMESPACE ? ALL_FLOW_DATA_STREAMS : dataStream;
    if (search.index !== expected) {
      throw new Error(`panel ${id} reads ${search.index}, not ${expected} (the flow-log data view of namespace ${namespace}): its numbers would not be this stack's flow logs`);
    }
    const lens = objects.find((o) => o.type === "lens" && o.id === id)!;
    const fileId = files[objects.indexOf(lens)].id; // namespaceSavedObjects keeps the order
    result[fileId] = { lens, search: { ...search, index: dataStream } };
  }
  return result;
}

/**
 * Runs a panel's search; one row per innermost bucket (bucket keys and metric values by column id). Formula columns
 * are computed from their helper columns as Kibana does, and the hidden helpers left out: a row is what the panel shows.
 */
export async function panelRows(es: Client, panel: PanelSearch): Promise<{ total: number; rows: PanelRow[] }> {
  const response = await es.search({ index: panel.search.index, ...panel.search.body } as any) as any;
  const layer: any = Object.values(panel.lens.attributes.state.datasourceStates.formBased.layers)[0];
  const order: string[] = layer.columnOrder;
  const buckets = order.filter((id) => layer.columns[id].isBucketed);
  const metrics = order.filter((id) => !layer.columns[id].isBucketed);
  const helpers = formulaHelperColumns(layer.columns);
  const rows: PanelRow[] = [];
  const walk = (aggs: any, depth: number, row: PanelRow, docCount: number): void => {
    if (depth === buckets.length) {
      for (const id of metrics) {
        const column = layer.columns[id];
        if (column.operationType === "count") row[id] = column.filter ? aggs[id].doc_count : docCount;
        else if (column.operationType !== "formula" && column.operationType !== "math") row[id] = (column.filter ? aggs[id].value?.value : aggs[id].value) ?? null;
      }
      evaluateFormulas(layer.columns, row, `lens ${panel.lens.id}`);
      for (const helper of helpers) delete row[helper];
      rows.push(row);
      return;
    }
    for (const bucket of aggs[buckets[depth]].buckets) walk(bucket, depth + 1, { ...row, [buckets[depth]]: bucket.key }, bucket.doc_count);
  };
  const total = response.hits.total.value;
  walk(response.aggregations ?? {}, 0, {}, total);
  return { total, rows };
}
