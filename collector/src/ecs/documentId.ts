// Deterministic document ids. The same tuple read again (from any byte offset, any blob copy, any position in
// the records array) gets the same id, so `create` turns a re-read into a 409 instead of a duplicate; distinct
// tuples get distinct ids.
//
// Recipe ("flowlogs-id/2"): base64url (22 characters) of 16 bytes: the tuple's time in epoch milliseconds as a
// 6-byte big-endian number (NSG seconds scaled up), then the first 10 bytes of sha256 over the UTF-8 text
//   JSON(["flowlogs-id/2", family, version, lower(resourceId), lower(flowLogId), upper(mac), recordTime, aclId, rule])
//   + JSON([indexInGroup, tupleText])
// with absent values as "". Leading with time, as Elasticsearch's own ids do, lets ids of flows stored together
// share prefixes: 26 bytes per document on disk instead of the 45 a random 20-byte id costs (logsdb, measured in
// dashboards/elasticsearch/README.md). 80 hash bits within one millisecond keep distinct tuples apart.
// resourceId is NSG `resourceId` / VNet `targetResourceID`; flowLogId is VNet `flowLogResourceID`; mac is the NIC
// MAC the tuple is filed under; indexInGroup is the tuple's position in its own flowTuples array. JSON keeps the
// fields unambiguous (no value can forge a separator). Blob name, byte offset and record position are left out on
// purpose, so re-reading from anywhere yields the same ids.
import { hash } from "node:crypto";
import type { FlowContext, ParsedFlow } from "../format/flow";
import { ContentCache, recordFieldsKey, sameRecordFields } from "./contentCache";
import { putAscii, putWholeNumber } from "./jsonBytes";

export const ID_RECIPE = "flowlogs-id/2";

// All tuples of one rule/group share a context object: its part of the text is built once (the last context answers
// for the tuples that follow it). Its head, up to the MAC, repeats in every record of a NIC: kept by content.
// JSON.stringify([a, b, ...]) is "[" + JSON(a) + "," + JSON(b) ... + "]", so the pieces join to it.
let lastContext: FlowContext | undefined;
let lastText = "";
const headsByContent = new ContentCache<string>();

function contextText(context: FlowContext): string {
  if (context === lastContext) return lastText;
  const json = JSON.stringify;
  lastText = `${contextHead(context)},${json(context.recordTime ?? "")},${json(context.aclId ?? "")},${json(context.rule ?? "")}]`;
  lastContext = context;
  return lastText;
}

// The head depends on record-level fields only: the last one answers while they stay the same (every group of a
// record, and the records of one blob), before a key is built.
let headOf: FlowContext | undefined;
let lastHead = "";

/** JSON([ID_RECIPE, family, version, lower(resourceId), lower(flowLogId), upper(mac)]) without its closing bracket. */
function contextHead(context: FlowContext): string {
  if (headOf !== undefined && sameRecordFields(headOf, context)) return lastHead;
  const { family, version, resourceId = "", flowLogId = "", mac = "" } = context;
  lastHead = headsByContent.get(recordFieldsKey(context), () =>
    JSON.stringify([ID_RECIPE, family, version, resourceId.toLowerCase(), flowLogId.toLowerCase(), mac.toUpperCase()]).slice(0, -1));
  headOf = context;
  return lastHead;
}

export function documentId(flow: ParsedFlow): string {
  return idOfDigest(flow.tuple.timestampMs, documentDigest(flow));
}

/** The base64url of the whole sha256 of `flow`'s hash input: what its id is made from (idOfDigest, writeIdOfDigest). */
export function documentDigest(flow: ParsedFlow): string {
  // One-shot hashing straight to text is about 3x cheaper per tuple than a Hash object plus a Buffer.
  // `[${index},"${text}"]` is JSON.stringify([index, text]) for the whole-number index and a tuple the parser accepted:
  // every field of one is digits, an address, a letter code or a [A-Za-z0-9_] word, so JSON has nothing to escape
  // and its UTF-8 is its characters.
  const input = hashInput(flow);
  return hash("sha256", input ?? `${contextText(flow.context)}[${flow.indexInGroup},"${flow.text}"]`, "base64url");
}

/** The id of a tuple of time `timestampMs` whose hash input has the digest `digest` (documentDigest). */
export function idOfDigest(timestampMs: number, digest: string): string {
  return timePrefix(timestampMs) + first10Bytes(digest);
}

