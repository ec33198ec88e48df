// The `kibana` block of the stack config, validated in the style of infra/config.ts (pure: every problem names its
// key and the fix), plus how the secrets join it. Credentials are never in this block: they are separate secret
// keys (`pulumi config set --secret kibanaApiKey ...`), read by the program with `config.requireSecret`.
import * as pulumi from "@pulumi/pulumi";
import { reportUnknownKeys, type Report } from "../../configKeys";
import type { KibanaConnection } from "./client";
import type { FlowlogsKibanaArgs } from "./index";
import { redactUrlText } from "../../../collector/src/safeText";
import { DEFAULT_NAMESPACE } from "../../../collector/src/sink/dataStreams";
import { DEFAULT_ALERT_INDEX, defaultAlertIndex } from "./namespace";
import { LATE_ARRIVAL_DEFAULT_MINUTES, LATE_RUN_MARGIN_MINUTES, lateArrivalDefaultMinutes, pollWaitMinutes } from "./schedule";

export const KIBANA_DEFAULTS = {
  // alertIndex: of namespace `default`; another namespace's is flowlogs-alerts-<namespace> (./namespace.ts).
  deniedThreshold: 100, windowMinutes: 5, lateArrivalMinutes: LATE_ARRIVAL_DEFAULT_MINUTES, interval: "1m", alertIndex: DEFAULT_ALERT_INDEX,
  bruteForceFlows: 30, bruteForcePorts: [22, 3389, 1433], portScanPorts: 20, portScanHosts: 20, newDestinationHistoryDays: 14,
};

/** Longest late-arrival allowance: a day. Longer outages are for Kibana's manual rule runs (README, Detections). */
export const LATE_ARRIVAL_MAX_MINUTES = 1440;

const KEYS = ["url", "space", "caCert", "allowInsecureHttp", "alert"];
const ALERT_KEYS = ["enabled", "deniedThreshold", "windowMinutes", "lateArrivalMinutes", "interval", "index", "webhook", "email", "bruteForceFlows", "bruteForcePorts", "portScanPorts", "portScanHosts", "newDestinationHistoryDays"];
const WEBHOOK_KEYS = ["url", "method", "user"];
const EMAIL_KEYS = ["from", "host", "port", "secure", "user", "to"];

export interface KibanaSettings {
  url: string;
  space?: string;
  caCert?: string;
  allowInsecureHttp: boolean;
  alert?: {
    deniedThreshold: number;
    windowMinutes: number;
    /** How long after its @timestamp a flow may reach Elasticsearch and still be counted (each rule's window ends that long before its run). */
    lateArrivalMinutes: number;
    interval: string;
    alertIndex: string;
    /** Brute force: more than this many flows from one public source to `bruteForcePorts` within the window. */
    bruteForceFlows: number;
    bruteForcePorts: number[];
    /** Port scan / host sweep: one source reaching more than this many distinct ports / hosts within the window. */
    portScanPorts: number;
    portScanHosts: number;
    /** New outbound destination country / ASN: a resource's pair not seen in this many days before the window; 0 = no such rules. */
    newDestinationHistoryDays: number;
    /** `.webhook` (Gold license): { url, method?, user? }; the password is the secret `kibanaWebhookPassword`. */
    webhook?: { url: string; method: "post" | "put"; user?: string };
    /** `.email` (Gold license): the password is the secret `kibanaEmailPassword`. */
    email?: { from: string; host: string; port: number; secure: boolean; user?: string; to: string[] };
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** What the rest of the stack's config tells the Kibana settings. */
export interface KibanaConfigContext {
  /** `collector.pollIntervalSeconds` of a collector this stack runs: flows arrive up to a poll later. */
  collectorPollIntervalSeconds?: number;
}

/** Reads `kibana` (undefined = no Kibana side) for the stack's data stream namespace (elasticsearch.namespace). */
export function readKibanaConfig(
  value: unknown, problem: Report, namespace: string = DEFAULT_NAMESPACE, context: KibanaConfigContext = {},
): KibanaSettings | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    problem("kibana", "must be an object, e.g. `pulumi config set --path kibana.url https://kibana.example.com:5601`");
    return undefined;
  }
  // A misspelt key is an error, not ignored: `webhook.usr` would otherwise send alerts unauthenticated.
  reportUnknownKeys(value, KEYS, "kibana.", problem, "a Kibana setting");
  const url = value.url;
  if (typeof url !== "string" || !/^https?:\/\/[^/\s]+/.test(url)) {
    problem("kibana.url", `must be Kibana's base URL, e.g. https://kibana.example.com:5601 (got ${typeof url === "string" ? JSON.stringify(redactUrlText(url)) : JSON.stringify(url)})`);
  }
  const space = value.space;
  if (space !== undefined && (typeof space !== "string" || !/^[a-z0-9_-]+$/.test(space))) {
    problem("kibana.space", `must be a space id (lowercase letters, digits, "_", "-"), not its display name (got ${JSON.stringify(space)})`);
  }
  const caCert = value.caCert;
  if (caCert !== undefined && (typeof caCert !== "string" || !caCert.includes("-----BEGIN CERTIFICATE-----"))) {
    problem("kibana.caCert", "must be the PEM text of the CA that signed Kibana's certificate (`pulumi config set --path kibana.caCert -- \"$(cat ca.pem)\"`)");
  }
  if (value.allowInsecureHttp !== undefined && typeof value.allowInsecureHttp !== "boolean") problem("kibana.allowInsecureHttp", "must be true or false");
  return {
    url: String(url),
    space: typeof space === "string" ? space : undefined,
    caCert: typeof caCert === "string" ? caCert : undefined,
    allowInsecureHttp: value.allowInsecureHttp === true,
    alert: readAlert(value.alert, problem, namespace, context),
  };
}

