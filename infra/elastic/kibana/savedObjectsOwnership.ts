// Which of the saved objects a stack is about to import another stack already has. Kibana records no owner on an
// imported object (`managed` only guards it from edits in the UI, `originId` is set only on a copy made for another
// space), so the one record of "this stack wrote it" is the stack's own state: an object with a declared id that is
// in the space but not in the resource's state was written by someone else, and `_import?overwrite=true` would take
// it over silently. Checked on create (a new stack, a new space) and on an update that declares new ids (a namespace
// change), at preview from `check` and again right before importing.
// Kibana's import overwrites not only an object with the same id but also a copy of it: an id another space already
// has is imported under a new id with `originId` set to it, and a later import of that id into the space finds the
// copy by `originId` and overwrites it (elastic/kibana import/lib/check_origin_conflicts.ts). So both are looked for.
import { callKibana, KibanaConnection, KibanaError, UNKNOWN } from "./client";
import { spaceKey } from "./compare";
import { objectKeysOf } from "./savedObjects";
import { exportVersions, INTERNAL_ROUTE, splitKey } from "./savedObjectsApi";
import { takenByAnotherStack } from "./ownership";

/**
 * Declared `type/id`s of `ndjson` that are not in `own` but exist in the connection's space, by id (`_export`,
 * public everywhere) or as a copy (`_find` on the root field originId; internal on Serverless, where only the ids
 * are checked).
 */
export async function objectsTakenInSpace(connection: KibanaConnection, ndjson: string, own: Set<string>): Promise<string[]> {
  const fresh = objectKeysOf(ndjson).map((key) => `${key.type}/${key.id}`).filter((key) => !own.has(key));
  const byId = Object.keys((await exportVersions(connection, fresh)).versions);
  return [...byId, ...await copiesInSpace(connection, fresh.filter((key) => !byId.includes(key)))];
}

/** `type/id (copy of type/originId)` of each object in the space whose originId is one of `keys`. */
async function copiesInSpace(connection: KibanaConnection, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  const idsByType = new Map<string, string[]>();
  for (const { type, id } of keys.map(splitKey)) idsByType.set(type, [...(idsByType.get(type) ?? []), id]);
  const query = new URLSearchParams({ per_page: "1000", fields: "title" });
  for (const type of idsByType.keys()) query.append("type", type);
  // Ids are quoted: KQL reads `-` and `:` otherwise.
  query.set("filter", [...idsByType].map(([type, ids]) => `${type}.originId:(${ids.map((id) => JSON.stringify(id)).join(" or ")})`).join(" or "));
  const answer = await callKibana(connection, { method: "GET", path: `/api/saved_objects/_find?${query}`, accept: [400] });
  if (answer.status === 400) {
    if (INTERNAL_ROUTE.test(String(answer.body?.message))) return [];
    throw new KibanaError(`GET /api/saved_objects/_find failed with HTTP 400: ${answer.body?.message ?? JSON.stringify(answer.body).slice(0, 500)}`, 400);
  }
  const found: any[] = Array.isArray(answer.body?.saved_objects) ? answer.body.saved_objects : [];
  return found.filter((o) => typeof o?.originId === "string").map((o) => `${o.type}/${o.id} (copy of ${o.type}/${o.originId})`);
}

/** The refusal: which objects, what was (not) done, whose they are and the fix. */
export function takenObjectsMessage(taken: string[], namespace: string | undefined, connection: KibanaConnection, outcome: string): string {
  const listed = taken.length > 3 ? `${taken.slice(0, 3).join(", ")} and ${taken.length - 3} more` : taken.join(", ");
  return `saved objects ${listed} already exist and this stack did not import them, so ${outcome}; ${takenByAnotherStack(namespace, spaceKey(connection))}`;
}

/** Whether every input the lookup needs is known (at preview a value computed by another resource is not). */
export function knownForLookup(connection: unknown, ndjson: unknown): connection is KibanaConnection {
  return typeof connection === "object" && connection !== null && typeof ndjson === "string" && !JSON.stringify(connection).includes(UNKNOWN) && !ndjson.includes(UNKNOWN);
}
