// Integrity of dashboards/kibana: what Kibana would only reveal as a broken panel after import.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { FlowDocument } from "../../collector/src/model";
import { formulaHelperColumns } from "../../infra/elastic/kibana/lensFormula";
import { buildImportNdjson, encodeForImport, ENCODED_ATTRIBUTES, loadSavedObjects, SavedObject } from "../../infra/elastic/kibana/savedObjects";
import { ATTRIBUTE_SCHEMAS, attributesProblem } from "./support/savedObjectSchemas";
import { loadAsset } from "../../dashboards/src/indexAssets";

const objects = loadSavedObjects();
const byKey = new Map(objects.map((o) => [`${o.type}/${o.id}`, o]));
const lenses = objects.filter((o) => o.type === "lens");
const dashboard = objects.find((o) => o.type === "dashboard")!;
const panels: any[] = dashboard.attributes.panelsJSON;

/** Every optional field filled, so every field the collector can emit is enumerated. */
const sample: FlowDocument = {
  "@timestamp": "2026-01-01T00:00:00.000Z",
  ecs: { version: "8.17.0" },
  event: { kind: "event", category: ["network"], dataset: "azure.flowlogs", type: ["connection", "denied"], action: "denied", outcome: "failure" },
  source: { ip: "10.0.0.4", port: 50000, packets: 1, bytes: 60 },
  destination: { ip: "10.0.1.5", port: 22, packets: 0, bytes: 0 },
  network: { transport: "tcp", iana_number: "6", direction: "inbound", community_id: "1:x", packets: 1, bytes: 60 },
  rule: { name: "DenyAllInBound" },
  related: { ip: ["10.0.0.4", "10.0.1.5"] },
  cloud: { provider: "azure", account: { id: "sub" } },
  azure: {
    resource: { id: "/subscriptions/sub/x", name: "nsg-web", group: "rg" },
    flowlog: {
      version: 4, source_address_class: "private", destination_address_class: "private", locality: "internal",
      state: "deny", encryption: "NX_HW_NOT_SUPPORTED", mac: "00-0D-3A-00-00-01", acl_id: "a", id: "i", guid: "g",
    },
  },
};

function leafFields(value: unknown, prefix = ""): string[] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([key, item]) => leafFields(item, prefix ? `${prefix}.${key}` : key));
  }
  return [prefix];
}

/** The alert index's mapped fields (dashboards/elasticsearch/index-templates/flowlogs-alerts.json). */
function mappedFields(properties: Record<string, any>, prefix = ""): string[] {
  return Object.entries(properties).flatMap(([key, m]) => (m.properties ? mappedFields(m.properties, `${prefix}${key}.`) : [`${prefix}${key}`]));
}
const alertFields = new Set(mappedFields((loadAsset("index-templates/flowlogs-alerts.json") as any).template.mappings.properties));
// Geo and AS fields of public endpoints: the collector's enrichment writes exactly the fields the
// azure-flowlogs-geo-mappings component maps (ECS source/destination.geo.*, .as.*), so that mapping is their list.
const geoComponent = loadAsset("component-templates/azure-flowlogs-geo-mappings.json") as any;
const geoFields = mappedFields(geoComponent.template.mappings.properties).filter((f) => /^(source|destination)\.(geo|as)\./.test(f));
const documentFields = new Set([...leafFields(sample), ...geoFields]);
const ALERTS_DATA_VIEW = "flowlogs-alerts-data-view";

/** The fields an object may use: the alert index's for objects on the alerts data view, else the collector's. */
function allowedFields(object: SavedObject): Set<string> {
  const onAlerts = object.id === ALERTS_DATA_VIEW || object.references.some((r) => r.type === "index-pattern" && r.id === ALERTS_DATA_VIEW);
  return onAlerts ? alertFields : documentFields;
}

function layersOf(lens: SavedObject): Record<string, any> {
  return lens.attributes.state.datasourceStates.formBased.layers;
}

function kqlFields(kql: string): string[] {
  return [...kql.matchAll(/([A-Za-z@_][\w.@]*)\s*:/g)].map((m) => m[1]);
}

