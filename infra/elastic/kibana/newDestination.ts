// "New outbound destination country or ASN for a resource" as Security new_terms rules (Basic licence: the rule
// type registers minimumLicenseRequired 'basic', create_new_terms_alert_type.ts). One rule per kind, each on the
// pair (resource, destination country) or (resource, destination AS number) of allowed flows to the internet: a
// pair not seen in the history window alerts once, on its first flow. Two rules rather than one on three fields,
// because a new (country, AS) pair of a known AS in a known country would be neither a new country nor a new AS.
// Facts and their sources: dashboards/kibana/README.md (Detections); the searches: ./newTermsQuery.ts.
import { FLOW_INDEX, securityRuleActions, type NewTermsRuleBody, type ScanAction } from "./detections";
import { newTermsSchedule } from "./schedule";

export type NewDestinationKind = "country" | "asn";

/** The resource a flow belongs to (the NSG or the flow log's target): the full id, names repeat across groups. */
export const RESOURCE_FIELD = "azure.resource.id";
export const NEW_DESTINATION_FIELD: Record<NewDestinationKind, string> = { country: "destination.geo.country_iso_code", asn: "destination.as.number" };
/** Allowed flows from private or Azure addresses to public ones (the collector's locality, ecs/addressClass.ts). */
export const OUTBOUND_ALLOWED_QUERY = 'azure.flowlog.locality : "to_internet" and event.action : "allowed"';

export interface NewDestinationOptions {
  /** A pair is new when not seen in this many days before the rule window. */
  historyDays: number;
  /** The rule window (and run interval), as for the other detections. */
  windowMinutes: number;
  /** How late a flow may reach Elasticsearch and still be seen (./schedule.ts). */
  lateArrivalMinutes: number;
  index?: string[];
}

export function newDestinationRuleBody(kind: NewDestinationKind, options: NewDestinationOptions, actions: ScanAction[] = []): NewTermsRuleBody {
  const what = kind === "country" ? "country" : "autonomous system (ASN)";
  return {
    rule_id: `flowlogs-new-destination-${kind}`,
    type: "new_terms",
    name: `New outbound destination ${what} for a resource (not seen in ${options.historyDays} days)`,
    description: `Azure flow logs: a resource's allowed flows to the internet reached a destination ${what} they had not reached in the ${options.historyDays} days before.`,
    risk_score: 21,
    severity: "low",
    index: options.index ?? FLOW_INDEX,
    language: "kuery",
    query: OUTBOUND_ALLOWED_QUERY,
    new_terms_fields: [RESOURCE_FIELD, NEW_DESTINATION_FIELD[kind]],
    history_window_start: `now-${options.historyDays}d`,
    // Every windowMinutes over [now - late - window - 1m, now - late]. The window ends lateArrivalMinutes ago: a first
    // flow that reaches Elasticsearch after the run that covered its time would be history by the next run, never
    // new. The minute of additional look-back, as Kibana's rule form sets by default: a pair first seen exactly at a
    // window start (first_seen > start fails) or in a late run's gap would otherwise never alert either. Kibana gives
    // the overlapping run's alert the same id (its first document), so it is not doubled.
    ...newTermsSchedule(options),
    enabled: true,
    tags: ["flowlogs", "azure", "detection"],
    actions: securityRuleActions(`new_destination_${kind}`, actions),
  };
}
