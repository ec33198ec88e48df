// KibanaSavedObjects: imports the dashboard, visualizations, saved search and data view with
// `POST /api/saved_objects/_import?overwrite=true` once the Kibana version is known to accept them, reads them
// back with `_export` to detect drift, deletes them on destroy where the deployment offers a public delete
// (./savedObjectsApi.ts says why these calls). Kibana answers 200 even when an import fails, so the `success`
// flag and `errors` are checked.
import * as pulumi from "@pulumi/pulumi";
import { callKibana, checkConnection, Failure, KibanaConnection, UNKNOWN } from "./client";
import { sameConnection, sha256, spaceKey } from "./compare";
import { buildImportNdjson, objectKeysOf } from "./savedObjects";
import { deleteObjects, exportVersions, requireKibanaVersion } from "./savedObjectsApi";
import { knownForLookup, objectsTakenInSpace, takenObjectsMessage } from "./savedObjectsOwnership";

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
 * `rollBack`: on a failed import, delete what it newly created (a create must leave nothing behind). `own`: the
 * objects the resource's state has, the only ones already in the space it may overwrite (./savedObjectsOwnership.ts).
 */
async function importObjects(inputs: SavedObjectsInputs, rollBack: boolean, own: Set<string>): Promise<SavedObjectsOutputs> {
  const keys = objectKeysOf(inputs.ndjson);
  await requireKibanaVersion(inputs.connection, inputs.ndjson);
  const taken = await objectsTakenInSpace(inputs.connection, inputs.ndjson, own);
  if (taken.length) throw new Error(takenObjectsMessage(taken, inputs.namespace, inputs.connection, "nothing was imported or deleted"));
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

/** An update's own objects: what it declared and where Kibana put them. */
function ownObjects(olds: SavedObjectsOutputs): Set<string> {
  return new Set([...Object.keys(olds.idMap ?? {}), ...(olds.objects ?? [])]);
}

/**
 * At preview (and again at up) a new resource, or one whose ids change, is refused when another stack has its
 * objects. Kibana out of reach is a warning, not a failure: the import checks again before writing anything.
 */
async function takeOverFailures(olds: Partial<SavedObjectsInputs>, news: SavedObjectsInputs): Promise<Failure[]> {
  if (!knownForLookup(news.connection, news.ndjson)) return [];
  const own = new Set(typeof olds.ndjson === "string" && olds.ndjson !== UNKNOWN && spaceKey(olds.connection) === spaceKey(news.connection)
    ? objectKeysOf(olds.ndjson).map((key) => `${key.type}/${key.id}`) : []);
  try {
    const taken = await objectsTakenInSpace(news.connection, news.ndjson, own);
    return taken.length ? [{ property: "namespace", reason: takenObjectsMessage(taken, news.namespace, news.connection, "this stack stops before importing them") }] : [];
  } catch (error) {
    // Required here, not imported: a captured @pulumi/pulumi would carry the stack's config into the state.
    const { log }: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
    await log.warn(`Could not ask Kibana whether another stack already has these saved objects (${(error as Error).message}), so it was not checked here; ` +
      "`pulumi up` checks again before importing and stops, changing nothing, if one does.");
    return [];
  }
}

export const savedObjectsProvider: pulumi.dynamic.ResourceProvider<SavedObjectsInputs, SavedObjectsOutputs> = {
  async check(olds, news) {
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
    if (failures.length === 0) failures.push(...await takeOverFailures(olds ?? {}, news));
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces = spaceKey(olds.connection) !== spaceKey(news.connection) ? ["connection"] : [];
    const contentChanged = olds.contentHash !== sha256(news.ndjson);
    const connectionChanged = !sameConnection(olds.connection, news.connection);
    return { changes: replaces.length > 0 || contentChanged || connectionChanged, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const outs = await importObjects(inputs, true, new Set());
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
    const outs = await importObjects(news, false, ownObjects(olds));
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
