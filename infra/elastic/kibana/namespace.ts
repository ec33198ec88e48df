// One stack's Kibana objects, kept apart from another stack's in the same Kibana space by the data stream namespace
// the stack writes (elasticsearch.namespace). Namespace `default` keeps every id, rule_id, name and index pattern
// exactly as before namespaces were known here, so an existing stack sees no replacement. Any other namespace gets
// `<id>-<namespace>` ids and rule_ids (namespaces are `a-z 0-9 _`, so the result is a valid id everywhere Kibana
// takes one), `<name> [<namespace>]` names, and reads only its own data stream, `logs-azure.flowlogs-<namespace>`.
import { checkNamespace, DEFAULT_NAMESPACE, FLOW_DATASET, flowDataStream } from "../../../collector/src/sink/dataStreams";
import { buildImportNdjson, loadSavedObjects, type SavedObject } from "./savedObjects";

/** What the `default` namespace's data view and rules read: every namespace's flow data stream. */
export const ALL_FLOW_DATA_STREAMS = `logs-${FLOW_DATASET}-*`;
/** The `default` namespace's alert index, and the pattern its alerts data view (and the alerts index template) cover. */
export const DEFAULT_ALERT_INDEX = "flowlogs-alerts";
const ALL_ALERT_INDICES = `${DEFAULT_ALERT_INDEX}*`;

const isDefault = (namespace: string) => checkNamespace(namespace) === DEFAULT_NAMESPACE;

/** A saved-object id or detection rule_id of this namespace. */
export function namespacedId(id: string, namespace: string): string {
  return isDefault(namespace) ? id : `${id}-${namespace}`;
}

/** A name people see (title, rule or connector name) of this namespace. */
export function namespacedName(name: string, namespace: string): string {
  return isDefault(namespace) ? name : `${name} [${namespace}]`;
}

/** The `index` of this namespace's rules. */
export function flowIndexOf(namespace: string): string[] {
  return [isDefault(namespace) ? ALL_FLOW_DATA_STREAMS : flowDataStream(namespace)];
}

/** The index the `.index` connector writes alerts to unless `kibana.alert.index` says otherwise (inside the alerts template's `flowlogs-alerts*`). */
export function defaultAlertIndex(namespace: string): string {
  return isDefault(namespace) ? DEFAULT_ALERT_INDEX : `${DEFAULT_ALERT_INDEX}-${namespace}`;
}

export interface NamespaceOptions {
  namespace: string;
  /** The index this stack's alerts go to; its alerts data view reads it. Default: defaultAlertIndex(namespace). */
  alertIndex?: string;
}

/**
 * The saved objects of one namespace: ids and every reference to them, titles and data view names carry the
 * namespace, and each data view reads the namespace's own data: the flow data view its data stream, the alerts data
 * view its alert index. The `default` namespace gets the objects as they are (the same array).
 */
export function namespaceSavedObjects(objects: SavedObject[], options: NamespaceOptions): SavedObject[] {
  const namespace = options.namespace;
  if (isDefault(namespace)) return objects;
  const declared = new Set(objects.map((o) => `${o.type}/${o.id}`));
  const dataViewIds = new Set(objects.filter((o) => o.type === "index-pattern").map((o) => o.id));
  return objects.map((object) => {
    const attributes = structuredClone(object.attributes);
    if (object.type === "index-pattern") {
      attributes.title = dataViewPattern(object, options);
      if (typeof attributes.name === "string") attributes.name = namespacedName(attributes.name, namespace);
    } else {
      // An ad-hoc data view or an ES|QL `FROM` naming the pattern would read every namespace, whatever the ids say.
      if (JSON.stringify(attributes).includes(ALL_FLOW_DATA_STREAMS)) {
        throw new Error(`${object.type}/${object.id} names ${ALL_FLOW_DATA_STREAMS} itself: read it through the data view (a reference) so each namespace reads its own`);
      }
      // Only references get the namespace: a data view id written in the attributes would read another namespace's.
      const named = stringsIn(attributes).find((text) => dataViewIds.has(text));
      if (named !== undefined) {
        throw new Error(`${object.type}/${object.id} names data view ${named} in its attributes: refer to it through references (type index-pattern) so each namespace reads its own`);
      }
      if (typeof attributes.title === "string") attributes.title = namespacedName(attributes.title, namespace);
    }
    const foreign = object.references.find((r) => r.type === "index-pattern" && !declared.has(`${r.type}/${r.id}`));
    if (foreign) {
      throw new Error(`${object.type}/${object.id} refers to data view ${foreign.id}, which dashboards/kibana does not declare: every namespace would read it; add that data view to dashboards/kibana/index-pattern/`);
    }
    const references = object.references.map((r) => (declared.has(`${r.type}/${r.id}`) ? { ...r, id: namespacedId(r.id, namespace) } : r));
    return { ...object, id: namespacedId(object.id, namespace), attributes, references };
  });
}

/** Every string in a value, JSON-encoded attribute strings (Kibana's panelsJSON, searchSourceJSON...) opened too. */
function stringsIn(value: unknown): string[] {
  if (typeof value === "string") {
    if (!/^\s*[[{]/.test(value)) return [value];
    try { return [value, ...stringsIn(JSON.parse(value))]; } catch { return [value]; }
  }
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === "object") return Object.values(value).flatMap(stringsIn);
  return [];
}

function dataViewPattern(dataView: SavedObject, options: NamespaceOptions): string {
  const title = dataView.attributes.title;
  if (title === ALL_FLOW_DATA_STREAMS) return flowDataStream(options.namespace);
  if (title === ALL_ALERT_INDICES) return options.alertIndex ?? defaultAlertIndex(options.namespace);
  // A new data view must say what it reads in a namespace of its own, or every stack would read every namespace.
  throw new Error(`index-pattern/${dataView.id} reads ${JSON.stringify(title)}: infra/elastic/kibana/namespace.ts knows only ${ALL_FLOW_DATA_STREAMS} and ${ALL_ALERT_INDICES}; teach it what this data view reads in one namespace`);
}

/** The `_import` NDJSON of dashboards/kibana for one namespace (for `default`, exactly buildImportNdjson()). */
export function namespacedImportNdjson(options: NamespaceOptions, objects: SavedObject[] = loadSavedObjects()): string {
  return buildImportNdjson(namespaceSavedObjects(objects, options));
}
