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
import { hash } from "node:crypto";
import type { FlowContext, ParsedFlow } from "../format/flow";

export const ID_RECIPE = "flowlogs-id/1";

// All tuples of one rule/group share a context object: its part of the text is built once.
const contextTexts = new WeakMap<FlowContext, string>();

function contextText(context: FlowContext): string {
  let text = contextTexts.get(context);
  if (text === undefined) {
    text = JSON.stringify([
      ID_RECIPE,
      context.family,
      context.version,
      (context.resourceId ?? "").toLowerCase(),
      (context.flowLogId ?? "").toLowerCase(),
      (context.mac ?? "").toUpperCase(),
      context.recordTime ?? "",
      context.aclId ?? "",
      context.rule ?? "",
    ]);
    contextTexts.set(context, text);
  }
  return text;
}

export function documentId(flow: ParsedFlow): string {
  // One-shot hashing straight to text is about 3x cheaper per tuple than a Hash object plus a Buffer.
  const digest = hash("sha256", contextText(flow.context) + JSON.stringify([flow.indexInGroup, flow.text]), "base64url");
  return first20Bytes(digest);
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * base64url of the first 20 bytes of a digest, from the base64url of the whole digest: 26 characters carry 156
 * bits; the 27th carries bits 156-159 followed by two zero bits, where the full text has bits 156-161.
 */
function first20Bytes(fullDigest: string): string {
  return fullDigest.slice(0, 26) + BASE64URL[BASE64URL.indexOf(fullDigest[26]) & 0b111100];
}