function readAlert(value: unknown, problem: Report, namespace: string, context: KibanaConfigContext): KibanaSettings["alert"] {
  if (value === undefined) value = {};
  if (!isObject(value)) { problem("kibana.alert", "must be an object"); return undefined; }
  reportUnknownKeys(value, ALERT_KEYS, "kibana.alert.", problem, "an alert setting");
  if (value.enabled === false) return undefined;
  const number = (key: string, fallback: number, min: number, whole: boolean): number => {
    const v = value[key] ?? fallback;
    if (typeof v !== "number" || v < min || (whole && !Number.isInteger(v))) {
      problem(`kibana.alert.${key}`, `must be a ${whole ? "whole " : ""}number >= ${min} (got ${JSON.stringify(v)}); default ${fallback}`);
    }
    return Number(v);
  };
  const deniedThreshold = number("deniedThreshold", KIBANA_DEFAULTS.deniedThreshold, 0, false);
  const windowMinutes = number("windowMinutes", KIBANA_DEFAULTS.windowMinutes, 1, true);
  const poll = context.collectorPollIntervalSeconds;
  const lateArrivalMinutes = number("lateArrivalMinutes", lateArrivalDefaultMinutes(poll), 0, true);
  const pollWait = pollWaitMinutes(poll);
  if (poll !== undefined && pollWait > 1 && value.lateArrivalMinutes !== undefined && lateArrivalMinutes < pollWait) {
    // Below one poll, every window is counted before the collector has read all of its flows. (A poll a minute is
    // what the default and every value before the key assumed: 0 stays the user's choice there.)
    problem("kibana.alert.lateArrivalMinutes", `is ${lateArrivalMinutes}, but collector.pollIntervalSeconds is ${poll}: a flow can reach Elasticsearch ` +
      `up to ${pollWait} minutes after it happened from the polls alone, and the rules would count its window before that. Remove the key ` +
      `(the default follows the poll interval: ${lateArrivalDefaultMinutes(poll)}) or set at least ${pollWait}`);
  }
  if (lateArrivalMinutes > LATE_ARRIVAL_MAX_MINUTES) {
    problem("kibana.alert.lateArrivalMinutes", `must be at most ${LATE_ARRIVAL_MAX_MINUTES} (a day; got ${lateArrivalMinutes}): every alert waits that long. Set the delay flows usually have (the collector's flowlogs_lag_seconds plus Azure's minutes), and after a longer outage run the Security rules manually over it`);
  }
  const interval = value.interval ?? KIBANA_DEFAULTS.interval;
  if (typeof interval !== "string" || !/^[1-9]\d*[smhd]$/.test(interval)) problem("kibana.alert.interval", `must look like "1m" or "30s" (got ${JSON.stringify(interval)})`);
  const alertIndex = value.index ?? defaultAlertIndex(namespace);
  if (typeof alertIndex !== "string" || !/^[a-z0-9][a-z0-9._-]*$/.test(alertIndex)) problem("kibana.alert.index", `must be a lowercase index name without wildcards (got ${JSON.stringify(alertIndex)})`);
  const bruteForceFlows = number("bruteForceFlows", KIBANA_DEFAULTS.bruteForceFlows, 1, true);
  const portScanPorts = number("portScanPorts", KIBANA_DEFAULTS.portScanPorts, 1, true);
  const portScanHosts = number("portScanHosts", KIBANA_DEFAULTS.portScanHosts, 1, true);
  const newDestinationHistoryDays = number("newDestinationHistoryDays", KIBANA_DEFAULTS.newDestinationHistoryDays, 0, true);
  const newTermsLookBack = lateArrivalMinutes + windowMinutes + LATE_RUN_MARGIN_MINUTES;
  if (newDestinationHistoryDays > 0 && newDestinationHistoryDays * 1440 <= newTermsLookBack) {
    // Kibana refuses a new_terms rule whose history_window_start is not earlier than its from (validateHistoryWindowStart).
    problem("kibana.alert.newDestinationHistoryDays", `must reach back further than kibana.alert.lateArrivalMinutes + windowMinutes + 1 (${newTermsLookBack} minutes, the rules' look-back): raise it above ${Math.floor(newTermsLookBack / 1440)}, or set 0 to declare no new-destination rules`);
  }
  const ports = value.bruteForcePorts ?? KIBANA_DEFAULTS.bruteForcePorts;
  const portsOk = Array.isArray(ports) && ports.length > 0 && ports.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535);
  if (!portsOk) {
    // `config set --path 'kibana.alert.bruteForcePorts[3]' 5432` on a stack without the list leaves [0]-[2] empty
    // (null): the default list is the program's, not in the stack file.
    const holes = Array.isArray(ports) && ports.some((p) => p === null || p === undefined)
      ? "; setting one index of the list leaves the ones before it empty: set every index from [0] (the default [22, 3389, 1433] is not in the stack file)" : "";
    problem("kibana.alert.bruteForcePorts", `must be a non-empty list of port numbers 0-65535, e.g. [22, 3389, 1433] (got ${JSON.stringify(ports)})${holes}; \`pulumi config set --path 'kibana.alert.bruteForcePorts[0]' 22\``);
  }
  const alert: NonNullable<KibanaSettings["alert"]> = {
    deniedThreshold, windowMinutes, lateArrivalMinutes, interval: String(interval), alertIndex: String(alertIndex),
    bruteForceFlows, bruteForcePorts: portsOk ? [...new Set(ports as number[])] : [], portScanPorts, portScanHosts, newDestinationHistoryDays,
  };
  const webhook = value.webhook;
  if (isObject(webhook)) reportUnknownKeys(webhook, WEBHOOK_KEYS, "kibana.alert.webhook.", problem, "a webhook setting");
  if (isObject(webhook) && webhook.user !== undefined && (typeof webhook.user !== "string" || webhook.user === "")) {
    problem("kibana.alert.webhook.user", "must be the basic-auth user name (its password is the secret kibanaWebhookPassword)");
  }
  if (webhook !== undefined) {
    if (!isObject(webhook) || typeof webhook.url !== "string" || !/^https?:\/\//.test(webhook.url)) {
      problem("kibana.alert.webhook.url", "must be the http(s) URL to call (note: the .webhook connector needs a Gold license)");
    } else {
      const method = webhook.method ?? "post";
      if (method !== "post" && method !== "put") problem("kibana.alert.webhook.method", "must be post or put");
      alert.webhook = { url: webhook.url, method: method as "post" | "put", user: typeof webhook.user === "string" ? webhook.user : undefined };
    }
  }
  const email = value.email;
  if (isObject(email)) {
    reportUnknownKeys(email, EMAIL_KEYS, "kibana.alert.email.", problem, "an email setting");
    if (email.secure !== undefined && typeof email.secure !== "boolean") problem("kibana.alert.email.secure", "must be true (TLS from the start) or false (STARTTLS or none)");
    if (email.user !== undefined && (typeof email.user !== "string" || email.user === "")) {
      problem("kibana.alert.email.user", "must be the SMTP user name (its password is the secret kibanaEmailPassword)");
    }
  }
  if (email !== undefined) {
    const ok = isObject(email) && typeof email.from === "string" && typeof email.host === "string" && typeof email.port === "number" &&
      Array.isArray(email.to) && email.to.length > 0 && email.to.every((t) => typeof t === "string");
    if (!ok) {
      problem("kibana.alert.email", "needs from, host, port (number) and to (a non-empty list of addresses) (note: the .email connector needs a Gold license)");
    } else {
      alert.email = { from: email.from as string, host: email.host as string, port: email.port as number, secure: email.secure === true, user: typeof email.user === "string" ? email.user : undefined, to: email.to as string[] };
    }
  }
  return alert;
}