/** Every document field an object queries, shows or sorts by. */
function fieldsUsed(object: SavedObject): string[] {
  if (object.type === "lens") {
    const columns = Object.values(layersOf(object)).flatMap((layer: any) => Object.values(layer.columns)) as any[];
    return [
      ...columns.map((c) => c.sourceField).filter((f) => f && f !== "___records___"),
      ...columns.flatMap((c) => (c.filter?.query ? kqlFields(c.filter.query) : [])),
      ...kqlFields(object.attributes.state.query?.query ?? ""),
    ];
  }
  if (object.type === "search") {
    return [
      ...object.attributes.columns,
      ...object.attributes.sort.map((s: [string, string]) => s[0]),
      ...kqlFields(object.attributes.kibanaSavedObjectMeta.searchSourceJSON.query.query),
    ];
  }
  if (object.type === "index-pattern") return [object.attributes.timeFieldName];
  return kqlFields(object.attributes.kibanaSavedObjectMeta?.searchSourceJSON?.query?.query ?? "");
}

describe("saved objects in dashboards/kibana", () => {
  test("ids are unique, titles say what each shows and are unique, versions are set (Lens 8.9.0 on core 8.8.0)", () => {
    assert.equal(new Set(objects.map((o) => o.id)).size, objects.length);
    const titles = objects.map((o) => o.attributes.title);
    assert.equal(new Set(titles).size, titles.length);
    for (const object of objects) {
      assert.equal(object.coreMigrationVersion, "8.8.0", object.id);
      assert.match(object.typeMigrationVersion, /^\d+\.\d+\.\d+$/, object.id);
      if (object.type === "lens") assert.equal(object.typeMigrationVersion, "8.9.0", object.id);
      if (object.type !== "index-pattern") assert.ok(object.attributes.title.length >= 8, `${object.id} has a telling title`);
    }
  });

  test("the data views are logs-azure.flowlogs-* and the alert index flowlogs-alerts*, both on @timestamp", () => {
    const views = objects.filter((o) => o.type === "index-pattern").map((o) => [o.id, o.attributes.title, o.attributes.timeFieldName]);
    assert.deepEqual(views.sort(), [
      [ALERTS_DATA_VIEW, "flowlogs-alerts*", "@timestamp"],
      ["flowlogs-data-view", "logs-azure.flowlogs-*", "@timestamp"],
    ]);
    assert.deepEqual((loadAsset("index-templates/flowlogs-alerts.json") as any).index_patterns, ["flowlogs-alerts*"], "the alert template covers the data view");
  });

  test("every reference resolves to an object in the folder", () => {
    for (const object of objects) {
      for (const ref of object.references) assert.ok(byKey.has(`${ref.type}/${ref.id}`), `${object.type}/${object.id} -> ${ref.type}/${ref.id}`);
    }
  });

  test("every Lens layer has its data-view reference, and every column id it uses exists in the layer", () => {
    for (const lens of lenses) {
      const layers = layersOf(lens);
      const visualization = lens.attributes.state.visualization;
      for (const [layerId, layer] of Object.entries<any>(layers)) {
        const where = `${lens.id} layer ${layerId}`;
        assert.ok(lens.references.some((r) => r.name === `indexpattern-datasource-layer-${layerId}` && r.type === "index-pattern"), where);
        assert.deepEqual([...layer.columnOrder].sort(), Object.keys(layer.columns).sort(), `${where}: columnOrder lists exactly the columns`);
        for (const [id, column] of Object.entries<any>(layer.columns)) {
          if (column.params?.orderBy?.type === "column") assert.ok(layer.columns[column.params.orderBy.columnId], `${where}: ${id} orders by a column that exists`);
          // A formula as Lens persists it: references [its math column]; the math column's AST names exactly its references.
          if (column.operationType === "formula") {
            assert.equal(column.params?.isFormulaBroken, false, `${where}: ${id} is not a broken formula`);
            assert.equal(typeof column.params?.formula, "string", `${where}: ${id} keeps its formula text`);
            assert.equal(column.references?.length, 1, `${where}: ${id} references one column`);
            assert.equal(layer.columns[column.references[0]]?.operationType, "math", `${where}: ${id} references its math column`);
          }
          if (column.operationType === "math") {
            const named = new Set<string>();
            const walk = (node: any): void => { if (typeof node === "string") named.add(node); else if (node?.args) node.args.forEach(walk); };
            walk(column.params?.tinymathAst);
            assert.deepEqual([...named].sort(), [...(column.references ?? [])].sort(), `${where}: ${id}'s tinymath names exactly its references`);
            for (const ref of column.references ?? []) assert.ok(layer.columns[ref], `${where}: ${id} references ${ref}, a column`);
          }
        }
      }
      const visLayers: any[] = visualization.layers ?? [visualization];
      for (const visLayer of visLayers) {
        const layer = layers[visLayer.layerId];
        assert.ok(layer, `${lens.id}: visualization layer ${visLayer.layerId} exists`);
        // A datatable lists its columns as minimal references ({columnId, isTransposed}); a full column there breaks rendering.
        for (const column of visLayer.columns ?? []) assert.deepEqual(Object.keys(column).sort(), ["columnId", "isTransposed"], `${lens.id}: datatable column ${column.columnId} is a reference`);
        const accessors = [visLayer.metricAccessor, visLayer.xAccessor, visLayer.splitAccessor, ...(visLayer.accessors ?? []), ...(visLayer.columns ?? []).map((c: any) => c.columnId)].filter(Boolean);
        assert.ok(accessors.length > 0, `${lens.id}: shows something`);
        for (const accessor of accessors) assert.ok(layer.columns[accessor], `${lens.id}: accessor ${accessor} is a column`);
        // Everything computed is shown, except a formula's "Part of" helper columns, which Lens keeps hidden.
        const helpers = formulaHelperColumns(layer.columns);
        for (const accessor of accessors) assert.ok(!helpers.has(accessor), `${lens.id}: formula helper ${accessor} is not shown`);
        assert.deepEqual([...new Set(accessors)].sort(), Object.keys(layer.columns).filter((id) => !helpers.has(id)).sort(), `${lens.id}: every column is shown`);
      }
    }
  });

  test("every field a visualization, search or data view uses is a field of the collector's FlowDocument (or, on the alerts data view, a mapped alert field)", () => {
    for (const object of objects) {
      const allowed = allowedFields(object);
      for (const field of fieldsUsed(object)) assert.ok(allowed.has(field), `${object.type}/${object.id} uses "${field}", which ${allowed === alertFields ? "the alert index mapping" : "FlowDocument"} does not have`);
    }
  });

  test("dashboard panels reference objects by panel_<panelIndex>, and its references are exactly the panels", () => {
    assert.ok(Array.isArray(panels) && panels.length > 0);
    const names = dashboard.references.map((r) => r.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(dashboard.references.length, panels.length);
    assert.equal(new Set(panels.map((p) => p.panelIndex)).size, panels.length);
    for (const panel of panels) {
      assert.equal(panel.panelRefName, `panel_${panel.panelIndex}`);
      assert.equal(panel.gridData.i, panel.panelIndex);
      const ref = dashboard.references.find((r) => r.name === `${panel.panelIndex}:${panel.panelRefName}`);
      assert.ok(ref, `panel ${panel.panelIndex} has a reference`);
      assert.equal(ref.type, panel.type);
    }
  });

  test("dashboard panels fit the 48-column grid without overlapping", () => {
    const cells = new Set<string>();
    for (const { gridData: g, panelIndex } of panels) {
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 48 && g.y >= 0 && g.h > 0, `${panelIndex} inside the grid`);
      for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${panelIndex} overlaps another panel at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  });

  test("the dashboard has the required panels: totals, allowed vs denied over time, top IPs and ports, rules, bytes by direction, resources, denied search", () => {
    const shown = dashboard.references.map((r) => byKey.get(`${r.type}/${r.id}`)!);
    const lensWith = (predicate: (columns: any[], lens: SavedObject) => boolean) =>
      shown.filter((o) => o.type === "lens").some((o) => predicate(Object.values<any>(layersOf(o)).flatMap((l) => Object.values(l.columns)), o));
    const denied = (o: SavedObject) => /event\.action\s*:\s*"?denied/.test(o.attributes.state.query.query);
    const terms = (field: string, size?: number) => (c: any) => c.operationType === "terms" && c.sourceField === field && (size === undefined || c.params.size === size);
    assert.ok(lensWith((c, o) => o.attributes.visualizationType === "lnsMetric" && !denied(o) && c.some((x) => x.operationType === "count")), "total flows");
    assert.ok(lensWith((c, o) => o.attributes.visualizationType === "lnsMetric" && denied(o)), "denied flows");
    assert.ok(lensWith((c, o) => o.attributes.state.visualization.preferredSeriesType === "line" && c.some((x) => x.operationType === "date_histogram") && c.some(terms("event.action"))), "allowed vs denied over time");
    assert.ok(lensWith((c) => c.some(terms("source.ip", 10))), "top 10 source IPs");
    assert.ok(lensWith((c) => c.some(terms("destination.ip", 10))), "top 10 destination IPs");
    assert.ok(lensWith((c) => c.some(terms("destination.port"))), "top destination ports");
    assert.ok(lensWith((c, o) => denied(o) && c.some(terms("rule.name"))), "denied flows by rule");
    assert.ok(lensWith((c) => c.some((x) => x.operationType === "sum" && x.sourceField === "network.bytes") && c.some(terms("network.direction")) && c.some((x) => x.operationType === "date_histogram")), "bytes over time by direction");
    assert.ok(lensWith((c) => c.some(terms("azure.resource.name"))), "flows by NSG/VNet");
    const search = shown.find((o) => o.type === "search");
    assert.ok(search && /denied/.test(search.attributes.kibanaSavedObjectMeta.searchSourceJSON.query.query), "saved search of denied flows");
    for (const column of ["source.ip", "destination.ip", "destination.port", "rule.name"]) assert.ok(search!.attributes.columns.includes(column), column);
  });

  test("the dashboard has the external-traffic panels: countries and ASNs of inbound denied and of outbound allowed flows", () => {
    const shown = dashboard.references.map((r) => byKey.get(`${r.type}/${r.id}`)!).filter((o) => o.type === "lens");
    const panelOf = (locality: string, action: string, field: string) => shown.some((o) =>
      o.attributes.state.query.query === `azure.flowlog.locality : "${locality}" and event.action : "${action}"` &&
      Object.values<any>(layersOf(o)).some((l) => Object.values<any>(l.columns).some((c) => c.operationType === "terms" && c.sourceField === field && c.params.size === 10)));
    assert.ok(panelOf("from_internet", "denied", "source.geo.country_iso_code"), "inbound denied by source country");
    assert.ok(panelOf("from_internet", "denied", "source.as.number"), "inbound denied by source ASN");
    assert.ok(panelOf("to_internet", "allowed", "destination.geo.country_iso_code"), "outbound allowed by destination country");
    assert.ok(panelOf("to_internet", "allowed", "destination.as.number"), "outbound allowed by destination ASN");
  });

  test("the import NDJSON is stable, one object per line, with JSON-valued attributes as strings", () => {
    const ndjson = buildImportNdjson();
    assert.equal(buildImportNdjson(), ndjson);
    assert.ok(ndjson.endsWith("\n"));
    const lines = ndjson.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((o) => `${o.type}/${o.id}`), objects.map((o) => `${o.type}/${o.id}`));
    assert.equal(lines[0].type, "index-pattern");
    assert.equal(lines.at(-1).type, "dashboard");
    let encoded = 0;
    for (const object of lines) {
      for (const path of ENCODED_ATTRIBUTES) {
        const value = path.split(".").reduce((holder: any, key) => holder?.[key], object.attributes);
        if (value !== undefined) { assert.equal(typeof value, "string", `${object.id} ${path}`); JSON.parse(value); encoded++; }
      }
      if (object.type === "lens") assert.equal(typeof object.attributes.state, "object"); // Lens state stays an object
    }
    assert.ok(encoded >= 4, "panelsJSON, optionsJSON, searchSourceJSON (dashboard and search) and fields were encoded");
    const panelsBack = JSON.parse(lines.at(-1).attributes.panelsJSON);
    assert.deepEqual(panelsBack, panels);
  });

  test("contract: every object's attributes use only the keys and types Kibana 9.x declares for its type", () => {
    assert.deepEqual([...new Set(objects.map((o) => o.type))].sort(), Object.keys(ATTRIBUTE_SCHEMAS).sort(), "a schema for every shipped type");
    for (const object of objects) {
      assert.equal(attributesProblem(object.type, encodeForImport(object).attributes), undefined, `${object.type}/${object.id}`);
    }
  });

  test("contract: a misspelt, misplaced or mistyped key in any shipped object is refused", () => {
    const one = (type: string) => encodeForImport(objects.find((o) => o.type === type)!).attributes;
    const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
      ["dashboard", { ...one("dashboard"), timeRestor: true }, /\[attributes\.timeRestor\]: definition for this key is missing/],
      // columns belong to a saved search, not a dashboard
      ["dashboard", { ...one("dashboard"), columns: ["source.ip"] }, /\[attributes\.columns\]: definition/],
      ["dashboard", { ...one("dashboard"), refreshInterval: { pause: "no", value: 0 } }, /\[attributes\.refreshInterval\.pause\]: expected value of type \[boolean\]/],
      ["lens", { ...one("lens"), visualisationType: "lnsXY" }, /\[attributes\.visualisationType\]: definition/],
      // the Lens state sits under attributes.state, not next to it
      ["lens", { ...one("lens"), datasourceStates: {} }, /\[attributes\.datasourceStates\]: definition/],
      ["lens", { ...one("lens"), title: 7 }, /\[attributes\.title\]: expected value of type \[string\] but got \[number\]/],
      ["search", { ...one("search"), column: ["source.ip"] }, /\[attributes\.column\]: definition/],
      ["search", { ...one("search"), kibanaSavedObjectMeta: { searchSourceJSON: "{}", indexRefName: "x" } }, /\[attributes\.kibanaSavedObjectMeta\.indexRefName\]: definition/],
      ["search", { ...one("search"), sort: "@timestamp" }, /\[attributes\.sort\]/],
      ["index-pattern", { ...one("index-pattern"), timeField: "@timestamp" }, /\[attributes\.timeField\]: definition/],
      ["index-pattern", { ...one("index-pattern"), fields: [] }, /\[attributes\.fields\]: expected value of type \[string\] but got \[Array\]/],
    ];
    for (const [type, attributes, message] of refusals) assert.match(attributesProblem(type, attributes) ?? "(accepted)", message, type);
    const { title: _title, ...untitled } = one("search");
    assert.match(attributesProblem("search", untitled) ?? "(accepted)", /\[attributes\.title\]: expected value of type \[string\] but got \[undefined\]/);
  });

  test("a file whose id or versions are wrong is refused with its name", async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "kibana-objects-"));
    try {
      mkdirSync(join(dir, "lens"));
      writeFileSync(join(dir, "lens", "a.json"), JSON.stringify({ type: "lens", id: "a", attributes: {}, references: [], coreMigrationVersion: "8.8.0" }));
      assert.throws(() => loadSavedObjects(dir), /lens\/a\.json: typeMigrationVersion is missing/);
      writeFileSync(join(dir, "lens", "a.json"), JSON.stringify({ type: "lens", id: "b", attributes: {}, references: [], coreMigrationVersion: "8.8.0", typeMigrationVersion: "8.9.0" }));
      assert.throws(() => loadSavedObjects(dir), /its id "b" differs from its file name/);
      writeFileSync(join(dir, "lens", "a.json"), "{ not json");
      assert.throws(() => loadSavedObjects(dir), /lens\/a\.json is not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The attribute keys of a `search` saved object on the oldest Kibana this project supports (MIN_KIBANA_VERSION 8.9):
 * Kibana 8.9-8.11 validate an import against SCHEMA_SEARCH_V8_8_0 (elastic/kibana saved_search/server/saved_objects/
 * schema_legacy.ts), which forbids unknown keys; `sampleSize` and every later key came with the 8.12 model versions.
 */
const SEARCH_KEYS_8_9 = [
  "title", "description", "columns", "sort", "grid", "rowHeight", "rowsPerPage", "hideChart", "breakdownField", "kibanaSavedObjectMeta",
  "isTextBasedQuery", "usesAdHocDataView", "timeRestore", "timeRange", "refreshInterval", "viewMode", "hideAggregatedPreview", "hits", "version",
];

test("contract: every saved search imports on Kibana 8.9-8.11 too (only the keys of their search schema)", () => {
  const searches = objects.filter((o) => o.type === "search");
  assert.ok(searches.length > 0);
  for (const search of searches) {
    assert.deepEqual(Object.keys(search.attributes).filter((key) => !SEARCH_KEYS_8_9.includes(key)), [], `search/${search.id}`);
  }
});
