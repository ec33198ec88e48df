// Flows with the external party's country and AS, as the collector's enrichment writes them (ECS
// source/destination.geo.*, .as.*) next to azure.flowlog.locality, for the external-traffic panels and the
// new-destination detection. Built on plantedFlows' document so the rest of the shape is the collector's.
import type { Client } from "@elastic/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { flowDataStream } from "../../collector/src/sink/dataStreams";
import { flowDocument, type PlantedFlow } from "./plantedFlows";

export interface Geo {
  country: [iso: string, name: string];
  asn: [number: number, organization: string];
}

export interface ExternalFlow extends PlantedFlow {
  locality: "internal" | "from_internet" | "to_internet" | "external";
  /** The public endpoint's geo and AS; omitted where the database does not know the address. */
  srcGeo?: Geo;
  dstGeo?: Geo;
}

const classOf = (public_: boolean) => (public_ ? "public" : "private");

export function externalFlowDocument(f: ExternalFlow): Record<string, unknown> {
  const doc: any = flowDocument(f);
  const publicSource = f.locality === "from_internet" || f.locality === "external";
  const publicDestination = f.locality === "to_internet" || f.locality === "external";
  doc.network.direction = f.locality === "to_internet" ? "outbound" : "inbound";
  Object.assign(doc.azure.flowlog, { source_address_class: classOf(publicSource), destination_address_class: classOf(publicDestination), locality: f.locality });
  const enrich = (endpoint: Record<string, unknown>, geo?: Geo) => {
    if (!geo) return;
    endpoint.geo = { country_iso_code: geo.country[0], country_name: geo.country[1] };
    endpoint.as = { number: geo.asn[0], organization: { name: geo.asn[1] } };
  };
  enrich(doc.source, f.srcGeo);
  enrich(doc.destination, f.dstGeo);
  return doc;
}

// Well-known networks (the values a GeoLite2-style database gives for them).
export const GOOGLE_US: Geo = { country: ["US", "United States"], asn: [15169, "GOOGLE"] };
export const AMAZON_US: Geo = { country: ["US", "United States"], asn: [16509, "AMAZON-02"] };
export const HETZNER_DE: Geo = { country: ["DE", "Germany"], asn: [24940, "Hetzner Online GmbH"] };
export const MICROSOFT_NL: Geo = { country: ["NL", "Netherlands"], asn: [8075, "MICROSOFT-CORP-MSN-AS-BLOCK"] };
export const CHINANET_CN: Geo = { country: ["CN", "China"], asn: [4134, "Chinanet"] };
export const OVH_FR: Geo = { country: ["FR", "France"], asn: [16276, "OVH SAS"] };

/**
 * Applies the index assets for a fresh namespace and indexes the flows through them (the flow template maps the
 * geo/AS fields, or the strict mapping refuses them here); returns the data stream.
 */
export async function indexExternalFlows(es: Client, namespace: string, flows: ExternalFlow[]): Promise<string> {
  await applyIndexAssets(es, { namespace });
  const dataStream = flowDataStream(namespace);
  const answer = await es.bulk({ operations: flows.flatMap((f) => [{ create: { _index: dataStream } }, externalFlowDocument(f)]), refresh: true });
  if (answer.errors) throw new Error(`bulk refused documents: ${JSON.stringify(answer.items.find((i) => i.create?.error)?.create?.error)}`);
  return dataStream;
}