/** Characters (and UTF-8 bytes) of every id of the recipe. */
export const DOCUMENT_ID_LENGTH = 22;

/**
 * Writes idOfDigest(timestampMs, digest) as bytes at `at` (base64url: ASCII, nothing JSON escapes); returns the end.
 * A bulk request's action line takes the id this way, with no id string made per document.
 */
export function writeIdOfDigest(out: Uint8Array, at: number, timestampMs: number, digest: string): number {
  const high = Math.floor(timestampMs / 0x1000000);
  const low = timestampMs % 0x1000000;
  for (let i = 0, shift = 18; i < 4; i++, shift -= 6) { // as timePrefix
    out[at + i] = BASE64URL_CODES[(high >>> shift) & 63]!;
    out[at + 4 + i] = BASE64URL_CODES[(low >>> shift) & 63]!;
  }
  for (let i = 0; i < 13; i++) out[at + 8 + i] = digest.charCodeAt(i);
  out[at + 21] = BASE64URL_CODES[BASE64URL_VALUES[digest.charCodeAt(13)]! & 0b110000]!;
  return at + DOCUMENT_ID_LENGTH;
}

// The hash input is written as UTF-8 into one buffer: the context's part (as contextText) once per context, then each
// tuple's `[index,"text"]` after it. Hashing a view of it spares the joined string per tuple, its flattening and its
// encoding (about 0.5 KB of garbage per document). Views of each length are made once.
const INPUT = Buffer.allocUnsafe(8192);
const inputViews: Uint8Array[] = [];
let inputContext: FlowContext | undefined;
let inputContextBytes = -1;

/** The hash input of `flow` as a view of INPUT, or undefined when it does not fit (then it is hashed as text). */
function hashInput(flow: ParsedFlow): Uint8Array | undefined {
  const { context, text } = flow;
  if (context !== inputContext) {
    const prefix = contextText(context);
    // Contexts are JSON (ASCII-escaped only where JSON escapes): at most 3 bytes per UTF-16 unit.
    inputContextBytes = 3 * prefix.length <= INPUT.length ? INPUT.write(prefix, 0, "utf8") : -1;
    inputContext = context;
  }
  if (inputContextBytes < 0 || inputContextBytes + text.length + 24 > INPUT.length) return undefined;
  let at = inputContextBytes;
  INPUT[at++] = 0x5b; // [
  at = putWholeNumber(INPUT, at, flow.indexInGroup);
  INPUT[at++] = 0x2c; // ,
  INPUT[at++] = 0x22; // "
  at += INPUT.write(text, at, "latin1"); // ASCII (above): its latin1 bytes are its UTF-8
  INPUT[at++] = 0x22;
  INPUT[at++] = 0x5d; // ]
  return (inputViews[at] ??= INPUT.subarray(0, at));
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * base64url of the time as 6 bytes big-endian: exactly 8 characters of 6 bits each, most significant first (the
 * parser allows at most 13 digits, < 2^48). Read straight off the number: no Buffer, one string.
 */
function timePrefix(ms: number): string {
  const high = Math.floor(ms / 0x1000000); // top 24 bits
  const low = ms % 0x1000000; // bottom 24 bits
  return String.fromCharCode(
    BASE64URL_CODES[(high >>> 18) & 63]!, BASE64URL_CODES[(high >>> 12) & 63]!, BASE64URL_CODES[(high >>> 6) & 63]!, BASE64URL_CODES[high & 63]!,
    BASE64URL_CODES[(low >>> 18) & 63]!, BASE64URL_CODES[(low >>> 12) & 63]!, BASE64URL_CODES[(low >>> 6) & 63]!, BASE64URL_CODES[low & 63]!,
  );
}

const BASE64URL_CODES = Uint8Array.from(BASE64URL, (c) => c.charCodeAt(0));
/** The 6-bit value of each base64url character, by character code. */
const BASE64URL_VALUES = new Uint8Array(128);
for (let i = 0; i < BASE64URL.length; i++) BASE64URL_VALUES[BASE64URL.charCodeAt(i)] = i;

/**
 * base64url of the first 10 bytes of a digest, from the base64url of the whole digest: 13 characters carry 78
 * bits; the 14th carries bits 78-79 followed by four zero bits, where the full text has bits 78-83.
 */
function first10Bytes(fullDigest: string): string {
  return fullDigest.slice(0, 13) + BASE64URL[BASE64URL.indexOf(fullDigest[13]) & 0b110000];
}
