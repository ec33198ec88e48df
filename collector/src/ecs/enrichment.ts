// What an injected address enrichment gives an endpoint: ECS `geo` and `as` (collector/README.md, mapping table).
// The mapper and documentJson are handed one (loaded by the service at start-up, enrich/geoIp.ts) and ask it only
// about public addresses; without one, documents are as before. Pure contract: no I/O here.
import type { EndpointAs, EndpointGeo } from "../model";

export interface EndpointEnrichment {
  readonly geo?: Readonly<EndpointGeo>;
  readonly as?: Readonly<EndpointAs>;
}

export interface AddressEnrichment {
  /** The fields known for a public address, or undefined. The same (frozen) object for the same address. */
  lookup(ip: string): EndpointEnrichment | undefined;
  /**
   * The same fields as the tail of an endpoint object, `,"geo":{…},"as":{…}` (what JSON.stringify writes for
   * them after the endpoint's other keys), as UTF-8 encoded once per answer, or empty when nothing is known: one
   * cache hit per address on the hot path (documentJson copies it into bulk bodies).
   */
  lookupBytes(ip: string): Uint8Array;
}

/** The JSON tail documentJson appends inside an endpoint object for these fields. */
export function enrichmentJson(fields: EndpointEnrichment | undefined): string {
  if (!fields) return "";
  let text = "";
  if (fields.geo) text += `,"geo":${JSON.stringify(fields.geo)}`;
  if (fields.as) text += `,"as":${JSON.stringify(fields.as)}`;
  return text;
}
