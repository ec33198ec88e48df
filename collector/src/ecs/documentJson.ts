// The ECS document of one flow tuple written straight as JSON text: exactly the UTF-8 of JSON.stringify(toFlowDocument(flow))
// (test/collector/ecs-document-json.test.ts compares the two over every fixture, the bench dataset and hostile
// strings): same keys, same order, same escaping. Building a nested object per tuple and stringifying it was most of
// the collector's CPU and garbage; here everything constant for a rule/group (resource, MAC, rule, ...) is serialized
// and encoded once per context, and the per-tuple part is written byte by byte into the bulk request's body
// (jsonBytes.ts), with no string per document. toFlowDocument stays the readable reference for what a document
// holds; any field added there must be added here too (the test fails until it is).
import type { ByteOut, FlowEnrichment } from "../model";
import type { Direction, FlowContext, FlowState, FlowTuple, ParsedFlow } from "../format/flow";
import { ADDRESS_CLASSES, addressClass, flowLocality, type AddressClass } from "./addressClass";
import { COMMUNITY_ID_VERSION, communityIdDigest } from "./communityId";
import type { AddressEnrichment } from "./enrichment";
import { ContentCache, keyField, recordFieldsKey, sameRecordFields } from "./contentCache";
import { putAscii, putBytes, putText, putWholeNumber, ScratchBytes } from "./jsonBytes";
import { flowEvent, resourceFields } from "./mapper";
import { threatJson } from "./threat";
import { transportName } from "./transport";
import { ECS_VERSION } from "./version";

const json = JSON.stringify as (value: unknown) => string;
const utf8 = (text: string): Buffer => Buffer.from(text, "utf8");

interface ContextJson {
  /** From `,"cloud"` to the flowlog version, inclusive. */
  middle: Buffer;
  /** From the flowlog fields after state/encryption to the end of the document. */
  tail: Buffer;
  /** relatedToEncryption's pieces of this context, by the index it computes, made when first needed. */
  relatedPieces: Array<Buffer | undefined>;
}

// Tuples of one group come one after another: the last context answers before the content cache is asked.
let lastContext: FlowContext | undefined;
let lastParts: ContextJson | undefined;
const partsByContent = new ContentCache<ContextJson>();

function contextJson(context: FlowContext): ContextJson {
  if (context === lastContext) return lastParts!;
  lastParts = partsByContent.get(contentKey(context), () => newContextJson(context));
  lastContext = context;
  return lastParts;
}

// The record-level fields of the last context keyed, under a number of their own: a key per group is then that number
// and the group's fields, short, and a record's content is keyed (built and hashed) once, not once per group. Numbers
// are never reused, so a key made before recordIds started over cannot name other content.
let recordOf: FlowContext | undefined;
let recordId = 0;
let lastRecordId = 0;
const recordIds = new ContentCache<number>();

/** Everything the parts depend on. */
function contentKey(context: FlowContext): string {
  if (recordOf === undefined || !sameRecordFields(recordOf, context)) {
    recordId = recordIds.get(recordFieldsKey(context), () => ++lastRecordId);
    recordOf = context;
  }
  return `${recordId}|${keyField(context.aclId)}${keyField(context.rule)}`;
}

function newContextJson(context: FlowContext): ContextJson {
  const resource = resourceFields(context);
  const cloud = resource.accountId !== undefined ? { provider: "azure", account: { id: resource.accountId } } : { provider: "azure" };
  let tail = "";
  if (context.mac !== undefined) tail += `,"mac":${json(context.mac)}`;
  if (context.aclId !== undefined) tail += `,"acl_id":${json(context.aclId)}`;
  if (context.flowLogId !== undefined) tail += `,"id":${json(context.flowLogId)}`;
  if (context.flowLogGuid !== undefined) tail += `,"guid":${json(context.flowLogGuid)}`;
  tail += "}";
  if (resource.resource !== undefined) tail += `,"resource":${json({ ...resource.resource })}`;
  tail += "}";
  if (context.rule !== undefined) tail += `,"rule":${json({ name: context.rule })}`;
  tail += "}";
  // JSON.stringify escapes lone surrogates, so its text is well-formed UTF-16 and its UTF-8 decodes back to it.
  return { middle: utf8(`,"cloud":${json(cloud)},"azure":{"flowlog":{"version":${json(context.version)}`), tail: utf8(tail), relatedPieces: [] };
}

