// The ECS document of one flow tuple written straight as JSON text: exactly the text JSON.stringify(toFlowDocument(flow))
// gives, same keys, same order, same escaping (test/collector/ecs-document-json.test.ts compares the two over every
// fixture, the bench dataset and hostile strings). Building a nested object per tuple and stringifying it was most
// of the collector's CPU and garbage; here everything constant for a rule/group (resource, MAC, rule, ...) is
// serialized once per context, and the per-tuple part is a handful of string pieces. toFlowDocument stays the
// readable reference for what a document holds; any field added there must be added here too (the test fails
// until it is).
import type { FlowEnrichment } from "../model";
import type { FlowContext, FlowState, ParsedFlow } from "../format/flow";
import { ADDRESS_CLASSES, addressClass, flowLocality, type AddressClass } from "./addressClass";
import { communityId } from "./communityId";
import { ContentCache, keyField } from "./contentCache";
import { flowEvent, resourceFields } from "./mapper";
import { threatJson } from "./threat";
import { transportName } from "./transport";
import { ECS_VERSION } from "./version";

const json = JSON.stringify as (value: unknown) => string;

interface ContextJson {
  /** From `,"cloud"` to the flowlog version, inclusive. */
  middle: string;
  /** From the flowlog fields after state/encryption to the end of the document. */
  tail: string;
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

/** Everything the parts depend on. */
function contentKey(context: FlowContext): string {
  const field = keyField;
  return `${context.family}${context.version}|${field(context.resourceId)}${field(context.mac)}${field(context.aclId)}` +
    `${field(context.flowLogId)}${field(context.flowLogGuid)}${field(context.rule)}`;
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
  return { middle: `,"cloud":${json(cloud)},"azure":{"flowlog":{"version":${json(context.version)}`, tail };
}

// `"ecs":...,"event":{...}` for each decision and state, written once from the same object the mapper builds.
const STATES: Array<FlowState | undefined> = [undefined, "begin", "continuing", "end", "deny"];
const STATE_INDEX: Record<FlowState, number> = { begin: 1, continuing: 2, end: 3, deny: 4 };
const eventIndex = (denied: boolean, state: FlowState | undefined): number => (denied ? 5 : 0) + (state === undefined ? 0 : STATE_INDEX[state]);
const eventJsons: string[] = [];
for (const denied of [false, true]) {
  for (const state of STATES) {
    eventJsons[eventIndex(denied, state)] = `","ecs":${json({ version: ECS_VERSION })},"event":${json(flowEvent(denied, state))},"source":{"ip":"`;
  }
}

// `"network":{"transport":...,"iana_number":...,"direction":"` per protocol number (0-255).
const networkHeads = new Map<number, string>();

function networkHead(ianaNumber: number): string {
  let head = networkHeads.get(ianaNumber);
  if (head === undefined) {
    const transport = transportName(ianaNumber);
    const iana_number = String(ianaNumber);
    const fields = json(transport ? { transport, iana_number } : { iana_number });
    networkHeads.set(ianaNumber, head = `,"network":${fields.slice(0, -1)},"direction":"`);
  }
  return head;
}

// `,"source_address_class":…,"locality":…` for each pair of classes, written once: one constant piece per tuple.
const addressClassJsons = {} as Record<AddressClass, Record<AddressClass, string>>;
for (const source of ADDRESS_CLASSES) {
  const row = {} as Record<AddressClass, string>;
  for (const destination of ADDRESS_CLASSES) {
    row[destination] = `,"source_address_class":"${source}","destination_address_class":"${destination}","locality":"${flowLocality(source, destination)}"`;
  }
  addressClassJsons[source] = row;
}

// "YYYY-MM-DDTHH:MM:SS" of the last second seen (tuples come in time order, so toISOString runs once a minute and a
// concatenation once a second), then ".mmmZ" from a table: one concatenation per tuple.
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
const MILLIS_Z = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, "0")}Z`);
let cachedMinute = NaN;
let cachedMinuteText = "";
let cachedSecond = NaN;
let cachedSecondText = "";

function isoTimestamp(ms: number): string {
  const millis = ms % 1000;
  const second = ms - millis;
  if (second !== cachedSecond) {
    const secondOfMinute = second % 60_000;
    const minute = second - secondOfMinute;
    if (minute !== cachedMinute) {
      cachedMinuteText = new Date(minute).toISOString().slice(0, 17);
      cachedMinute = minute;
    }
    cachedSecondText = cachedMinuteText + TWO_DIGITS[secondOfMinute / 1000]!;
    cachedSecond = second;
  }
  return cachedSecondText + MILLIS_Z[millis]!;
}

/** JSON.stringify(toFlowDocument(flow, enrichment)), written without the object. */
export function flowDocumentJson(flow: ParsedFlow, enrichment?: FlowEnrichment): string {
  const { context, tuple } = flow;
  const { packetsSent, bytesSent, packetsReceived, bytesReceived } = tuple.counters;
  const { middle, tail } = contextJson(context);
  // Addresses the parser accepted (node:net's isIP: hex digits, dots, colons, a zone of [0-9A-Za-z.:-]) and a base64
  // Community ID have nothing JSON escapes: written between quotes as they are.
  const { sourceIp, destinationIp } = tuple;
  const sourceClass = addressClass(tuple.sourceIp, tuple.sourceIpv4);
  const destinationClass = addressClass(tuple.destinationIp, tuple.destinationIpv4);
  const addresses = enrichment?.addresses;

  let text = `{"@timestamp":"${isoTimestamp(tuple.timestampMs)}${eventJsons[eventIndex(tuple.decision === "denied", tuple.state)]!}${sourceIp}","port":${tuple.sourcePort}`;
  if (packetsSent !== undefined) text += `,"packets":${packetsSent}`;
  if (bytesSent !== undefined) text += `,"bytes":${bytesSent}`;
  if (addresses && sourceClass === "public") text += addresses.lookupJson(sourceIp);
  text += `},"destination":{"ip":"${destinationIp}","port":${tuple.destinationPort}`;
  if (packetsReceived !== undefined) text += `,"packets":${packetsReceived}`;
  if (bytesReceived !== undefined) text += `,"bytes":${bytesReceived}`;
  if (addresses && destinationClass === "public") text += addresses.lookupJson(destinationIp);
  text += `}${networkHead(tuple.ianaNumber)}${tuple.direction}"`;
  const community = communityId(tuple);
  if (community) text += `,"community_id":"${community}"`;
  if (packetsSent !== undefined && packetsReceived !== undefined) text += `,"packets":${packetsSent + packetsReceived}`;
  if (bytesSent !== undefined && bytesReceived !== undefined) text += `,"bytes":${bytesSent + bytesReceived}`;
  text += sourceIp === destinationIp ? `},"related":{"ip":["${sourceIp}"]}` : `},"related":{"ip":["${sourceIp}","${destinationIp}"]}`;
  text += middle;
  text += addressClassJsons[sourceClass][destinationClass];
  if (tuple.state !== undefined) text += `,"state":"${tuple.state}"`;
  if (tuple.encryption !== undefined) text += `,"encryption":${json(tuple.encryption)}`;
  const threat = enrichment?.threats ? threatJson(tuple, enrichment.threats) : "";
  text += threat === "" ? tail : `${tail.slice(0, -1)}${threat}}`; // the threat object is the document's last key
  text.charCodeAt(0); // flattens the rope of pieces into one string: far less for the GC to trace while batches wait
  return text;
}
