// The Kibana side of the pipeline as one component: the saved objects (data view, Lens panels, saved search,
// dashboard), an `.index` connector that writes alerts to an index (Basic license), optional Gold-license
// connectors, and the "denied flows above N in M minutes" rule that notifies them.
//
// Several stacks may share one Kibana space: each stack's objects carry its data stream namespace in their ids,
// rule_ids and names, and read only that namespace (./namespace.ts; `default` keeps the names it always had).
//
// Wiring: infra/config.ts validates the `kibana` block (readKibanaConfig in ./config) with the rest of the
// config; FlowlogsElastic (../index.ts) creates this component from flowlogsElasticArgs, once the index assets
// exist, with the Kibana secrets the program read (kibanaApiKey, or kibanaUsername + kibanaPassword).
import * as pulumi from "@pulumi/pulumi";
import { KibanaConnection } from "./client";
import { indexConnectorArgs, KibanaConnector } from "./connectorResource";
import { deniedFlowsRuleArgs, KibanaRule, RuleActionArgs } from "./ruleResource";
import { KibanaDetectionRule } from "./detectionRuleResource";
import { bruteForceRuleArgs, scanRuleBody, type DetectionRuleBody, type ScanAction, type ScanKind } from "./detections";
import { newDestinationRuleBody, type NewDestinationKind } from "./newDestination";
import { LATE_ARRIVAL_DEFAULT_MINUTES } from "./schedule";
import { KibanaSavedObjects } from "./savedObjectsResource";
import { objectKeysOf } from "./savedObjects";
import { defaultAlertIndex, flowIndexOf, namespacedId, namespacedImportNdjson, namespacedName } from "./namespace";
import { checkNamespace, DEFAULT_NAMESPACE } from "../../../collector/src/sink/dataStreams";

export { KibanaConnection } from "./client";
export { KibanaConnector, indexConnectorArgs } from "./connectorResource";
export { KibanaRule, deniedFlowsRuleArgs } from "./ruleResource";
export { KibanaDetectionRule } from "./detectionRuleResource";
export { bruteForceRuleArgs, scanRuleBody } from "./detections";
export { newDestinationRuleBody } from "./newDestination";
export { KibanaSavedObjects } from "./savedObjectsResource";
export { buildImportNdjson, loadSavedObjects } from "./savedObjects";
export { lensSearches, lensToSearch } from "./lensQuery";
export { namespacedImportNdjson, namespaceSavedObjects, namespacedId, namespacedName } from "./namespace";

export interface FlowlogsKibanaArgs {
  /** Kibana URL, credentials (secret), space and CA. */
  connection: pulumi.Input<KibanaConnection>;
  /**
   * The data stream namespace this stack writes (elasticsearch.namespace), default "default". Outside `default` the
   * objects' ids, rule_ids and names carry it, and they read only `logs-azure.flowlogs-<namespace>`.
   */
  namespace?: string;
  /** Import NDJSON, taken as it is (its ids are the caller's); default: dashboards/kibana for the namespace. */
  ndjson?: string;
  /** The denied-flows alert; omit to create no rule and no connector. */
  alert?: {
    /** Alert when more than this many denied flows... */
    deniedThreshold: number;
    /** ...happen within this many minutes (the window of every detection). */
    windowMinutes: number;
    /** How late a flow may reach Elasticsearch and still be counted; default 5 (./schedule.ts). */
    lateArrivalMinutes?: number;
    /** How often the rules run; default "1m". */
    interval?: string;
    /** Index the `.index` connector writes alert documents to; default "flowlogs-alerts", `flowlogs-alerts-<namespace>` outside `default`. */
    alertIndex?: string;
    /** Thresholds of the attack detections (brute force, port scan, host sweep); omit for none. */
    detections?: {
      bruteForceFlows: number; bruteForcePorts: number[]; portScanPorts: number; portScanHosts: number;
      /** New outbound destination country / ASN per resource against this many days of history; 0 or absent: none. */
      newDestinationHistoryDays?: number;
    };
    /** Optional `.webhook` connector (Gold license): config such as { url, method }, secrets such as { user, password }. */
    webhook?: { config: Record<string, unknown>; secrets?: pulumi.Input<Record<string, unknown>> };
    /** Optional `.email` connector (Gold license): config such as { from, service, host, port }, and recipients. */
    email?: { config: Record<string, unknown>; secrets?: pulumi.Input<Record<string, unknown>>; to: string[] };
  };
}

export class FlowlogsKibana extends pulumi.ComponentResource {
  readonly savedObjects: KibanaSavedObjects;
  readonly connectors: KibanaConnector[] = [];
  readonly rule?: KibanaRule;
  readonly detectionRules: Array<KibanaRule | KibanaDetectionRule> = [];
  /** Path of the dashboard under Kibana's base URL and space, with the id Kibana gave it on import. */
  readonly dashboardPath: pulumi.Output<string>;

