// KibanaSavedObjects: imports the dashboard, visualizations, saved search and data view with
// `POST /api/saved_objects/_import?overwrite=true`, reads them back to detect drift, deletes them on destroy.
// Kibana answers 200 even when an import fails, so the `success` flag and `errors` are checked.
// Note: the per-object GET/DELETE saved-objects endpoints are documented as deprecated since Kibana 8.7 (still
// served); `_import` is not deprecated.
import * as pulumi from "@pulumi/pulumi";
import { callKibana, checkConnection, KibanaConnection, KibanaError, UNKNOWN } from "./client";
import { sameConnection, sha256, spaceKey } from "./compare";
import { buildImportNdjson, objectKeysOf } from "./savedObjects";

export interface SavedObjectsInputs {
  connection: KibanaConnection;
  /** NDJSON import file (one saved object per line). */
  ndjson: string;
}

export interface SavedObjectsOutputs extends SavedObjectsInputs {
  /** `type/id` of every imported object as it exists in Kibana (see `idMap`), in import order. */
  objects: string[];
  /**
   * Declared `type/id` -> `type/id` in Kibana. They differ when Kibana gave the object a new id on import (it does
   * so when the same id already exists in another space: `destinationId` in the import answer).
   */
  idMap: Record<string, string>;
  /** sha256 of the NDJSON last imported, or "drifted: ..." after a refresh found objects changed or missing. */
  contentHash: string;
  /** Kibana's `version` of each object right after the import, to notice later edits. */
  versions: Record<string, string>;
}

/** `rollBack`: on a failed import, delete what it newly created (a create must leave nothing behind). */
async function importObjects(inputs: SavedObjectsInputs, rollBack: boolean): Promise<SavedObjectsOutputs> {
  const keys = objectKeysOf(inputs.ndjson);
  const answer = await callKibana(inputs.connection, {
    method: "POST",
    path: "/api/saved_objects/_import?overwrite=true",
    ndjsonFile: { filename: "flowlogs.ndjson", content: inputs.ndjson },
  });
  const result = answer.body ?? {};
  const errors: any[] = Array.isArray(result.errors) ? result.errors : [];
  if (result.success !== true || errors.length > 0) {
    const listed = errors.map((e) => {
      const refs = Array.isArray(e?.error?.references)
        ? ` (${e.error.references.map((r: any) => `${r.type}/${r.id}`).join(", ")})` : "";
      const message = e?.error?.message ? `: ${e.error.message}` : "";
      return `${e?.type}/${e?.id}: ${e?.error?.type ?? "unknown error"}${refs}${message}`;
    });
    // Kibana imports the objects without errors even when others fail.
    const created: string[] = (Array.isArray(result.successResults) ? result.successResults : [])
      .filter((r: any) => !r?.overwrite)
      .map((r: any) => `${r.type}/${r.destinationId ?? r.id}`);
    let rolledBack = "";
    if (rollBack && created.length) {
      await deleteObjects(inputs.connection, created);
      rolledBack = ` (the ${created.length} object(s) it did create were deleted again)`;
    }
    throw new Error(`Kibana refused the saved-objects import (success=${result.success}, ${result.successCount ?? 0} of ${keys.length} imported)${rolledBack}` +
      (listed.length ? `:\n  ${listed.join("\n  ")}` : ": no errors listed"));
  }
  const destinations = new Map<string, string>();
  for (const r of Array.isArray(result.successResults) ? result.successResults : []) {
    if (r?.destinationId) destinations.set(`${r.type}/${r.id}`, `${r.type}/${r.destinationId}`);
  }
  const idMap: Record<string, string> = {};
  const versions: Record<string, string> = {};
  for (const key of keys) {
    const declared = `${key.type}/${key.id}`;
    const actual = destinations.get(declared) ?? declared;
    idMap[declared] = actual;
    const got = await callKibana(inputs.connection, { method: "GET", path: objectPath(splitKey(actual)) });
    versions[actual] = String(got.body?.version ?? "");
  }
  return {
    connection: inputs.connection,
    ndjson: inputs.ndjson,
    objects: Object.values(idMap),
    idMap,
    contentHash: sha256(inputs.ndjson),
    versions,
  };
}

function objectPath(key: { type: string; id: string }): string {
  return `/api/saved_objects/${encodeURIComponent(key.type)}/${encodeURIComponent(key.id)}`;
}

function splitKey(key: string): { type: string; id: string } {
  const slash = key.indexOf("/");
  return { type: key.slice(0, slash), id: key.slice(slash + 1) };
}