// `","ecs":...,"event":{...},"source":{"ip":"` for each decision and state, written once from the same object the
// mapper builds.
const STATES: Array<FlowState | undefined> = [undefined, "begin", "continuing", "end", "deny"];
const STATE_INDEX: Record<FlowState, number> = { begin: 1, continuing: 2, end: 3, deny: 4 };
const eventIndex = (denied: boolean, state: FlowState | undefined): number => (denied ? 5 : 0) + (state === undefined ? 0 : STATE_INDEX[state]);
const eventJsons: Buffer[] = [];
for (const denied of [false, true]) {
  for (const state of STATES) {
    eventJsons[eventIndex(denied, state)] = utf8(`","ecs":${json({ version: ECS_VERSION })},"event":${json(flowEvent(denied, state))},"source":{"ip":"`);
  }
}

// `},"network":{"transport":...,"iana_number":...,"direction":"inbound"` and, when the flow has one, the head of its
// Community ID (`,"community_id":"1:`): one piece per protocol number (0-255), direction and whether there is an id,
// made when first needed. Joined pieces are fewer copies per document (each costs about as much as a short loop).
const networkPieces: Array<Buffer | undefined> = [];

function networkPiece(ianaNumber: number, direction: Direction, withCommunityId: boolean): Buffer {
  const index = ianaNumber * 4 + (direction === "inbound" ? 0 : 2) + (withCommunityId ? 1 : 0);
  let piece = networkPieces[index];
  if (piece === undefined) {
    const transport = transportName(ianaNumber);
    const iana_number = String(ianaNumber);
    const fields = json(transport ? { transport, iana_number } : { iana_number });
    const communityHead = withCommunityId ? `,"community_id":"${COMMUNITY_ID_VERSION}` : "";
    networkPieces[index] = piece = utf8(`},"network":${fields.slice(0, -1)},"direction":"${direction}"${communityHead}`);
  }
  return piece;
}

// `,"source_address_class":…,"locality":…` for each pair of classes, written once: one constant piece per tuple.
const addressClassJsons = {} as Record<AddressClass, Record<AddressClass, Buffer>>;
for (const source of ADDRESS_CLASSES) {
  const row = {} as Record<AddressClass, Buffer>;
  for (const destination of ADDRESS_CLASSES) {
    row[destination] = utf8(`,"source_address_class":"${source}","destination_address_class":"${destination}","locality":"${flowLocality(source, destination)}"`);
  }
  addressClassJsons[source] = row;
}

const PORT = utf8('","port":');
const PACKETS = utf8(',"packets":');
const BYTES = utf8(',"bytes":');
const DESTINATION_HEAD = utf8('},"destination":{"ip":"');
const RELATED_HEAD = utf8('},"related":{"ip":["');
const RELATED_NEXT = utf8('","');

/**
 * From the end of `related` to the head of the encryption word (or to where the tail starts when there is none):
 * `"]}`, the context's middle, the address classes and locality, the state. One piece per context, class pair, state
 * and whether there is an encryption word, made when first needed.
 */
function relatedToEncryption(
  parts: ContextJson, sourceClass: AddressClass, destinationClass: AddressClass, state: FlowState | undefined, encrypted: boolean,
): Buffer {
  const stateIndex = state === undefined ? 0 : STATE_INDEX[state];
  const index = ((CLASS_INDEX[sourceClass] * 3 + CLASS_INDEX[destinationClass]) * STATES.length + stateIndex) * 2 + (encrypted ? 1 : 0);
  let piece = parts.relatedPieces[index];
  if (piece === undefined) {
    const stateText = state === undefined ? "" : `,"state":"${state}"`;
    piece = Buffer.concat([utf8('"]}'), parts.middle, addressClassJsons[sourceClass][destinationClass], utf8(stateText), utf8(encrypted ? ',"encryption":"' : "")]);
    parts.relatedPieces[index] = piece;
  }
  return piece;
}

const CLASS_INDEX: Record<AddressClass, number> = { private: 0, azure_platform: 1, public: 2 };
const QUOTE = 0x22;
const CLOSE_BRACE = 0x7d;

