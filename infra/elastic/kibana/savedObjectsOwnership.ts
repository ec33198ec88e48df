// Which of the saved objects a stack is about to import another stack already has. Kibana records no owner on an
// imported object (`managed` only guards it from edits in the UI, `originId` is set only on a copy made for another
// space), so the one record of "this stack wrote it" is the stack's own state: an object with a declared id that is
// in the space but not in the resource's state was written by someone else, and `_import?overwrite=true` would take
// it over silently. Checked on create (a new stack, a new space) and on an update that declares new ids (a namespace
// change), at preview from `check` and again right before importing.
import { KibanaConnection, UNKNOWN } from "./client";
import { spaceKey } from "./compare";
import { objectKeysOf } from "./savedObjects";
import { exportVersions } from "./savedObjectsApi";
import { takenByAnotherStack } from "./ownership";

/** Declared `type/id`s of `ndjson` that are not in `own` but exist in the connection's space. */
export async function objectsTakenInSpace(connection: KibanaConnection, ndjson: string, own: Set<string>): Promise<string[]> {
  const fresh = objectKeysOf(ndjson).map((key) => `${key.type}/${key.id}`).filter((key) => !own.has(key));
  return Object.keys((await exportVersions(connection, fresh)).versions);
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