async function deleteObjects(connection: KibanaConnection, keys: string[]): Promise<void> {
  // Reverse import order: the dashboard goes before what it shows.
  for (const key of [...keys].reverse()) {
    try {
      await callKibana(connection, { method: "DELETE", path: objectPath(splitKey(key)), accept: [404] });
    } catch (error) {
      if (error instanceof KibanaError && error.status === 400 && /multiple namespaces/.test(error.message)) {
        // Someone shared it to other spaces; deleting it everywhere (`force`) is their call, not ours.
        throw new Error(`${error.message}\n${key} was shared to other spaces after import: unshare it in Stack Management > Saved objects, or delete it there, then retry`);
      }
      throw error;
    }
  }
}

export const savedObjectsProvider: pulumi.dynamic.ResourceProvider<SavedObjectsInputs, SavedObjectsOutputs> = {
  async check(_olds, news) {
    const failures = checkConnection(news.connection);
    if (news.ndjson !== UNKNOWN) {
      if (typeof news.ndjson !== "string" || !news.ndjson.trim()) {
        failures.push({ property: "ndjson", reason: "ndjson is empty: pass buildImportNdjson() or an exported NDJSON file" });
      } else {
        try {
          const seen = new Set<string>();
          for (const [index, line] of news.ndjson.split("\n").entries()) {
            if (!line.trim()) continue;
            const object = JSON.parse(line);
            if (typeof object.exportedCount === "number") continue;
            const key = `${object.type}/${object.id}`;
            if (seen.has(key)) failures.push({ property: "ndjson", reason: `${key} appears twice (Kibana rejects the whole file)` });
            seen.add(key);
            if (!object.coreMigrationVersion || !object.typeMigrationVersion) {
              failures.push({ property: "ndjson", reason: `line ${index + 1} (${key}) lacks coreMigrationVersion/typeMigrationVersion: Kibana would run every migration and Lens objects fail with HTTP 500` });
            }
          }
          objectKeysOf(news.ndjson);
        } catch (error) {
          failures.push({ property: "ndjson", reason: (error as Error).message });
        }
      }
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces = spaceKey(olds.connection) !== spaceKey(news.connection) ? ["connection"] : [];
    const contentChanged = olds.contentHash !== sha256(news.ndjson);
    const connectionChanged = !sameConnection(olds.connection, news.connection);
    return { changes: replaces.length > 0 || contentChanged || connectionChanged, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const outs = await importObjects(inputs, true);
    return { id: `saved-objects:${spaceKey(inputs.connection)}:${sha256(outs.objects.join(",")).slice(0, 16)}`, outs };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const missing: string[] = [];
    const changed: string[] = [];
    const versions: Record<string, string> = {};
    for (const key of props.objects) {
      const got = await callKibana(props.connection, { method: "GET", path: objectPath(splitKey(key)), accept: [404] });
      if (got.status === 404) { missing.push(key); continue; }
      versions[key] = String(got.body?.version ?? "");
      if (props.versions[key] !== versions[key]) changed.push(key);
    }
    const drift = [...missing.map((k) => `${k} missing`), ...changed.map((k) => `${k} edited`)];
    // Drift shows as a different contentHash, so the next `up` re-imports the files.
    return { id, props: { ...props, versions: drift.length ? versions : props.versions, contentHash: drift.length ? `drifted: ${drift.join(", ")}` : props.contentHash } };
  },

  async update(_id, olds, news) {
    const outs = await importObjects(news, false);
    const removed = Object.entries(olds.idMap ?? {})
      .filter(([declared]) => !(declared in outs.idMap))
      .map(([, actual]) => actual);
    await deleteObjects(news.connection, removed);
    return { outs };
  },

  async delete(_id, props) {
    await deleteObjects(props.connection, props.objects);
  },
};

export interface KibanaSavedObjectsArgs {
  connection: pulumi.Input<KibanaConnection>;
  /** Defaults to the objects in dashboards/kibana/. */
  ndjson?: pulumi.Input<string>;
}

export class KibanaSavedObjects extends pulumi.dynamic.Resource {
  declare readonly objects: pulumi.Output<string[]>;
  declare readonly contentHash: pulumi.Output<string>;

  constructor(name: string, args: KibanaSavedObjectsArgs, opts?: pulumi.CustomResourceOptions) {
    super(savedObjectsProvider, name, {
      connection: pulumi.secret(args.connection),
      ndjson: args.ndjson ?? buildImportNdjson(),
      objects: undefined,
      contentHash: undefined,
      versions: undefined,
      idMap: undefined,
    }, { ...opts, additionalSecretOutputs: ["connection"] }, "flowlogs", "kibana:SavedObjects");
  }
}