  constructor(name: string, args: FlowlogsKibanaArgs, opts?: pulumi.ComponentResourceOptions) {
    const { namespace, lateArrivalMinutes } = checkArgs(args);
    super("flowlogs:elastic:Kibana", name, {}, opts);
    const child = { parent: this };
    const connection = pulumi.secret(args.connection);
    const alertIndex = args.alert?.alertIndex ?? defaultAlertIndex(namespace);
    const ndjson = args.ndjson ?? namespacedImportNdjson({ namespace, alertIndex });
    const index = flowIndexOf(namespace);
    const named = (text: string) => namespacedName(text, namespace);
    this.savedObjects = new KibanaSavedObjects(`${name}-saved-objects`, { connection, ndjson, namespace }, child);
    this.dashboardPath = dashboardPathOf(this.savedObjects.idMap, ndjson);
    // Everything else waits for the saved objects: their update is where a namespace another stack already uses is
    // refused, so such an `up` stops before any connector or rule changes.
    const afterSavedObjects = { ...child, dependsOn: [this.savedObjects] };
    const alert = args.alert;
    if (alert) {
      const timing = { windowMinutes: alert.windowMinutes, lateArrivalMinutes, interval: alert.interval };
      const alertIndexArgs = indexConnectorArgs(connection, alertIndex);
      const indexConnector = new KibanaConnector(`${name}-alert-index`, { ...alertIndexArgs, name: named(alertIndexArgs.name as string) }, afterSavedObjects);
      this.connectors.push(indexConnector);
      const ruleArgs = deniedFlowsRuleArgs(connection, { threshold: alert.deniedThreshold, ...timing, index, connectorIds: [indexConnector.connectorId] });
      ruleArgs.name = named(ruleArgs.name as string);
      const actions = [...(ruleArgs.actions as RuleActionArgs[])];
      const message = "{{rule.name}}: {{context.value}} denied flows ({{context.conditions}}) at {{context.date}}";
      // The same Gold-licence connectors notify the detections; each rule type has its own message variables.
      const extraEsQueryActions: RuleActionArgs[] = [];
      const scanActions: Array<pulumi.Output<ScanAction>> = [pulumi.output(indexConnector.connectorId).apply((id): ScanAction => ({ id, actionTypeId: ".index" }))];
      const detectionMessage = "{{rule.name}}: {{context.value}} flows from {{alert.id}} at {{context.date}}";
      const scanMessage = "{{rule.name}}: {{state.signals_count}} alert(s) at {{date}}";
      if (alert.webhook) {
        const webhook = new KibanaConnector(`${name}-alert-webhook`, {
          connection, name: named("Flow-log alerts webhook (Gold license)"), connectorTypeId: ".webhook", config: alert.webhook.config, secrets: alert.webhook.secrets,
        }, afterSavedObjects);
        this.connectors.push(webhook);
        actions.push({ connectorId: webhook.connectorId, group: "query matched", params: { body: JSON.stringify({ rule: "{{rule.name}}", value: "{{context.value}}", message }) } });
        extraEsQueryActions.push({ connectorId: webhook.connectorId, group: "query matched", params: { body: JSON.stringify({ rule: "{{rule.name}}", source: "{{alert.id}}", value: "{{context.value}}", message: detectionMessage }) } });
        scanActions.push(pulumi.output(webhook.connectorId).apply((id): ScanAction => ({ id, actionTypeId: ".webhook", params: { body: JSON.stringify({ rule: "{{rule.name}}", message: scanMessage }) } })));
      }
      if (alert.email) {
        const email = new KibanaConnector(`${name}-alert-email`, {
          connection, name: named("Flow-log alerts email (Gold license)"), connectorTypeId: ".email", config: alert.email.config, secrets: alert.email.secrets,
        }, afterSavedObjects);
        this.connectors.push(email);
        actions.push({ connectorId: email.connectorId, group: "query matched", params: { to: alert.email.to, subject: "{{rule.name}}", message } });
        extraEsQueryActions.push({ connectorId: email.connectorId, group: "query matched", params: { to: alert.email.to, subject: "{{rule.name}}", message: detectionMessage } });
        const to = alert.email.to;
        scanActions.push(pulumi.output(email.connectorId).apply((id): ScanAction => ({ id, actionTypeId: ".email", params: { to, subject: "{{rule.name}}", message: scanMessage } })));
      }
      ruleArgs.actions = actions;
      this.rule = new KibanaRule(`${name}-denied-flows`, ruleArgs, afterSavedObjects);
      const detections = alert.detections;
      if (detections) {
        const bruteForce = bruteForceRuleArgs(connection, {
          flows: detections.bruteForceFlows, ports: detections.bruteForcePorts, ...timing, index, connectorIds: [indexConnector.connectorId],
        });
        bruteForce.name = named(bruteForce.name as string);
        bruteForce.actions = [...(bruteForce.actions as RuleActionArgs[]), ...extraEsQueryActions];
        this.detectionRules.push(new KibanaRule(`${name}-brute-force`, bruteForce, afterSavedObjects));
        const scans: Array<[ScanKind, number]> = [["port_scan", detections.portScanPorts], ["host_sweep", detections.portScanHosts]];
        for (const [kind, distinct] of scans) {
          const body = pulumi.all(scanActions).apply((resolved) => ownRule(scanRuleBody(kind, { distinct, ...timing, index }, resolved), namespace));
          this.detectionRules.push(new KibanaDetectionRule(`${name}-${kind.replace("_", "-")}`, { connection, body, namespace }, afterSavedObjects));
        }
        const historyDays = detections.newDestinationHistoryDays ?? 0;
        if (historyDays > 0) {
          for (const kind of ["country", "asn"] as NewDestinationKind[]) {
            const body = pulumi.all(scanActions).apply((resolved) => ownRule(newDestinationRuleBody(kind, { historyDays, windowMinutes: timing.windowMinutes, lateArrivalMinutes: timing.lateArrivalMinutes, index }, resolved), namespace));
            this.detectionRules.push(new KibanaDetectionRule(`${name}-new-destination-${kind}`, { connection, body, namespace }, afterSavedObjects));
          }
        }
      }
    }
    this.registerOutputs({ savedObjects: this.savedObjects.objects, ruleId: this.rule?.ruleId });
  }
}

