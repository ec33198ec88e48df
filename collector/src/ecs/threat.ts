// ECS `threat.enrichments` of a flow whose source or destination is on the user's threat list: one entry per listed
// endpoint, naming the list entry (`indicator.*`) and the field that matched (`matched.*`). Why these fields and
// how they are mapped: collector/README.md, Threat list.
import type { FlowDocument, ThreatEnrichment, ThreatIndicator, ThreatLookup } from "../model";
import type { FlowTuple } from "../format/flow";

const json = JSON.stringify as (value: unknown) => string;

export function threatFields(tuple: FlowTuple, lookup: ThreatLookup): FlowDocument["threat"] {
  const source = lookup.match(tuple.sourceIp);
  const destination = lookup.match(tuple.destinationIp);
  if (!source && !destination) return undefined;
  const enrichments: ThreatEnrichment[] = [];
  if (source) enrichments.push({ indicator: { ...source }, matched: { atomic: tuple.sourceIp, field: "source.ip", type: "threat_list" } });
  if (destination) enrichments.push({ indicator: { ...destination }, matched: { atomic: tuple.destinationIp, field: "destination.ip", type: "threat_list" } });
  return { enrichments };
}

// `{"indicator":{...},"matched":{"atomic":` per indicator, serialized once from the same object the mapper copies.
const indicatorJsons = new WeakMap<ThreatIndicator, string>();

function enrichmentJson(indicator: ThreatIndicator, ip: string, field: string): string {
  let head = indicatorJsons.get(indicator);
  if (head === undefined) indicatorJsons.set(indicator, head = `{"indicator":${json({ ...indicator })},"matched":{"atomic":`);
  return `${head}${json(ip)},"field":"${field}","type":"threat_list"}}`;
}

/** `,"threat":{...}` as JSON.stringify writes threatFields' object, or "" when neither endpoint is listed. */
export function threatJson(tuple: FlowTuple, lookup: ThreatLookup): string {
  const source = lookup.match(tuple.sourceIp);
  const destination = lookup.match(tuple.destinationIp);
  if (!source && !destination) return "";
  const entries: string[] = [];
  if (source) entries.push(enrichmentJson(source, tuple.sourceIp, "source.ip"));
  if (destination) entries.push(enrichmentJson(destination, tuple.destinationIp, "destination.ip"));
  return `,"threat":{"enrichments":[${entries.join(",")}]}`;
}
