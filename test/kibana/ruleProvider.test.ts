import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { deniedFlowsRuleArgs, ruleProvider, RuleInputs, RuleOutputs } from "../../infra/elastic/kibana/ruleResource";
import { KibanaConnection, UNKNOWN } from "../../infra/elastic/kibana/client";
import { esQueryParamsProblem, FakeKibana } from "./support/fakeKibana";
import { startAlertsKibana } from "./support/alertsKibana";

const p = ruleProvider;
const API_KEY = "cnVsZXM6a2V5LWZvci10ZXN0cw==";

describe("KibanaRule provider", () => {
  let kibana: FakeKibana;
  let connection: KibanaConnection;
  let connectorId: string;
  let inputs: RuleInputs;
  before(async () => {
    ({ kibana, connection, connectorId } = await startAlertsKibana(API_KEY));
    const args = deniedFlowsRuleArgs(connection, { threshold: 50, windowMinutes: 5, lateArrivalMinutes: 5, connectorIds: [connectorId] });
    const checked = await p.check!({} as any, args as unknown as RuleInputs);
    assert.deepEqual(checked.failures, []);
    inputs = checked.inputs!;
  });
  after(() => kibana.stop());

  test("contract: create POSTs an .es-query rule whose esQuery is a JSON string with `query`, threshold [N], its window ending 5 minutes before the run", async () => {
    const before = kibana.requests.length;
    const created = await p.create(inputs);
    const [call] = kibana.requests.slice(before);
    assert.equal(call.method, "POST");
    assert.equal(call.path, "/api/alerting/rule");
    assert.equal(call.headers["kbn-xsrf"], "true");
    assert.equal(call.headers.authorization, `ApiKey ${API_KEY}`);
    const body = JSON.parse(call.body);
    assert.equal(body.name, "Denied flows above 50 in 5 minutes");
    assert.equal(body.rule_type_id, ".es-query");
    assert.equal(body.consumer, "stackAlerts");
    assert.deepEqual(body.schedule, { interval: "1m" });
    assert.equal(esQueryParamsProblem(body.params), undefined);
    assert.equal(typeof body.params.esQuery, "string");
    // Kibana's window is the last 12 minutes (5 late + 5 window + 1 interval + 1 margin); the query's range ends it 5 minutes ago.
    assert.deepEqual(JSON.parse(body.params.esQuery).query, { bool: { filter: [{ term: { "event.action": "denied" } }, { range: { "@timestamp": { lte: "now-5m" } } }] } });
    assert.deepEqual(body.params.index, ["logs-azure.flowlogs-*"]);
    assert.equal(body.params.timeField, "@timestamp");
    assert.deepEqual(body.params.threshold, [50]);
    assert.equal(body.params.thresholdComparator, ">");
    assert.equal(body.params.timeWindowSize, 12);
    assert.equal(body.params.timeWindowUnit, "m");
    assert.equal(body.actions.length, 1);
    assert.deepEqual(body.actions[0].frequency, { summary: false, notify_when: "onActionGroupChange", throttle: null }, "once per alert, not once per overlapping run");
    assert.equal(body.actions[0].id, connectorId);
    assert.equal(body.actions[0].group, "query matched");
    assert.equal(body.actions[0].params.documents[0].denied_flows, "{{context.value}}");
    assert.equal(created.outs!.ruleId, created.id);
    assert.ok(kibana.space().rules.has(created.id));
  });

  test("read shows no drift although Kibana adds defaulted params; an edit in Kibana is drift; a deleted rule is gone", async () => {
    const created = await p.create(inputs);
    const read = await p.read!(created.id, created.outs as RuleOutputs);
    assert.equal((await p.diff!(created.id, read.props!, inputs)).changes, false);
    kibana.space().rules.get(created.id).params.threshold = [5000];
    const drifted = await p.read!(created.id, created.outs as RuleOutputs);
    assert.deepEqual(drifted.props!.params.threshold, [5000]);
    assert.equal((await p.diff!(created.id, drifted.props!, inputs)).changes, true);
    kibana.space().rules.get(created.id).params.threshold = inputs.params.threshold;
    assert.equal((await p.diff!(created.id, (await p.read!(created.id, created.outs as RuleOutputs)).props!, inputs)).changes, false);
    // The notification frequency changed in Kibana's rule form (back to once per run): drift, and the update restores it.
    const action = kibana.space().rules.get(created.id).actions[0];
    action.frequency = { ...action.frequency, notify_when: "onActiveAlert" };
    const edited = await p.read!(created.id, created.outs as RuleOutputs);
    assert.equal(edited.props!.actions[0]!.frequency?.notify_when, "onActiveAlert");
    assert.equal((await p.diff!(created.id, edited.props!, inputs)).changes, true);
    await p.update!(created.id, edited.props as RuleOutputs, inputs);
    assert.equal(kibana.space().rules.get(created.id).actions[0].frequency.notify_when, "onActionGroupChange");
    kibana.space().rules.get(created.id).enabled = false;
    assert.equal((await p.read!(created.id, created.outs as RuleOutputs)).props!.enabled, false);
    kibana.space().rules.delete(created.id);
    assert.deepEqual(await p.read!(created.id, created.outs as RuleOutputs), { id: "" });
  });

  test("diff: a reformatted esQuery is no change; a new threshold is an update; a new rule type or consumer is a replacement", async () => {
    const olds = { ...inputs, ruleId: "r" };
    const reformatted = { ...inputs, params: { ...inputs.params, esQuery: JSON.stringify(JSON.parse(inputs.params.esQuery), null, 2) } };
    assert.equal((await p.diff!("r", olds, reformatted)).changes, false);
    assert.deepEqual(await p.diff!("r", olds, { ...inputs, params: { ...inputs.params, threshold: [10] } }), { changes: true, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual((await p.diff!("r", olds, { ...inputs, consumer: "alerts" })).replaces, ["consumer"]);
    assert.deepEqual((await p.diff!("r", olds, { ...inputs, ruleTypeId: ".index-threshold" })).replaces, ["ruleTypeId"]);
    assert.equal((await p.diff!("r", olds, { ...inputs, enabled: false })).changes, true);
    assert.equal((await p.diff!("r", olds, { ...inputs, params: { ...inputs.params, esQuery: UNKNOWN } })).changes, true, "unknown in preview is a possible change, not a crash");
  });

  test("contract: update PUTs only the mutable fields, then _disable / _enable; delete tolerates 404", async () => {
    const created = await p.create(inputs);
    const news = { ...inputs, enabled: false, params: { ...inputs.params, threshold: [75], timeWindowSize: 10 } };
    const before = kibana.requests.length;
    await p.update!(created.id, created.outs!, news);
    const calls = kibana.requests.slice(before);
    assert.deepEqual(calls.map((c) => `${c.method} ${c.path}`), [`PUT /api/alerting/rule/${created.id}`, `POST /api/alerting/rule/${created.id}/_disable`]);
    assert.deepEqual(Object.keys(JSON.parse(calls[0].body)).sort(), ["actions", "name", "params", "schedule", "tags"]);
    const stored = kibana.space().rules.get(created.id);
    assert.deepEqual(stored.params.threshold, [75]);
    assert.equal(stored.enabled, false);
    await p.update!(created.id, { ...news, ruleId: created.id }, inputs);
    assert.equal(kibana.space().rules.get(created.id).enabled, true);
    await p.delete!(created.id, created.outs!);
    assert.equal(kibana.space().rules.has(created.id), false);
    await p.delete!(created.id, created.outs!);
  });

  test("contract: Kibana's 400 for an action on an unknown connector reaches the user with its message", async () => {
    await assert.rejects(p.create({ ...inputs, actions: [{ ...inputs.actions[0], connectorId: "no-such-connector" }] }),
      /POST \/api\/alerting\/rule failed with HTTP 400: Bad Request: Failed to validate actions.*action\/no-such-connector/);
  });

  test("contract: the double refuses an esQuery object (not a string), so the check that prevents it matters", async () => {
    const raw = { ...inputs, params: { ...inputs.params, esQuery: { query: { match_all: {} } } } };
    const failures = (await p.check!({} as any, raw as unknown as RuleInputs)).failures!;
    assert.match(failures.map((f) => `${f.property}: ${f.reason}`).join("\n"), /params.esQuery: esQuery must be a JSON \*string\*/);
    await assert.rejects(p.create(raw as unknown as RuleInputs), /HTTP 400.*\[esQuery\]: expected value of type \[string\]/);
  });

  test("contract: check refuses a variable an .es-query rule does not give its actions ({{context.group}} renders empty)", async () => {
    const action = { ...inputs.actions[0]!, params: { documents: [{ source: { ip: "{{context.group}}" }, at: "{{context.date}}", group: "{{alert.id}}" }] } };
    const failures = (await p.check!({} as any, { ...inputs, actions: [action] })).failures!;
    assert.deepEqual(failures.map((f) => f.property), ["actions[0].params"]);
    assert.match(failures[0]!.reason, /\{\{context\.group\}\} is not a variable Kibana gives an \.es-query rule's actions/);
  });

  test("check explains every invalid .es-query parameter", async () => {
    const reasons = async (params: Record<string, unknown>, extra: Partial<RuleInputs> = {}) =>
      (await p.check!({} as any, { ...inputs, ...extra, params: { ...inputs.params, ...params } })).failures!.map((f) => f.property).sort();
    assert.deepEqual(await reasons({ esQuery: "{\"match\":{}}" }), ["params.esQuery"]);
    assert.deepEqual(await reasons({ esQuery: "not json" }), ["params.esQuery"]);
    assert.deepEqual(await reasons({ threshold: [1, 2] }), ["params.threshold"]);
    assert.deepEqual(await reasons({ thresholdComparator: "between" }), ["params.threshold"]);
    assert.deepEqual(await reasons({ thresholdComparator: "~" }), ["params.thresholdComparator"]);
    assert.deepEqual(await reasons({ timeWindowSize: 0, timeWindowUnit: "w" }), ["params.timeWindowSize", "params.timeWindowUnit"]);
    assert.deepEqual(await reasons({ index: [] , timeField: "" }), ["params.index", "params.timeField"]);
    assert.deepEqual(await reasons({ size: 10001 }), ["params.size"]);
    // Kibana has no default for size: without it the rule is refused (rule_type_params.ts).
    assert.deepEqual(await reasons({ size: undefined }), ["params.size"]);
    assert.deepEqual(await reasons({}, { interval: "5 minutes" }), ["interval"]);
    assert.deepEqual(await reasons({}, { actions: [{ connectorId: connectorId, group: "threshold met", params: {} }] }), ["actions[0].group"]);
    assert.deepEqual(await reasons({}), []);
    // During a preview, values that depend on other resources are still unknown: they are not judged.
    assert.deepEqual(await reasons({ esQuery: UNKNOWN, threshold: UNKNOWN }, { actions: [UNKNOWN as never, { connectorId: UNKNOWN, group: "query matched", params: {} }] }), []);
  });
});
