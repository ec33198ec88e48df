// Keys of the scheduler's per-blob state (caught-up ETags, job sizes, pending blobs, a full listing's blobs seen),
// which holds an entry for every blob of retention: 2,160 per NIC at 90 days. A flow-log blob's name is about 230
// characters, and a substring of a listing keeps the whole listing page alive; under the image's 128 MB heap that
// ran out of memory at about 300,000 checkpoints. A 27-character digest of `<container>/<name>` and an own copy of
// each ETag are what is kept instead: about 120 bytes per blob against 360-410 (test/collector/caughtUpMemory.test.ts).
import { hash } from "node:crypto";

/** The key of blob `path` (`<container>/<name>`): base64url of its SHA-1, as collision-free as the names. */
export function blobKey(path: string): string {
  return hash("sha1", path, "base64url");
}

/** The key of a listed blob (blobKey of `<container>/<name>`). */
export function blobRefKey(ref: { container: string; name: string }): string {
  return blobKey(`${ref.container}/${ref.name}`);
}

/** `text` as a string of its own: a substring would keep the string it was cut from (a listing page) alive. */
export function ownCopy(text: string): string {
  return Buffer.from(text, "utf8").toString("utf8");
}
