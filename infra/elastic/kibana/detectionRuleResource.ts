// KibanaDetectionRule: a Security detection rule (`/api/detection_engine/rules`), here the threshold rules of
// ./detections.ts and the new_terms rules of ./newDestination.ts. The rule is addressed by the `rule_id` the program
// chooses, so it is stable across updates.
// PUT replaces the whole rule (its `type` included); DELETE takes the rule_id as a query parameter.
// A replacement (new rule_id or space) creates the new rule before deleting the old one: when the new rule_id is
// taken (Kibana answers 409), the update stops with the old rule still in place.
import * as pulumi from "@pulumi/pulumi";
import { callKibana, checkConnection, Failure, KibanaConnection, UNKNOWN } from "./client";
import { sameConnection, spaceKey, stableJson } from "./compare";
import type { DetectionRuleBody } from "./detections";
import { dateMathBackMs } from "./schedule";
import { takenByAnotherStack } from "./ownership";

export interface DetectionRuleInputs {
  connection: KibanaConnection;
  body: DetectionRuleBody;
  /** The data stream namespace the rule_id carries; only named in errors. */
  namespace?: string;
}

const PATH = "/api/detection_engine/rules";
const SEVERITIES = ["low", "medium", "high", "critical"];

/** The detection-rule fields this project sends (threshold and new_terms rules), checked as Kibana's schema does. */
export function checkDetectionRuleBody(body: DetectionRuleBody | undefined): Failure[] {
  const failures: Failure[] = [];
  const fail = (key: string, reason: string) => failures.push({ property: `body.${key}`, reason });
  if (!body || (body as unknown) === UNKNOWN) return failures;
  if (typeof body.rule_id !== "string" || !body.rule_id) fail("rule_id", "rule_id is required");
  if (typeof body.name !== "string" || !body.name) fail("name", "name is required");
  if (!Number.isInteger(body.risk_score) || body.risk_score < 0 || body.risk_score > 100) fail("risk_score", "risk_score must be a whole number from 0 to 100");
  if (!SEVERITIES.includes(body.severity)) fail("severity", `severity must be one of ${SEVERITIES.join(", ")}`);
  const from = dateMathBackMs(body.from);
  if (body.type === "threshold") {
    const t = body.threshold;
    if (!t || !Array.isArray(t.field) || t.field.length > 5) fail("threshold.field", "threshold.field must list up to 5 fields");
    if (!t || !Number.isInteger(t.value) || t.value < 1) fail("threshold.value", "threshold.value must be a whole number >= 1");
    for (const [i, c] of (t?.cardinality ?? []).entries()) {
      if (!Number.isInteger(c.value) || c.value < 0) fail(`threshold.cardinality[${i}].value`, "must be a whole number >= 0");
    }
  } else if (body.type === "new_terms") {
    const fields = body.new_terms_fields;
    if (!Array.isArray(fields) || fields.length < 1 || fields.length > 3 || !fields.every((f) => typeof f === "string" && f)) {
      fail("new_terms_fields", "new_terms_fields must list 1 to 3 field names");
    }
    const history = dateMathBackMs(body.history_window_start);
    if (history === undefined) fail("history_window_start", `history_window_start "${body.history_window_start}" must look like "now-14d"`);
    else if (from !== undefined && history <= from) fail("history_window_start", `history_window_start "${body.history_window_start}" must be earlier than from "${body.from}" (Kibana refuses a history window no longer than the rule's look-back)`);
  } else {
    fail("type", `only threshold and new_terms rules are declared here (got ${JSON.stringify((body as { type?: unknown }).type)})`);
  }
  if (!/^[1-9]\d*[smhd]$/.test(body.interval)) fail("interval", `interval "${body.interval}" must look like "5m"`);
  // Kibana takes any string for from/to and parses them only when the rule runs ('Failed to parse date math of
  // rule.from or rule.to'), and does not check that they cover the interval (elastic/kibana#154963): both here.
  const to = body.to === "now" ? 0 : dateMathBackMs(body.to);
  if (from === undefined) fail("from", `from "${body.from}" must look like "now-6m"`);
  if (to === undefined) fail("to", `to "${body.to}" must be "now" or look like "now-5m"`);
  const interval = dateMathBackMs(`now-${body.interval}`);
  if (from !== undefined && to !== undefined && interval !== undefined && from - to < interval) {
    fail("from", `from "${body.from}" to "${body.to}" is shorter than the interval ${body.interval}: the minutes between would never be searched`);
  }
  body.actions?.forEach((a, i) => { if (a.group !== "default") fail(`actions[${i}].group`, `Security rules have one action group, "default" (got "${a.group}")`); });
  return failures;
}


