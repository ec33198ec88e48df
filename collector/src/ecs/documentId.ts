// Deterministic document ids. The same tuple read again (from any byte offset, any blob copy, any position in
// the records array) gets the same id, so `create` turns a re-read into a 409 instead of a duplicate; distinct
// tuples get distinct ids.
//
// Recipe ("flowlogs-id/1"): sha256 over the UTF-8 text
//   JSON(["flowlogs-id/1", family, version, lower(resourceId), lower(flowLogId), upper(mac), recordTime, aclId, rule])
//   + JSON([indexInGroup, tupleText])
// with absent values as "", keeping the first 20 bytes of the digest, base64url-encoded (27 characters).
// resourceId is NSG `resourceId` / VNet `targetResourceID`; flowLogId is VNet `flowLogResourceID`; mac is the NIC
// MAC the tuple is filed under; indexInGroup is the tuple's position in its own flowTuples array. JSON keeps the
// fields unambiguous (no value can forge a separator). Blob name, byte offset and record position are left out on
// purpose, so re-reading from anywhere yields the same ids.
import { createHash, type Hash } from "node:crypto";
import type { FlowContext, ParsedFlow } from "../format/flow";

export const ID_RECIPE = "flowlogs-id/1";

// All tuples of one rule/group share a context object: hash its part once and copy the hash state per tuple.
const contextHashes = new WeakMap<FlowContext, Hash>();

function contextHash(context: FlowContext): Hash {
  let hash = contextHashes.get(context);
  if (!hash) {
    hash = createHash("sha256").update(JSON.stringify([
      ID_RECIPE,
      context.family,
      context.version,
      (context.resourceId ?? "").toLowerCase(),
      (context.flowLogId ?? "").toLowerCase(),
      (context.mac ?? "").toUpperCase(),
      context.recordTime ?? "",
      context.aclId ?? "",
      context.rule ?? "",
    ]));
    contextHashes.set(context, hash);
  }
  return hash;
}

export function documentId(flow: ParsedFlow): string {
  return contextHash(flow.context)
    .copy()
    .update(JSON.stringify([flow.indexInGroup, flow.text]))
    .digest()
    .subarray(0, 20)
    .toString("base64url");
}
