// KibanaSavedObjects: imports the dashboard, visualizations, saved search and data view with
// `POST /api/saved_objects/_import?overwrite=true` once the Kibana version is known to accept them, reads them
// back with `_export` to detect drift, deletes them on destroy where the deployment offers a public delete
// (./savedObjectsApi.ts says why these calls). Kibana answers 200 even when an import fails, so the `success`
// flag and `errors` are checked.
import * as pulumi from "@pulumi/pulumi";
import { callKibana, checkConnection, KibanaConnection, UNKNOWN } from "./client";
import { sameConnection, sha256, spaceKey } from "./compare";
import { buildImportNdjson, objectKeysOf } from "./savedObjects";
import { deleteObjects, exportVersions, requireKibanaVersion } from "./savedObjectsApi";
import { takenByAnotherStack } from "./ownership";

export interface SavedObjectsInputs {
  connection: KibanaConnection;
  /** NDJSON import file (one saved object per line). */
  ndjson: string;
  /** The data stream namespace the objects' ids carry; only named in errors. */
  namespace?: string;
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

/**
 * `rollBack`: on a failed import, delete what it newly created (a create must leave nothing behind). `olds`: an
 * update's state, whose objects alone it may overwrite (refuseTakeOver).
 */
async function importObjects(inputs: SavedObjectsInputs, rollBack: boolean, olds?: SavedObjectsOutputs): Promise<SavedObjectsOutputs> {
  const keys = objectKeysOf(inputs.ndjson);
  await requireKibanaVersion(inputs.connection, inputs.ndjson);
  if (olds) await refuseTakeOver(olds, inputs);
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
  for (const key of keys) {
    const declared = `${key.type}/${key.id}`;
    idMap[declared] = destinations.get(declared) ?? declared;
  }
  const { versions, missing } = await exportVersions(inputs.connection, Object.values(idMap));
  if (missing.length) throw new Error(`Kibana reported the import as successful but cannot export ${missing.join(", ")}`);
  return {
    connection: inputs.connection,
    ndjson: inputs.ndjson,
    ...(inputs.namespace === undefined ? {} : { namespace: inputs.namespace }),
    objects: Object.values(idMap),
    idMap,
    contentHash: sha256(inputs.ndjson),
    versions,
  };
}

/**
 * An update that declares objects this resource never imported (a namespace change gives every object a new id) must
 * not overwrite ones already in the space: they are another stack's, and this update's delete of the objects it
 * drops, or a later destroy, would take them away from it. Checked before anything is imported or deleted.
 */
async function refuseTakeOver(olds: SavedObjectsOutputs, news: SavedObjectsInputs): Promise<void> {
  const own = new Set([...Object.keys(olds.idMap ?? {}), ...(olds.objects ?? [])]);
  const fresh = objectKeysOf(news.ndjson).map((key) => `${key.type}/${key.id}`).filter((key) => !own.has(key));
  const { versions } = await exportVersions(news.connection, fresh);
  const taken = Object.keys(versions);
  if (taken.length === 0) return;
  const listed = taken.length > 3 ? `${taken.slice(0, 3).join(", ")} and ${taken.length - 3} more` : taken.join(", ");
  throw new Error(`saved objects ${listed} already exist and this stack did not import them, so nothing was imported or deleted; ${takenByAnotherStack(news.namespace, spaceKey(news.connection))}`);
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
    const { versions, missing } = await exportVersions(props.connection, props.objects);
    const changed = props.objects.filter((key) => key in versions && props.versions[key] !== versions[key]);
    const drift = [...missing.map((k) => `${k} missing`), ...changed.map((k) => `${k} edited`)];
    // Drift shows as a different contentHash, so the next `up` re-imports the files.
    return { id, props: { ...props, versions: drift.length ? versions : props.versions, contentHash: drift.length ? `drifted: ${drift.join(", ")}` : props.contentHash } };
  },

  async update(_id, olds, news) {
    const outs = await importObjects(news, false, olds);
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
  /** The data stream namespace the objects' ids carry (named when another stack already has them). */
  namespace?: string;
}

export class KibanaSavedObjects extends pulumi.dynamic.Resource {
  declare readonly objects: pulumi.Output<string[]>;
  /** Declared `type/id` -> `type/id` in Kibana (differs where Kibana gave a copy a new id). */
  declare readonly idMap: pulumi.Output<Record<string, string>>;
  declare readonly contentHash: pulumi.Output<string>;

  constructor(name: string, args: KibanaSavedObjectsArgs, opts?: pulumi.CustomResourceOptions) {
    super(savedObjectsProvider, name, {
      connection: pulumi.secret(args.connection),
      ndjson: args.ndjson ?? buildImportNdjson(),
      namespace: args.namespace,
      objects: undefined,
      contentHash: undefined,
      versions: undefined,
      idMap: undefined,
    }, { ...opts, additionalSecretOutputs: ["connection"] }, "flowlogs", "kibana:SavedObjects");
  }
}