/**
 * An action as this project declares it: Kibana gives every action it stores a `uuid` of its own (alerting's
 * addGeneratedActionValues) and the detection-engine answer carries it (transformAlertToRuleAction); read as drift,
 * it would make every refresh differ and every `up` update the rule.
 */
function withoutServerFields(action: unknown): unknown {
  if (!action || typeof action !== "object") return action;
  const { uuid: _assignedByKibana, ...declared } = action as Record<string, unknown>;
  return declared;
}

export const detectionRuleProvider: pulumi.dynamic.ResourceProvider<DetectionRuleInputs, DetectionRuleInputs & { ruleId: string }> = {
  async check(_olds, news) {
    return { inputs: news, failures: [...checkConnection(news.connection), ...checkDetectionRuleBody(news.body)] };
  },

  async diff(_id, olds, news) {
    const replaces: string[] = [];
    if (spaceKey(olds.connection) !== spaceKey(news.connection)) replaces.push("connection");
    if (olds.body?.rule_id !== news.body?.rule_id) replaces.push("body.rule_id");
    const changes = replaces.length > 0 || stableJson(olds.body) !== stableJson(news.body) || !sameConnection(olds.connection, news.connection);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const answer = await callKibana(inputs.connection, { method: "POST", path: PATH, json: inputs.body, accept: [409] });
    if (answer.status === 409) {
      throw new Error(`detection rule_id "${inputs.body.rule_id}" already exists (Kibana answered HTTP 409) and this stack did not create it, so it was left as it is (a rule this stack replaces is deleted only once its replacement exists); ${takenByAnotherStack(inputs.namespace, spaceKey(inputs.connection))}`);
    }
    return { id: inputs.body.rule_id, outs: { ...inputs, ruleId: inputs.body.rule_id } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const answer = await callKibana(props.connection, { method: "GET", path: `${PATH}?rule_id=${encodeURIComponent(id)}`, accept: [404] });
    if (answer.status === 404) return { id: "" };
    const live = answer.body ?? {};
    // Kibana answers with every defaulted field; only the fields we send are compared.
    const body: Record<string, unknown> = {};
    for (const key of Object.keys(props.body)) body[key] = key in live ? live[key] : (props.body as any)[key];
    if (Array.isArray(body.actions)) body.actions = body.actions.map(withoutServerFields);
    return { id, props: { ...props, body: body as unknown as DetectionRuleBody } };
  },

  async update(id, _olds, news) {
    await callKibana(news.connection, { method: "PUT", path: PATH, json: news.body });
    return { outs: { ...news, ruleId: id } };
  },

  async delete(id, props) {
    await callKibana(props.connection, { method: "DELETE", path: `${PATH}?rule_id=${encodeURIComponent(id)}`, accept: [404] });
  },
};

export interface KibanaDetectionRuleArgs {
  connection: pulumi.Input<KibanaConnection>;
  body: pulumi.Input<DetectionRuleBody>;
  namespace?: string;
}

export class KibanaDetectionRule extends pulumi.dynamic.Resource {
  declare readonly ruleId: pulumi.Output<string>;

  constructor(name: string, args: KibanaDetectionRuleArgs, opts?: pulumi.CustomResourceOptions) {
    super(detectionRuleProvider, name, { connection: pulumi.secret(args.connection), body: args.body, namespace: args.namespace, ruleId: undefined },
      { ...opts, additionalSecretOutputs: ["connection"] }, "flowlogs", "kibana:DetectionRule");
  }
}
