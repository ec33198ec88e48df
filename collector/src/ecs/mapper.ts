// Maps one parsed flow tuple to its ECS document (the FlowDocument contract in ../model). Fields the flow log does
// not carry are omitted, never invented.
import type { FlowDocument, FlowEnrichment } from "../model";
import type { FlowContext, FlowCounters, FlowState, ParsedFlow } from "../format/flow";
import { addressClass, flowLocality } from "./addressClass";
import { communityId } from "./communityId";
import type { AddressEnrichment } from "./enrichment";
import { parseResourceId } from "./resourceId";
import { threatFields } from "./threat";
import { transportName } from "./transport";
import { ECS_VERSION } from "./version";

/** `enrichment`: geo/AS of public endpoints and the threat list; without it documents carry neither. */
export function toFlowDocument(flow: ParsedFlow, enrichment?: FlowEnrichment): FlowDocument {
  const { context, tuple } = flow;

  const transport = transportName(tuple.ianaNumber);
  const ianaNumber = String(tuple.ianaNumber);
  const network: FlowDocument["network"] = transport
    ? { transport, iana_number: ianaNumber, direction: tuple.direction }
    : { iana_number: ianaNumber, direction: tuple.direction };
  const community = communityId(tuple);
  if (community) network.community_id = community;
  const sourceClass = addressClass(tuple.sourceIp, tuple.sourceIpv4);
  const destinationClass = addressClass(tuple.destinationIp, tuple.destinationIpv4);

  const doc: FlowDocument = {
    "@timestamp": new Date(tuple.timestampMs).toISOString(),
    ecs: { version: ECS_VERSION },
    event: flowEvent(tuple.decision === "denied", tuple.state),
    source: { ip: tuple.sourceIp, port: tuple.sourcePort },
    destination: { ip: tuple.destinationIp, port: tuple.destinationPort },
    network,
    related: { ip: tuple.sourceIp === tuple.destinationIp ? [tuple.sourceIp] : [tuple.sourceIp, tuple.destinationIp] },
    cloud: { provider: "azure" },
    azure: {
      flowlog: {
        version: context.version,
        source_address_class: sourceClass,
        destination_address_class: destinationClass,
        locality: flowLocality(sourceClass, destinationClass),
      },
    },
  };
  addCounters(doc, tuple.counters);
  const addresses = enrichment?.addresses;
  if (addresses) {
    if (sourceClass === "public") enrich(doc.source, addresses);
    if (destinationClass === "public") enrich(doc.destination, addresses);
  }

  if (context.rule !== undefined) doc.rule = { name: context.rule };
  const resource = resourceFields(context);
  if (resource.accountId !== undefined) doc.cloud.account = { id: resource.accountId };
  if (resource.resource !== undefined) doc.azure.resource = { ...resource.resource };

  const flowlog = doc.azure.flowlog;
  if (tuple.state !== undefined) flowlog.state = tuple.state;
  if (tuple.encryption !== undefined) flowlog.encryption = tuple.encryption;
  if (context.mac !== undefined) flowlog.mac = context.mac;
  if (context.aclId !== undefined) flowlog.acl_id = context.aclId;
  if (context.flowLogId !== undefined) flowlog.id = context.flowLogId;
  if (context.flowLogGuid !== undefined) flowlog.guid = context.flowLogGuid;
  const threat = enrichment?.threats && threatFields(tuple, enrichment.threats);
  if (threat) doc.threat = threat;
  return doc;
}

/** The `event` object of a tuple with this decision and state (documentJson.ts serializes each one once). */
export function flowEvent(denied: boolean, state: FlowState | undefined): FlowDocument["event"] {
  const type = ["connection", denied ? "denied" : "allowed"];
  if (state === "begin") type.push("start");
  else if (state === "end") type.push("end");
  return {
    kind: "event",
    category: ["network"],
    dataset: "azure.flowlogs",
    type,
    action: denied ? "denied" : "allowed",
    outcome: denied ? "failure" : "success",
  };
}

export interface ResourceFields {
  accountId?: string;
  resource?: NonNullable<FlowDocument["azure"]["resource"]>;
}

// Every tuple of a rule/group shares one context object, so its resource id is split once, not once per tuple.
const resourceCache = new WeakMap<FlowContext, ResourceFields>();

export function resourceFields(context: FlowContext): ResourceFields {
  let fields = resourceCache.get(context);
  if (fields) return fields;
  fields = {};
  if (context.resourceId !== undefined) {
    const parts = parseResourceId(context.resourceId);
    fields.resource = { id: context.resourceId };
    if (parts.name) fields.resource.name = parts.name;
    if (parts.group) fields.resource.group = parts.group;
    if (parts.subscriptionId) fields.accountId = parts.subscriptionId.toLowerCase();
  }
  if (fields.accountId === undefined && context.flowLogId !== undefined) {
    // VNet records without targetResourceID still name the subscription in flowLogResourceID.
    const subscriptionId = parseResourceId(context.flowLogId).subscriptionId;
    if (subscriptionId) fields.accountId = subscriptionId.toLowerCase();
  }
  resourceCache.set(context, fields);
  return fields;
}

// After the counters, so the keys come in the order documentJson writes them.
function enrich(endpoint: FlowDocument["source"], enrichment: AddressEnrichment): void {
  const fields = enrichment.lookup(endpoint.ip);
  if (fields?.geo) endpoint.geo = fields.geo;
  if (fields?.as) endpoint.as = fields.as;
}

// "sent" is source -> destination and "received" destination -> source (Microsoft's field descriptions).
function addCounters(doc: FlowDocument, counters: FlowCounters): void {
  const { packetsSent, bytesSent, packetsReceived, bytesReceived } = counters;
  if (packetsSent !== undefined) doc.source.packets = packetsSent;
  if (bytesSent !== undefined) doc.source.bytes = bytesSent;
  if (packetsReceived !== undefined) doc.destination.packets = packetsReceived;
  if (bytesReceived !== undefined) doc.destination.bytes = bytesReceived;
  if (packetsSent !== undefined && packetsReceived !== undefined) doc.network.packets = packetsSent + packetsReceived;
  if (bytesSent !== undefined && bytesReceived !== undefined) doc.network.bytes = bytesSent + bytesReceived;
}