/**
 * Bytes a document may need beyond its variable-length pieces (context parts, enrichment answers, addresses, threat
 * text, encryption word): the longest fixed pieces, plus 512 for the short constants, numbers, time and Community ID.
 */
const FIXED_MAX_BYTES = 512 + Math.max(...eventJsons.map((piece) => piece.length)) +
  Math.max(...ADDRESS_CLASSES.flatMap((source) => ADDRESS_CLASSES.map((destination) => addressClassJsons[source][destination].length))) + 128;

// `{"@timestamp":"YYYY-MM-DDTHH:MM:SS` of the last second seen, as bytes (tuples come in time order, so toISOString
// runs once a minute and the piece is made once a second), then ".mmmZ" digit by digit.
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
let cachedMinute = NaN;
let cachedMinuteText = "";
let cachedSecond = NaN;
let cachedSecondHead: Buffer = utf8("");

/** Writes `{"@timestamp":"` and the time `ms` as toISOString writes it; returns the end. */
function putTimestampHead(out: Uint8Array, at: number, ms: number): number {
  const millis = ms % 1000;
  const second = ms - millis;
  if (second !== cachedSecond) {
    const secondOfMinute = second % 60_000;
    const minute = second - secondOfMinute;
    if (minute !== cachedMinute) {
      cachedMinuteText = new Date(minute).toISOString().slice(0, 17);
      cachedMinute = minute;
    }
    cachedSecondHead = utf8(`{"@timestamp":"${cachedMinuteText}${TWO_DIGITS[secondOfMinute / 1000]!}`);
    cachedSecond = second;
  }
  at = putBytes(out, at, cachedSecondHead);
  const hundreds = (millis / 100) | 0;
  const rest = millis - hundreds * 100;
  const tens = (rest / 10) | 0;
  out[at] = 0x2e; // .
  out[at + 1] = 48 + hundreds;
  out[at + 2] = 48 + tens;
  out[at + 3] = 48 + rest - tens * 10;
  out[at + 4] = 0x5a; // Z
  return at + 5;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * What a document's text takes from the enrichment, looked up when its tuple is parsed: a lookup that fails then
 * fails the record's parse (a try of the job, never taken for a sink failure), and a threat list reloaded before the
 * document is written does not change it.
 */
export interface EnrichmentParts {
  /** The source's `,"geo":…,"as":…` as UTF-8 (empty when none). */
  sourceAnswer: Uint8Array;
  destinationAnswer: Uint8Array;
  /** `,"threat":{…}` or "". */
  threat: string;
}

/**
 * Looks the parts of `tuple`'s document up into `target`: the parser's documents keep them as fields of their own
 * (no object per tuple), flowDocumentJson in a fresh object.
 */
export function lookUpEnrichmentParts(target: EnrichmentParts, tuple: FlowTuple, enrichment: FlowEnrichment | undefined): void {
  target.sourceAnswer = endpointAnswer(enrichment?.addresses, tuple.sourceIp, tuple.sourceIpv4);
  target.destinationAnswer = endpointAnswer(enrichment?.addresses, tuple.destinationIp, tuple.destinationIpv4);
  target.threat = enrichment?.threats ? threatJson(tuple, enrichment.threats) : "";
}

/** An endpoint's geo/AS answer as UTF-8: only public addresses are looked up. */
function endpointAnswer(addresses: AddressEnrichment | undefined, ip: string, ipv4: number | undefined): Uint8Array {
  return addresses && addressClass(ip, ipv4) === "public" ? addresses.lookupBytes(ip) : NO_BYTES;
}

/** The parts of a document without enrichment. */
export const NO_ENRICHMENT: EnrichmentParts = Object.freeze({ sourceAnswer: NO_BYTES, destinationAnswer: NO_BYTES, threat: "" });

/** Writes JSON.stringify(toFlowDocument(flow, enrichment)) as UTF-8 at `out.at`, without the object or a string. */
export function writeFlowDocument(out: ByteOut, flow: ParsedFlow, parts: EnrichmentParts): void {
  const { context, tuple } = flow;
  const { packetsSent, bytesSent, packetsReceived, bytesReceived } = tuple.counters;
  const contextParts = contextJson(context);
  const { middle, tail } = contextParts;
  // Addresses the parser accepted (node:net's isIP: hex digits, dots, colons, a zone of [0-9A-Za-z.:-]), an
  // encryption word it accepted ([A-Za-z0-9_]), a base64 Community ID and the state names are ASCII with nothing
  // JSON escapes: written between quotes as they are.
  const { sourceIp, destinationIp, encryption, state } = tuple;
  const sourceClass = addressClass(sourceIp, tuple.sourceIpv4);
  const destinationClass = addressClass(destinationIp, tuple.destinationIpv4);
  const { sourceAnswer, destinationAnswer, threat } = parts;
  out.reserve(FIXED_MAX_BYTES + middle.length + tail.length + 2 * (sourceIp.length + destinationIp.length) +
    sourceAnswer.length + destinationAnswer.length + 3 * threat.length + (encryption?.length ?? 0));
  const bytes = out.bytes;
  let at = putTimestampHead(bytes, out.at, tuple.timestampMs);
  at = putBytes(bytes, at, eventJsons[eventIndex(tuple.decision === "denied", state)]!);
  at = putAscii(bytes, at, sourceIp);
  at = putWholeNumber(bytes, putBytes(bytes, at, PORT), tuple.sourcePort);
  if (packetsSent !== undefined) at = putWholeNumber(bytes, putBytes(bytes, at, PACKETS), packetsSent);
  if (bytesSent !== undefined) at = putWholeNumber(bytes, putBytes(bytes, at, BYTES), bytesSent);
  at = putBytes(bytes, at, sourceAnswer);
  at = putAscii(bytes, putBytes(bytes, at, DESTINATION_HEAD), destinationIp);
  at = putWholeNumber(bytes, putBytes(bytes, at, PORT), tuple.destinationPort);
  if (packetsReceived !== undefined) at = putWholeNumber(bytes, putBytes(bytes, at, PACKETS), packetsReceived);
  if (bytesReceived !== undefined) at = putWholeNumber(bytes, putBytes(bytes, at, BYTES), bytesReceived);
  at = putBytes(bytes, at, destinationAnswer);
  const community = communityIdDigest(tuple);
  at = putBytes(bytes, at, networkPiece(tuple.ianaNumber, tuple.direction, community !== undefined));
  if (community !== undefined) {
    at = putAscii(bytes, at, community);
    bytes[at++] = QUOTE;
  }
  if (packetsSent !== undefined && packetsReceived !== undefined) at = putWholeNumber(bytes, putBytes(bytes, at, PACKETS), packetsSent + packetsReceived);
  if (bytesSent !== undefined && bytesReceived !== undefined) at = putWholeNumber(bytes, putBytes(bytes, at, BYTES), bytesSent + bytesReceived);
  at = putAscii(bytes, putBytes(bytes, at, RELATED_HEAD), sourceIp);
  if (sourceIp !== destinationIp) at = putAscii(bytes, putBytes(bytes, at, RELATED_NEXT), destinationIp);
  at = putBytes(bytes, at, relatedToEncryption(contextParts, sourceClass, destinationClass, state, encryption !== undefined));
  if (encryption !== undefined) {
    at = putAscii(bytes, at, encryption);
    bytes[at++] = QUOTE;
  }
  if (threat === "") {
    at = putBytes(bytes, at, tail);
  } else { // the threat object is the document's last key
    at = putBytes(bytes, at, tail.subarray(0, -1));
    at = putText(bytes, at, threat);
    bytes[at++] = CLOSE_BRACE;
  }
  out.at = at;
}

const scratch = new ScratchBytes();

/** JSON.stringify(toFlowDocument(flow, enrichment)), written without the object. */
export function flowDocumentJson(flow: ParsedFlow, enrichment?: FlowEnrichment): string {
  if (!enrichment) return flowDocumentText(flow, NO_ENRICHMENT);
  const parts: EnrichmentParts = { ...NO_ENRICHMENT };
  lookUpEnrichmentParts(parts, flow.tuple, enrichment);
  return flowDocumentText(flow, parts);
}

/** writeFlowDocument's bytes as a string (for sinks that send text). */
export function flowDocumentText(flow: ParsedFlow, parts: EnrichmentParts): string {
  scratch.at = 0;
  writeFlowDocument(scratch, flow, parts);
  return scratch.take();
}
