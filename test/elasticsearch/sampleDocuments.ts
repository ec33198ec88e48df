// Flow documents for the index tests: one with every field of FlowDocument (checked by the compiler through
// DeepRequired, so a field added to model.ts breaks this file until the sample, and then the mapping, covers it)
// and one with only the required fields.
import type { FlowDocument, IdentifiedDocument } from "../../collector/src/model";
import { identifiedDocument } from "../../collector/src/ecs";

type DeepRequired<T> = T extends Array<infer U> ? Array<DeepRequired<U>>
  : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

function sampleGeo(country: string): DeepRequired<NonNullable<FlowDocument["source"]["geo"]>> {
  return {
    continent_code: country === "NL" ? "EU" : "NA", continent_name: country === "NL" ? "Europe" : "North America",
    country_iso_code: country, country_name: country === "NL" ? "Netherlands" : "United States",
    region_iso_code: `${country}-NH`, region_name: "Noord-Holland", city_name: "Amsterdam", location: { lat: 52.374, lon: 4.8897 },
  };
}

export const fullDocument: DeepRequired<FlowDocument> = {
  "@timestamp": "2026-11-27T03:15:42.000Z",
  ecs: { version: "8.17.0" },
  event: {
    kind: "event", category: ["network"], dataset: "azure.flowlogs", type: ["connection", "start"],
    action: "allowed", outcome: "success",
  },
  // Geo/AS on both endpoints only to exercise the mapping: the collector adds them to public addresses alone.
  source: { ip: "10.0.0.4", port: 44931, packets: 12, bytes: 4312, geo: sampleGeo("NL"), as: { number: 8075, organization: { name: "MICROSOFT-CORP-MSN-AS-BLOCK" } } },
  destination: { ip: "52.239.169.4", port: 443, packets: 10, bytes: 9012, geo: sampleGeo("US"), as: { number: 8075, organization: { name: "MICROSOFT-CORP-MSN-AS-BLOCK" } } },
  network: {
    transport: "tcp", iana_number: "6", direction: "outbound", community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    packets: 22, bytes: 13324,
  },
  rule: { name: "DefaultRule_AllowInternetOutBound" },
  related: { ip: ["10.0.0.4", "52.239.169.4"] },
  cloud: { provider: "azure", account: { id: "00000000-0000-0000-0000-000000000000" } },
  azure: {
    resource: {
      id: "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/VIRTUALNETWORKS/VNET",
      name: "VNET", group: "RG",
    },
    flowlog: {
      version: 4, source_address_class: "private", destination_address_class: "public", locality: "to_internet", state: "begin", encryption: "NX", mac: "00-22-48-7A-1B-2C", acl_id: "00000000-1111-2222-3333-444444444444",
      id: "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NW/FLOWLOGS/FL",
      guid: "66aa66aa-6666-4aaa-8aaa-66aa66aa66aa",
    },
  },
  threat: {
    enrichments: [{
      indicator: { name: "52.239.168.0/22", type: "ipv4-addr", description: "SBL000001", provider: "drop.txt" },
      matched: { atomic: "52.239.169.4", field: "destination.ip", type: "threat_list" },
    }],
  },
};

export const minimalDocument: FlowDocument = {
  "@timestamp": "2026-11-27T03:16:00.000Z",
  ecs: { version: "8.17.0" },
  event: { kind: "event", category: ["network"], dataset: "azure.flowlogs", type: ["connection", "denied"], action: "denied", outcome: "failure" },
  source: { ip: "2001:db8::1" },
  destination: { ip: "2001:db8::2" },
  network: { direction: "inbound" },
  related: { ip: ["2001:db8::1", "2001:db8::2"] },
  cloud: { provider: "azure" },
  azure: { flowlog: { version: 1, source_address_class: "public", destination_address_class: "public", locality: "external" } },
};

/** `count` distinct documents with ids, for sink tests. */
export function sampleBatch(count: number, prefix: string): IdentifiedDocument[] {
  return Array.from({ length: count }, (_, i) =>
    identifiedDocument(`${prefix}-${i}`, { ...(fullDocument as FlowDocument), source: { ...fullDocument.source, port: 40000 + i } }));
}

/** Leaf field paths of a JSON value ("a.b.c"); arrays count as their element's path. */
export function leafPaths(value: unknown, prefix = ""): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((item) => leafPaths(item, prefix)))];
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
  }
  return [prefix];
}

/** Leaf fields of an Elasticsearch `properties` tree, with their types. */
export function mappedFields(properties: Record<string, any>, prefix = ""): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, definition] of Object.entries(properties)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (definition.properties) Object.assign(fields, mappedFields(definition.properties, path));
    else fields[path] = definition.type;
  }
  return fields;
}