export interface KibanaSecrets {
  /** Secret `kibanaApiKey`: the encoded API key. Or `kibanaUsername` + secret `kibanaPassword`. */
  apiKey?: pulumi.Input<string>;
  username?: string;
  password?: pulumi.Input<string>;
  webhookPassword?: pulumi.Input<string>;
  emailPassword?: pulumi.Input<string>;
}

/** The FlowlogsKibana arguments from validated settings and the secret config values. */
export function flowlogsKibanaArgs(settings: KibanaSettings, secrets: KibanaSecrets): FlowlogsKibanaArgs {
  if (!secrets.apiKey && !(secrets.username && secrets.password)) {
    throw new Error("Kibana credentials are missing: `pulumi config set --secret kibanaApiKey <encoded key>` (or kibanaUsername and --secret kibanaPassword)");
  }
  const connection: pulumi.Output<KibanaConnection> = pulumi.secret(pulumi.output({
    url: settings.url,
    space: settings.space,
    caCert: settings.caCert,
    allowInsecureHttp: settings.allowInsecureHttp || undefined,
    ...(secrets.apiKey ? { apiKey: secrets.apiKey } : { username: secrets.username, password: secrets.password }),
  }) as pulumi.Output<KibanaConnection>);
  const alert = settings.alert;
  return {
    connection,
    alert: alert && {
      deniedThreshold: alert.deniedThreshold,
      windowMinutes: alert.windowMinutes,
      lateArrivalMinutes: alert.lateArrivalMinutes,
      interval: alert.interval,
      alertIndex: alert.alertIndex,
      detections: {
        bruteForceFlows: alert.bruteForceFlows, bruteForcePorts: alert.bruteForcePorts, portScanPorts: alert.portScanPorts, portScanHosts: alert.portScanHosts,
        newDestinationHistoryDays: alert.newDestinationHistoryDays,
      },
      webhook: alert.webhook && {
        // Secret: many webhook URLs are the credential (a token in the path, Slack's and Teams' incoming webhooks),
        // and the program reads its config through allConfig(), which drops a `--secret` on a nested key.
        config: { url: pulumi.secret(alert.webhook.url), method: alert.webhook.method, hasAuth: Boolean(alert.webhook.user) },
        secrets: alert.webhook.user ? pulumi.secret(pulumi.output({ user: alert.webhook.user, password: secrets.webhookPassword ?? "" })) : undefined,
      },
      email: alert.email && {
        config: { from: alert.email.from, service: "other", host: alert.email.host, port: alert.email.port, secure: alert.email.secure, hasAuth: Boolean(alert.email.user) },
        secrets: alert.email.user ? pulumi.secret(pulumi.output({ user: alert.email.user, password: secrets.emailPassword ?? "" })) : undefined,
        to: alert.email.to,
      },
    },
  };
}
