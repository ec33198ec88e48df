// The saved-objects calls besides `_import`, chosen to work on every Kibana this project supports, including
// Elastic Cloud Serverless, where the per-object GET/DELETE routes are internal (elastic/kibana
// src/core/packages/saved-objects/server-internal/src/routes/index.ts registers them with `access: 'internal'` on
// Serverless; an external call answers 400 "... exists but is not available with the current configuration"):
// - the Kibana version check before importing (`GET /api/status`, public everywhere);
// - read-back through `POST /api/saved_objects/_export` with an object list (public everywhere);
// - delete through the per-object DELETE where the deployment serves it; where it does not, there is no public
//   delete, so the objects are left and a warning names them.
import { callKibana, KibanaConnection, KibanaError } from "./client";

/**
 * The Lens and dashboard objects carry typeMigrationVersion 8.9.0; an older Kibana refuses them with
 * "Document ... belongs to a more recent version of Kibana [8.9.0] ..." (elastic/kibana
 * src/core/packages/saved-objects/migration-server-internal/src/document_migrator, assertCompatibility).
 */
export const MIN_KIBANA_VERSION = "8.9.0";

export interface ObjectKey { type: string; id: string }

export function splitKey(key: string): ObjectKey {
  const slash = key.indexOf("/");
  return { type: key.slice(0, slash), id: key.slice(slash + 1) };
}

function objectPath(key: ObjectKey): string {
  return `/api/saved_objects/${encodeURIComponent(key.type)}/${encodeURIComponent(key.id)}`;
}

function parseVersion(version: string): number[] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match ? match.slice(1).map(Number) : undefined;
}

export function compareVersions(a: string, b: string): number {
  const [pa, pb] = [parseVersion(a) ?? [0, 0, 0], parseVersion(b) ?? [0, 0, 0]];
  for (let i = 0; i < 3; i += 1) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/**
 * The Kibana version these objects need: the newest typeMigrationVersion in the file, and at least
 * MIN_KIBANA_VERSION. `10.N.0` values are model versions (virtual), not Kibana releases: they are not ranked.
 */
export function neededKibanaVersion(ndjson: string): string {
  let needed = MIN_KIBANA_VERSION;
  for (const line of ndjson.split("\n")) {
    if (!line.trim()) continue;
    const version = (JSON.parse(line) as { typeMigrationVersion?: unknown }).typeMigrationVersion;
    if (typeof version === "string" && (parseVersion(version)?.[0] ?? 10) < 10 && compareVersions(version, needed) > 0) needed = version;
  }
  return needed;
}

/** Refuses, before anything is imported, a Kibana too old for the objects (Kibana would refuse them one by one). */
export async function requireKibanaVersion(connection: KibanaConnection, ndjson: string): Promise<void> {
  // 503 still carries the version (Kibana answers it while degraded).
  const answer = await callKibana(connection, { method: "GET", path: "/api/status", accept: [503] });
  const found = answer.body?.version?.number;
  if (typeof found !== "string" || !parseVersion(found)) {
    throw new Error("GET /api/status did not report Kibana's version (Kibana redacts it for unauthenticated calls): check the connection credentials");
  }
  const needed = neededKibanaVersion(ndjson);
  if (compareVersions(found, needed) < 0) {
    throw new Error(`Kibana ${found} is older than ${needed}, the version these saved objects need: Kibana would refuse them with ` +
      `"Document ... belongs to a more recent version of Kibana [${needed}]". Upgrade Kibana to ${needed} or newer (see dashboards/kibana/README.md).`);
  }
}

/** Kibana's `version` of each object that exists, and the objects that do not, read with one `_export`. */
export async function exportVersions(connection: KibanaConnection, keys: string[]): Promise<{ versions: Record<string, string>; missing: string[] }> {
  if (keys.length === 0) return { versions: {}, missing: [] };
  const answer = await callKibana(connection, {
    method: "POST",
    path: "/api/saved_objects/_export",
    json: { objects: keys.map(splitKey), includeReferencesDeep: false, excludeExportDetails: true },
    accept: [400],
  });
  if (answer.status === 400) {
    // One unreadable object fails the whole export, naming each such object (saved_objects_exporter.ts, fetchByObjects).
    const failed: any[] = Array.isArray(answer.body?.attributes?.objects) ? answer.body.attributes.objects : [];
    const notFound = failed.filter((o) => o?.error?.statusCode === 404).map((o) => `${o.type}/${o.id}`);
    if (failed.length === 0 || notFound.length !== failed.length) {
      throw new KibanaError(`POST /api/saved_objects/_export failed with HTTP 400: ${answer.body?.message ?? JSON.stringify(answer.body).slice(0, 500)}` +
        (failed.length ? ` (${failed.map((o) => `${o?.type}/${o?.id}: ${o?.error?.message ?? "error"}`).join(", ")})` : ""), 400);
    }
    const rest = await exportVersions(connection, keys.filter((key) => !notFound.includes(key)));
    return { versions: rest.versions, missing: [...notFound, ...rest.missing] };
  }
  // NDJSON; a single line arrives already parsed.
  const lines = typeof answer.body === "string" ? answer.body.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)) : [answer.body];
  const versions: Record<string, string> = {};
  for (const object of lines) {
    if (object && typeof object.type === "string" && typeof object.id === "string") versions[`${object.type}/${object.id}`] = String(object.version ?? "");
  }
  return { versions, missing: keys.filter((key) => !(key in versions)) };
}

/** Kibana's 400 for a route that is internal on this deployment (Serverless). */
export const INTERNAL_ROUTE = /exists but is not available with the current configuration/;

/** Deletes in reverse import order (the dashboard before what it shows); returns what could not be deleted. */
export async function deleteObjects(connection: KibanaConnection, keys: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const key of [...keys].reverse()) {
    try {
      await callKibana(connection, { method: "DELETE", path: objectPath(splitKey(key)), accept: [404] });
    } catch (error) {
      if (error instanceof KibanaError && error.status === 400 && INTERNAL_ROUTE.test(error.message)) {
        left.push(key);
        continue;
      }
      if (error instanceof KibanaError && error.status === 400 && /multiple namespaces/.test(error.message)) {
        // Someone shared it to other spaces; deleting it everywhere (`force`) is their call, not ours.
        throw new Error(`${error.message}\n${key} was shared to other spaces after import: unshare it in Stack Management > Saved objects, or delete it there, then retry`);
      }
      throw error;
    }
  }
  if (left.length) {
    // Required here, not imported: the dynamic provider's code is serialized with what it captures, and a captured
    // @pulumi/pulumi module carries the stack's config (secrets included) into the state in plain text.
    const { log }: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
    await log.warn(`This Kibana (e.g. Elastic Cloud Serverless) has no public API to delete saved objects, so these were left in place: ` +
      `${left.join(", ")}. Delete them in Stack Management > Saved objects if they are no longer wanted.`);
  }
  return left;
}
