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

const BASE64URL_VALUE = new Uint8Array(128);
for (const [i, c] of [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"].entries()) BASE64URL_VALUE[c.charCodeAt(0)] = i;

/**
 * A 30-bit number from a key's first five characters, for a full listing's set of blobs seen: a Set holds numbers
 * that small in place, 26-48 bytes a blob against 74-108 for the key strings (a 700,000-blob listing: about 35 MB
 * less of the image's 128 MB heap). Two keys share one about once in 2^30; then a deleted blob's entries are
 * forgotten a day later.
 */
export function blobKeyBucket(key: string): number {
  let bucket = 0;
  // Bit operations keep it a small integer, which a Set holds in place; arithmetic could make it a heap number.
  for (let i = 0; i < 5; i++) bucket = (bucket << 6) | BASE64URL_VALUE[key.charCodeAt(i) & 127]!;
  return bucket;
}