/** The arguments' problems, thrown before anything is declared; the namespace the objects are for. */
/** The arguments' namespace and late-arrival allowance (defaulted), once every argument was checked. */
function checkArgs(args: FlowlogsKibanaArgs): { namespace: string; lateArrivalMinutes: number } {
  let namespace: string;
  try {
    namespace = checkNamespace(args.namespace ?? DEFAULT_NAMESPACE);
  } catch (error) {
    throw new Error(`namespace (elasticsearch.namespace): ${(error as Error).message}`);
  }
  const alert = args.alert;
  if (!alert) return { namespace, lateArrivalMinutes: LATE_ARRIVAL_DEFAULT_MINUTES };
  if (!Number.isFinite(alert.deniedThreshold) || alert.deniedThreshold < 0) {
    throw new Error(`alert.deniedThreshold must be a number >= 0 (got ${alert.deniedThreshold})`);
  }
  if (!Number.isInteger(alert.windowMinutes) || alert.windowMinutes < 1) {
    throw new Error(`alert.windowMinutes must be a whole number of minutes >= 1 (got ${alert.windowMinutes})`);
  }
  const lateArrivalMinutes = alert.lateArrivalMinutes ?? LATE_ARRIVAL_DEFAULT_MINUTES;
  if (!Number.isInteger(lateArrivalMinutes) || lateArrivalMinutes < 0) {
    throw new Error(`alert.lateArrivalMinutes must be a whole number of minutes >= 0 (got ${lateArrivalMinutes})`);
  }
  if (alert.email && !alert.email.to.length) throw new Error("alert.email.to must list at least one recipient");
  const historyDays = alert.detections?.newDestinationHistoryDays ?? 0;
  if (!Number.isInteger(historyDays) || historyDays < 0) throw new Error(`alert.detections.newDestinationHistoryDays must be a whole number of days >= 0 (got ${historyDays})`);
  return { namespace, lateArrivalMinutes };
}

/** A detection rule of this namespace: its rule_id (unique per space in Kibana) and name carry the namespace. */
function ownRule<T extends DetectionRuleBody>(body: T, namespace: string): T {
  return { ...body, rule_id: namespacedId(body.rule_id, namespace), name: namespacedName(body.name, namespace) };
}

/**
 * The dashboard's path from the ids the import returned: Kibana gives an object a new id (`destinationId`) when the
 * same id already exists in another space. Until Kibana has answered (the offline plan under mocks) only the
 * declared id exists. Without a dashboard in the files, the dashboards list.
 */
export function dashboardPathOf(idMap: pulumi.Output<Record<string, string> | undefined>, ndjson: string): pulumi.Output<string> {
  const declared = objectKeysOf(ndjson).find((key) => key.type === "dashboard");
  return idMap.apply((map) => {
    if (!declared) return "/app/dashboards";
    const actual = map?.[`dashboard/${declared.id}`] ?? `dashboard/${declared.id}`;
    return `/app/dashboards#/view/${encodeURIComponent(actual.slice("dashboard/".length))}`;
  });
}
