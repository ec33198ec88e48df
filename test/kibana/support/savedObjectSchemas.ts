// The attribute keys and types Kibana 9.x declares for the saved-object types this project ships, written down as
// our own list (facts from elastic/kibana, no code copied) so the Kibana double can refuse what Kibana refuses and
// a misspelt or misplaced key in dashboards/kibana fails a test. Validated is the import form (JSON-valued
// attributes as strings), the way Kibana validates the document it is about to create.
//
// Where Kibana validates on import (SavedObjectsTypeValidator runs the type's `schemas` / model-version `create`
// schema on the migrated document: src/core/packages/saved-objects/base-server-internal/src/validation/validator.ts,
// called from the repository's bulkCreate), it answers per object with an `unknown` import error. Where Kibana 9.x
// strips an unknown key instead of refusing it (`unknowns: 'ignore'`), the double refuses it anyway: the key would
// never take effect, and the double is stricter, never looser.
//
// Sources (elastic/kibana):
// - dashboard: src/platform/plugins/shared/dashboard/server/dashboard_saved_object/schema/v1/v1.ts (the `8.9.0`
//   schema, unknowns forbidden) plus v2 (controlGroupInput.showApplySelections), v3 (sections), v4 (projectRouting),
//   registered in dashboard_saved_object.ts.
// - lens: x-pack/platform/plugins/shared/lens/server/content_management/v0/schema/common.ts (the `create` schema of
//   model version 1 in x-pack/platform/plugins/shared/lens/server/saved_objects.ts) plus v1/schema/common.ts (`version`).
// - search: src/platform/plugins/shared/saved_search/server/saved_objects/schema.ts, SCHEMA_SEARCH_V8_8_0 up to
//   SCHEMA_SEARCH_MODEL_VERSION_6 (unknowns forbidden).
// - index-pattern: Kibana registers no attribute schema for it (src/platform/plugins/shared/data_views/server/
//   saved_objects/data_views.ts); the keys are the `DataViewAttributes` interface in
//   src/platform/plugins/shared/data_views/common/types.ts.

type Shape =
  | { kind: "string" | "number" | "boolean" | "any" }
  | { kind: "literal"; values: unknown[] }
  | { kind: "object"; props: Record<string, Field> }
  | { kind: "arrayOf"; item: Shape }
  | { kind: "recordOf"; value: Shape }
  | { kind: "oneOf"; options: Shape[] };

interface Field { shape: Shape; required: boolean; nullable: boolean }

const string: Shape = { kind: "string" };
const number: Shape = { kind: "number" };
const boolean: Shape = { kind: "boolean" };
const any: Shape = { kind: "any" };
const literal = (...values: unknown[]): Shape => ({ kind: "literal", values });
const arrayOf = (item: Shape): Shape => ({ kind: "arrayOf", item });
const recordOf = (value: Shape): Shape => ({ kind: "recordOf", value });
const oneOf = (...options: Shape[]): Shape => ({ kind: "oneOf", options });
/** Required unless wrapped in `maybe` (a key with a Kibana default counts as optional). */
const object = (props: Record<string, Shape | Field>): Shape => ({
  kind: "object",
  props: Object.fromEntries(Object.entries(props).map(([key, value]) => [key, "shape" in value ? value : { shape: value, required: true, nullable: false }])),
});
const maybe = (shape: Shape): Field => ({ shape, required: false, nullable: false });
const maybeNullable = (shape: Shape): Field => ({ shape, required: false, nullable: true });

const refreshInterval = object({ pause: boolean, value: number, display: maybe(string), section: maybe(number) });

const dashboard = object({
  title: string,
  description: maybe(string),
  kibanaSavedObjectMeta: maybe(object({ searchSourceJSON: maybe(string) })),
  timeRestore: maybe(boolean),
  timeFrom: maybe(string),
  timeTo: maybe(string),
  refreshInterval: maybe(refreshInterval),
  controlGroupInput: maybe(object({
    panelsJSON: maybe(string), controlStyle: maybe(string), chainingSystem: maybe(string),
    ignoreParentSettingsJSON: maybe(string), showApplySelections: maybe(boolean),
  })),
  panelsJSON: maybe(string),
  optionsJSON: maybe(string),
  hits: maybe(number),
  version: maybe(number),
  sections: maybe(arrayOf(object({ title: string, collapsed: maybe(boolean), gridData: object({ y: number, i: string }) }))),
  projectRouting: maybe(string),
});

