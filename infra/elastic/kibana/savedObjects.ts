// Reads the reviewable saved objects in dashboards/kibana/<type>/<id>.json and builds the NDJSON Kibana's
// `_import` API takes. In the repo, JSON-valued attributes are kept as objects so a review shows real diffs;
// Kibana wants them as strings, so they are stringified here (as elastic-package does when it builds a package).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const SAVED_OBJECTS_DIR = resolve(__dirname, "..", "..", "..", "dashboards", "kibana");

export interface SavedObjectReference {
  type: string;
  id: string;
  name: string;
}

export interface SavedObject {
  type: string;
  id: string;
  attributes: Record<string, any>;
  references: SavedObjectReference[];
  coreMigrationVersion: string;
  typeMigrationVersion: string;
}

/** Attributes Kibana stores as JSON strings (paths inside `attributes`). */
export const ENCODED_ATTRIBUTES = [
  "panelsJSON", "optionsJSON", "visState", "uiStateJSON", "layerListJSON", "mapStateJSON",
  "kibanaSavedObjectMeta.searchSourceJSON",
  // data view (index-pattern) attributes
  "fields", "fieldAttrs", "fieldFormatMap", "runtimeFieldMap",
];

/** Import order: what is referenced comes before what references it (Kibana resolves within the file anyway). */
const TYPE_ORDER = ["index-pattern", "search", "lens", "visualization", "dashboard"];

export function loadSavedObjects(dir: string = SAVED_OBJECTS_DIR): SavedObject[] {
  const objects: SavedObject[] = [];
  for (const type of readdirSync(dir).sort()) {
    const typeDir = join(dir, type);
    if (!statSync(typeDir).isDirectory()) continue;
    for (const file of readdirSync(typeDir).sort()) {
      if (!file.endsWith(".json")) continue;
      const where = join(type, file);
      let object: SavedObject;
      try {
        object = JSON.parse(readFileSync(join(typeDir, file), "utf8"));
      } catch (error) {
        throw new Error(`${where} is not valid JSON: ${(error as Error).message}`);
      }
      const problems = [
        object.type !== type && `its type "${object.type}" differs from its folder "${type}"`,
        `${object.id}.json` !== file && `its id "${object.id}" differs from its file name`,
        (typeof object.attributes !== "object" || object.attributes === null) && "it has no attributes object",
        !Array.isArray(object.references) && "it has no references array",
        !object.coreMigrationVersion && "coreMigrationVersion is missing (Kibana would run every migration on import)",
        !object.typeMigrationVersion && "typeMigrationVersion is missing (Kibana would run every migration on import; Lens fails with HTTP 500)",
      ].filter(Boolean);
      if (problems.length) throw new Error(`${where}: ${problems.join("; ")}`);
      objects.push(object);
    }
  }
  return objects.sort((a, b) => rank(a.type) - rank(b.type) || a.type.localeCompare(b.type) || a.id.localeCompare(b.id));
}

function rank(type: string): number {
  const index = TYPE_ORDER.indexOf(type);
  return index === -1 ? TYPE_ORDER.length : index;
}

/** The object as Kibana exports it: JSON-valued attributes as strings. */
export function encodeForImport(object: SavedObject): SavedObject {
  const attributes = structuredClone(object.attributes);
  for (const path of ENCODED_ATTRIBUTES) {
    const keys = path.split(".");
    const last = keys.pop()!;
    let holder: any = attributes;
    for (const key of keys) holder = holder?.[key];
    if (holder && typeof holder === "object" && last in holder && typeof holder[last] !== "string") {
      holder[last] = JSON.stringify(holder[last]);
    }
  }
  return {
    type: object.type,
    id: object.id,
    attributes,
    references: object.references,
    coreMigrationVersion: object.coreMigrationVersion,
    typeMigrationVersion: object.typeMigrationVersion,
  };
}

/** One object per line, stable order, ending with a newline. */
export function buildImportNdjson(objects: SavedObject[] = loadSavedObjects()): string {
  return objects.map((object) => JSON.stringify(encodeForImport(object))).join("\n") + "\n";
}

/** `type/id` of each object in an NDJSON import file (skipping an export-summary line). */
export function objectKeysOf(ndjson: string): Array<{ type: string; id: string }> {
  const keys: Array<{ type: string; id: string }> = [];
  ndjson.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    let object: any;
    try {
      object = JSON.parse(line);
    } catch {
      throw new Error(`line ${index + 1} of the saved-objects NDJSON is not JSON`);
    }
    if (object && typeof object.exportedCount === "number") return;
    if (!object || typeof object.type !== "string" || typeof object.id !== "string") {
      throw new Error(`line ${index + 1} of the saved-objects NDJSON has no string "type" and "id"`);
    }
    keys.push({ type: object.type, id: object.id });
  });
  return keys;
}
