// KibanaRule: an alerting rule (`/api/alerting/rule`), here an Elasticsearch-query rule (Basic license).
// `rule_type_id` and `consumer` are immutable in Kibana, so changing them replaces the rule; everything else is
// a PUT, and `enabled` goes through `_enable` / `_disable` (PUT does not accept it).
import * as pulumi from "@pulumi/pulumi";
import { callKibana, checkConnection, Failure, KibanaConnection, UNKNOWN } from "./client";
import { sameConnection, spaceKey, stableJson } from "./compare";
import { esQueryWindow } from "./schedule";

export interface RuleAction {
  /** Connector id (KibanaConnector.connectorId). */
  connectorId: string;
  /** `query matched` for .es-query (or `recovered`). */
  group: string;
  params: Record<string, unknown>;
  /** Never declared (ACTION_FREQUENCY is sent); set by `read` only when Kibana holds another one: drift. */
  frequency?: { summary: boolean; notify_when: string; throttle: string | null };
}

/**
 * Once per alert, when it becomes active: runs overlap (./schedule.ts), and a burst stays one active alert (its
 * group) over every run that still counts it; onActiveAlert would notify once per such run.
 */
const ACTION_FREQUENCY = { summary: false, notify_when: "onActionGroupChange", throttle: null };

export interface RuleInputs {
  connection: KibanaConnection;
  name: string;
  ruleTypeId: string;
  consumer: string;
  /** How often the rule runs, e.g. "1m". */
  interval: string;
  params: Record<string, any>;
  actions: RuleAction[];
  enabled: boolean;
  tags: string[];
}

export interface RuleOutputs extends RuleInputs {
  ruleId: string;
}

const COMPARATORS = [">", ">=", "<", "<=", "between", "notBetween"];
const ES_QUERY_GROUPS = ["query matched", "recovered"];

/** Checks `.es-query` params against Kibana's documented schema (rule_type_params.ts). */
export function checkEsQueryParams(params: Record<string, any>): Failure[] {
  const failures: Failure[] = [];
  const fail = (key: string, reason: string) => failures.push({ property: `params.${key}`, reason });
  const known = (v: unknown) => v !== UNKNOWN;
  if (params.searchType !== undefined && params.searchType !== "esQuery") {
    fail("searchType", `only searchType "esQuery" is supported here (got "${params.searchType}")`);
  }
  if (known(params.index) && (!Array.isArray(params.index) || params.index.length === 0 || params.index.some((i: unknown) => typeof i !== "string" || !i))) {
    fail("index", "index must be a non-empty array of index patterns, e.g. [\"logs-azure.flowlogs-*\"]");
  }
  if (known(params.timeField) && (typeof params.timeField !== "string" || !params.timeField)) fail("timeField", "timeField is required, e.g. \"@timestamp\"");
  if (known(params.esQuery)) {
    if (typeof params.esQuery !== "string") {
      fail("esQuery", "esQuery must be a JSON *string* (JSON.stringify({ query: {...} })), not an object");
    } else {
      let parsed: any;
      try { parsed = JSON.parse(params.esQuery); } catch { fail("esQuery", "esQuery is not valid JSON"); }
      if (parsed !== undefined && (typeof parsed !== "object" || parsed === null || !("query" in parsed))) {
        fail("esQuery", "esQuery must contain a top-level \"query\", e.g. {\"query\":{\"match\":{\"event.action\":\"denied\"}}}");
      }
    }
  }
  const comparator = params.thresholdComparator;
  if (known(comparator) && !COMPARATORS.includes(comparator)) fail("thresholdComparator", `thresholdComparator must be one of ${COMPARATORS.join(" ")}`);
  const threshold = params.threshold;
  if (known(threshold)) {
    const between = comparator === "between" || comparator === "notBetween";
    if (!Array.isArray(threshold) || threshold.some((n: unknown) => typeof n !== "number" || !Number.isFinite(n)) || threshold.length !== (between ? 2 : 1)) {
      fail("threshold", `threshold must be an array of ${between ? "two numbers (between comparators)" : "one number"}, e.g. [100]`);
    }
  }
  if (known(params.timeWindowSize) && (!Number.isInteger(params.timeWindowSize) || params.timeWindowSize < 1)) fail("timeWindowSize", "timeWindowSize must be a whole number >= 1");
  if (known(params.timeWindowUnit) && !["s", "m", "h", "d"].includes(params.timeWindowUnit)) fail("timeWindowUnit", "timeWindowUnit must be s, m, h or d");
  // Required by Kibana (no default), 0..10000 (ES_QUERY_MAX_HITS_PER_EXECUTION; Serverless allows at most 100).
  if (known(params.size) && (!Number.isInteger(params.size) || params.size < 0 || params.size > 10000)) fail("size", "size is required: a whole number from 0 to 10000 (hits kept per run, e.g. 10)");
  return failures;
}