const lens = object({
  title: string,
  description: maybeNullable(string),
  visualizationType: maybeNullable(string),
  state: maybe(any),
  uiStateJSON: maybe(string),
  visState: maybe(string),
  savedSearchRefName: maybe(string),
  version: maybe(literal(1)),
});

const searchAttributes = {
  title: string,
  description: maybe(string),
  columns: maybe(arrayOf(string)),
  sort: maybe(oneOf(arrayOf(arrayOf(string)), arrayOf(string))),
  grid: maybe(object({ columns: maybe(recordOf(object({ width: maybe(number) }))) })),
  rowHeight: maybe(number),
  rowsPerPage: maybe(number),
  hideChart: maybe(boolean),
  breakdownField: maybe(string),
  kibanaSavedObjectMeta: object({ searchSourceJSON: string }),
  isTextBasedQuery: maybe(boolean),
  usesAdHocDataView: maybe(boolean),
  timeRestore: maybe(boolean),
  timeRange: maybe(object({ from: string, to: string })),
  refreshInterval: maybe(object({ pause: boolean, value: number })),
  viewMode: maybe(string),
  hideAggregatedPreview: maybe(boolean),
  hits: maybe(number),
  version: maybe(number),
  sampleSize: maybe(number),
  headerRowHeight: maybe(number),
  visContext: maybe(any),
  density: maybe(literal("compact", "normal", "expanded")),
  tabs: maybe(arrayOf(object({ id: string, label: string, attributes: any }))),
};
const search = object(searchAttributes);

const indexPattern = object({
  title: string,
  fields: maybe(string),
  type: maybe(string),
  typeMeta: maybe(string),
  timeFieldName: maybe(string),
  sourceFilters: maybe(string),
  fieldFormatMap: maybe(string),
  fieldAttrs: maybe(string),
  runtimeFieldMap: maybe(string),
  allowNoIndex: maybe(boolean),
  name: maybe(string),
  allowHidden: maybe(boolean),
});

export const ATTRIBUTE_SCHEMAS: Record<string, Shape> = { dashboard, lens, search, "index-pattern": indexPattern };

/** The first way `attributes` break the type's schema, worded as Kibana's config-schema words it; undefined if none. */
export function attributesProblem(type: string, attributes: unknown): string | undefined {
  const schema = ATTRIBUTE_SCHEMAS[type];
  return schema ? problemOf(schema, attributes, "attributes") : undefined;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "Array";
  return typeof value;
}

function problemOf(shape: Shape, value: unknown, path: string): string | undefined {
  const expected = (name: string) => `[${path}]: expected value of type [${name}] but got [${typeName(value)}]`;
  switch (shape.kind) {
    case "any": return undefined;
    case "string": case "number": case "boolean":
      return typeof value === shape.kind && !(shape.kind === "number" && !Number.isFinite(value)) ? undefined : expected(shape.kind);
    case "literal":
      return shape.values.includes(value) ? undefined : `[${path}]: expected one of [${shape.values.join(", ")}] but got [${String(value)}]`;
    case "arrayOf": {
      if (!Array.isArray(value)) return expected("array");
      for (const [index, item] of value.entries()) {
        const problem = problemOf(shape.item, item, `${path}.${index}`);
        if (problem) return problem;
      }
      return undefined;
    }
    case "recordOf": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return expected("object");
      for (const [key, item] of Object.entries(value)) {
        const problem = problemOf(shape.value, item, `${path}.${key}`);
        if (problem) return problem;
      }
      return undefined;
    }
    case "oneOf":
      return shape.options.some((option) => !problemOf(option, value, path)) ? undefined : `[${path}]: types that failed validation: none of ${shape.options.length} allowed shapes matched`;
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return `[${path}]: expected a plain object value, but found [${typeName(value)}] instead.`;
      for (const key of Object.keys(value)) {
        if (!(key in shape.props)) return `[${path}.${key}]: definition for this key is missing`;
      }
      for (const [key, field] of Object.entries(shape.props)) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) {
          if (field.required) return `[${path}.${key}]: expected value of type [${field.shape.kind}] but got [undefined]`;
          continue;
        }
        if (item === null && field.nullable) continue;
        const problem = problemOf(field.shape, item, `${path}.${key}`);
        if (problem) return problem;
      }
      return undefined;
    }
  }
}