/**
 * What Kibana renders into an .es-query rule's action params (stack_alerts es_query/rule_type.ts actionVariables,
 * action_context.ts; the alerting plugin's common alert, rule and top-level variables). Mustache renders anything
 * else as an empty string: `{{context.group}}` did, so brute-force alerts named no source and their `.index`
 * document was refused (an empty `source.ip`). A grouped rule's group is its alert's id (executor.ts reports it so).
 */
const ES_QUERY_CONTEXT = ["message", "title", "date", "value", "hits", "conditions", "link"];
const ES_QUERY_VARIABLE = new RegExp(
  `^(?:context\\.(?:${ES_QUERY_CONTEXT.join("|")})(?:\\..+)?|alert\\.(?:id|uuid|actionGroup|actionGroupName|flapping|consecutiveMatches)|` +
  "rule\\.(?:id|name|spaceId|tags|type|url|params(?:\\..+)?)|params\\..+|date|kibanaBaseUrl|state\\..+)$",
);

/** The mustache variables in `params` (strings at any depth) that an .es-query rule does not give its actions. */
export function unknownEsQueryVariables(params: unknown): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === "string") {
      for (const [, name] of value.matchAll(/\{\{\{?\s*[#^/&]?\s*([\w.]+)\s*\}?\}\}/g)) if (!ES_QUERY_VARIABLE.test(name!)) found.add(name!);
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") Object.values(value).forEach(visit);
  };
  visit(params);
  return [...found];
}

function checkRule(news: RuleInputs): Failure[] {
  const failures = checkConnection(news.connection);
  const known = (v: unknown) => v !== UNKNOWN;
  if (known(news.name) && (typeof news.name !== "string" || !news.name.trim())) failures.push({ property: "name", reason: "name is required" });
  if (known(news.interval) && (typeof news.interval !== "string" || !/^[1-9]\d*[smhd]$/.test(news.interval))) {
    failures.push({ property: "interval", reason: `interval "${news.interval}" must look like "1m", "30s", "1h"` });
  }
  if (news.ruleTypeId === ".es-query" && known(news.params)) failures.push(...checkEsQueryParams(news.params ?? {}));
  if (known(news.actions)) {
    if (!Array.isArray(news.actions)) {
      failures.push({ property: "actions", reason: "actions must be an array" });
    } else {
      news.actions.forEach((action, index) => {
        if (!known(action)) return;
        if (known(action.connectorId) && (typeof action.connectorId !== "string" || !action.connectorId)) {
          failures.push({ property: `actions[${index}].connectorId`, reason: "connectorId is required (use a KibanaConnector's connectorId)" });
        }
        if (news.ruleTypeId === ".es-query" && !ES_QUERY_GROUPS.includes(action.group)) {
          failures.push({ property: `actions[${index}].group`, reason: `group "${action.group}" is not an .es-query action group: use "query matched" (or "recovered")` });
        }
        if (news.ruleTypeId === ".es-query" && known(action.params)) {
          for (const variable of unknownEsQueryVariables(action.params)) {
            failures.push({ property: `actions[${index}].params`, reason: `{{${variable}}} is not a variable Kibana gives an .es-query rule's actions (it would render empty): use one of context.${ES_QUERY_CONTEXT.join(", context.")}, alert.id (a grouped rule's group), rule.*, date` });
          }
        }
      });
    }
  }
  return failures;
}

/** The API body; esQuery re-serialized canonically so formatting differences never reach Kibana or the diff. */
function ruleBody(inputs: RuleInputs) {
  const params = { ...inputs.params };
  if (typeof params.esQuery === "string") params.esQuery = canonicalEsQuery(params.esQuery);
  return {
    name: inputs.name,
    tags: inputs.tags ?? [],
    schedule: { interval: inputs.interval },
    params,
    actions: (inputs.actions ?? []).map((a) => ({
      id: a.connectorId,
      group: a.group,
      params: a.params,
      frequency: a.frequency ?? ACTION_FREQUENCY,
    })),
  };
}

/** An action's frequency as Kibana holds it, when it is not the one declared (an edit in the rule's UI): drift. */
function liveFrequency(frequency: any): Pick<RuleAction, "frequency"> {
  const live = { summary: frequency?.summary === true, notify_when: String(frequency?.notify_when ?? ""), throttle: frequency?.throttle ?? null };
  const declared = live.summary === ACTION_FREQUENCY.summary && live.notify_when === ACTION_FREQUENCY.notify_when && live.throttle === ACTION_FREQUENCY.throttle;
  return declared ? {} : { frequency: live };
}

function canonicalEsQuery(esQuery: string): string {
  try { return JSON.stringify(JSON.parse(esQuery)); } catch { return esQuery; }
}

function normalised(inputs: RuleInputs): string {
  const body = ruleBody(inputs);
  let esQuery = body.params.esQuery;
  try { esQuery = stableJson(JSON.parse(esQuery)); } catch { /* not JSON (or unknown during preview): compare as is */ }
  return stableJson({ ...body, params: { ...body.params, esQuery }, enabled: inputs.enabled !== false });
}

export const ruleProvider: pulumi.dynamic.ResourceProvider<RuleInputs, RuleOutputs> = {
  async check(_olds, news) {
    const inputs: RuleInputs = { ...news, ruleTypeId: news.ruleTypeId ?? ".es-query", consumer: news.consumer ?? "stackAlerts", enabled: news.enabled ?? true, tags: news.tags ?? [], actions: news.actions ?? [] };
    return { inputs, failures: checkRule(inputs) };
  },

  async diff(_id, olds, news) {
    const replaces: string[] = [];
    if (olds.ruleTypeId !== news.ruleTypeId) replaces.push("ruleTypeId");
    if (olds.consumer !== news.consumer) replaces.push("consumer");
    if (spaceKey(olds.connection) !== spaceKey(news.connection)) replaces.push("connection");
    const changes = replaces.length > 0 || normalised(olds) !== normalised(news) || !sameConnection(olds.connection, news.connection);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const answer = await callKibana(inputs.connection, {
      method: "POST",
      path: "/api/alerting/rule",
      json: { ...ruleBody(inputs), rule_type_id: inputs.ruleTypeId, consumer: inputs.consumer, enabled: inputs.enabled },
    });
    const id = String(answer.body?.id ?? "");
    if (!id) throw new Error("Kibana created the rule but returned no id");
    return { id, outs: { ...inputs, ruleId: id } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const answer = await callKibana(props.connection, { method: "GET", path: `/api/alerting/rule/${encodeURIComponent(id)}`, accept: [404] });
    if (answer.status === 404) return { id: "" };
    const live = answer.body ?? {};
    // Kibana adds defaulted params (aggType, groupBy...): only the params we manage are compared.
    const params: Record<string, unknown> = {};
    for (const key of Object.keys(props.params)) if (live.params && key in live.params) params[key] = live.params[key];
    return {
      id,
      props: {
        ...props,
        name: live.name ?? props.name,
        ruleTypeId: live.rule_type_id ?? props.ruleTypeId,
        consumer: live.consumer ?? props.consumer,
        interval: live.schedule?.interval ?? props.interval,
        enabled: live.enabled ?? props.enabled,
        tags: live.tags ?? props.tags,
        params,
        actions: Array.isArray(live.actions)
          ? live.actions.map((a: any) => ({ connectorId: a.id, group: a.group, params: a.params, ...liveFrequency(a.frequency) }))
          : props.actions,
      },
    };
  },

  async update(id, olds, news) {
    const path = `/api/alerting/rule/${encodeURIComponent(id)}`;
    await callKibana(news.connection, { method: "PUT", path, json: ruleBody(news) });
    if ((olds.enabled !== false) !== (news.enabled !== false)) {
      await callKibana(news.connection, { method: "POST", path: `${path}/${news.enabled === false ? "_disable" : "_enable"}` });
    }
    return { outs: { ...news, ruleId: id } };
  },

  async delete(id, props) {
    await callKibana(props.connection, { method: "DELETE", path: `/api/alerting/rule/${encodeURIComponent(id)}`, accept: [404] });
  },
};

export interface RuleActionArgs {
  connectorId: pulumi.Input<string>;
  group: pulumi.Input<string>;
  params: pulumi.Input<Record<string, unknown>>;
}

export interface KibanaRuleArgs {
  connection: pulumi.Input<KibanaConnection>;
  name: pulumi.Input<string>;
  ruleTypeId?: pulumi.Input<string>;
  consumer?: pulumi.Input<string>;
  interval: pulumi.Input<string>;
  params: pulumi.Input<Record<string, any>>;
  actions?: pulumi.Input<pulumi.Input<RuleActionArgs>[]>;
  enabled?: pulumi.Input<boolean>;
  tags?: pulumi.Input<string[]>;
}

export class KibanaRule extends pulumi.dynamic.Resource {
  declare readonly ruleId: pulumi.Output<string>;

  constructor(name: string, args: KibanaRuleArgs, opts?: pulumi.CustomResourceOptions) {
    super(ruleProvider, name, {
      connection: pulumi.secret(args.connection),
      name: args.name,
      ruleTypeId: args.ruleTypeId ?? ".es-query",
      consumer: args.consumer ?? "stackAlerts",
      interval: args.interval,
      params: args.params,
      actions: args.actions ?? [],
      enabled: args.enabled ?? true,
      tags: args.tags ?? [],
      ruleId: undefined,
    }, { ...opts, additionalSecretOutputs: ["connection"] }, "flowlogs", "kibana:Rule");
  }
}

export interface DeniedFlowsRuleOptions {
  /** Alert when more than this many denied flows happen within windowMinutes. */
  threshold: number;
  windowMinutes: number;
  /** How late a flow may reach Elasticsearch and still be counted (./schedule.ts). */
  lateArrivalMinutes: number;
  /** How often the rule runs (default: every minute). */
  interval?: string;
  index?: string[];
  /** Connectors to notify (typically the `.index` connector). */
  connectorIds?: pulumi.Input<string>[];
}

/** "Denied flows above N in M minutes" as `.es-query` rule inputs. */
export function deniedFlowsRuleArgs(connection: pulumi.Input<KibanaConnection>, options: DeniedFlowsRuleOptions): KibanaRuleArgs {
  const interval = options.interval ?? "1m";
  // Kibana's window ends at the run; the query's own range ends it lateArrivalMinutes earlier (./schedule.ts).
  const { upTo, ...window } = esQueryWindow({ windowMinutes: options.windowMinutes, lateArrivalMinutes: options.lateArrivalMinutes, interval });
  return {
    connection,
    name: `Denied flows above ${options.threshold} in ${options.windowMinutes} minutes`,
    interval,
    tags: ["flowlogs", "azure"],
    params: {
      searchType: "esQuery",
      index: options.index ?? ["logs-azure.flowlogs-*"],
      timeField: "@timestamp",
      esQuery: JSON.stringify({ query: { bool: { filter: [{ term: { "event.action": "denied" } }, ...(upTo ? [upTo] : [])] } } }),
      threshold: [options.threshold],
      thresholdComparator: ">",
      ...window,
      size: 10,
      // Count every denied flow in the whole window on each run (runs overlap when the window exceeds the interval).
      excludeHitsFromPreviousRun: false,
    },
    actions: (options.connectorIds ?? []).map((connectorId) => ({
      connectorId,
      group: "query matched",
      // For an .index connector: one document per alert, with mustache variables from the es-query rule context.
      params: {
        documents: [{
          "@timestamp": "{{context.date}}",
          rule: { id: "{{rule.id}}", name: "{{rule.name}}" },
          message: "{{context.message}}",
          denied_flows: "{{context.value}}",
          conditions: "{{context.conditions}}",
        }],
      },
    })),
  };
}
