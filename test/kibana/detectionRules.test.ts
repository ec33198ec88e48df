// The detection rules against the Kibana double, which holds each to Kibana's schema for its rule type (sources
// in support/fakeKibana.ts): the brute-force `.es-query` rule (grouped by source.ip) through the alerting API, the
// port-scan and host-sweep threshold rules through the detection-engine API.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BlockList, isIPv4 } from "node:net";
import { KibanaConnection } from "../../infra/elastic/kibana/client";
import { checkDetectionRuleBody, detectionRuleProvider, DetectionRuleInputs } from "../../infra/elastic/kibana/detectionRuleResource";
import { bruteForceRuleArgs, NON_PUBLIC_CIDRS, scanRuleBody } from "../../infra/elastic/kibana/detections";
import { addressClass } from "../../collector/src/ecs/addressClass";
import { ruleProvider, RuleInputs } from "../../infra/elastic/kibana/ruleResource";
import { esQueryParamsProblem, FakeKibana, thresholdRuleProblem } from "./support/fakeKibana";
import { startAlertsKibana } from "./support/alertsKibana";

const API_KEY = "ZGV0ZWN0OnJ1bGVzLWtleQ==";

describe("detection rules on the Kibana double", () => {
  let kibana: FakeKibana;
  let connection: KibanaConnection;
  let connectorId: string;
  before(async () => {
    ({ kibana, connection, connectorId } = await startAlertsKibana(API_KEY));
  });
  after(() => kibana.stop());

  test("contract: the brute-force .es-query rule (groupBy top on source.ip) is accepted and reads back without drift", async () => {
    const args = bruteForceRuleArgs(connection, { flows: 30, ports: [22, 3389, 1433], windowMinutes: 5, lateArrivalMinutes: 5, connectorIds: [connectorId] });
    const checked = await ruleProvider.check!({} as any, args as unknown as RuleInputs);
    assert.deepEqual(checked.failures, []);
    const created = await ruleProvider.create(checked.inputs!);
    const stored = kibana.space().rules.get(created.id);
    assert.equal(stored.params.groupBy, "top");
    assert.equal(stored.params.termField, "source.ip");
    const read = await ruleProvider.read!(created.id, created.outs!);
    assert.equal((await ruleProvider.diff!(created.id, created.outs!, read.props as RuleInputs)).changes, false);
  });

  test("contract: the double refuses what Kibana's .es-query schema refuses for grouping and aggregation", () => {
    const params = bruteForceRuleArgs(connection, { flows: 30, ports: [22], windowMinutes: 5, lateArrivalMinutes: 5 }).params as Record<string, any>;
    assert.equal(esQueryParamsProblem(params), undefined);
    assert.match(esQueryParamsProblem({ ...params, termSize: undefined })!, /termSize required when \[groupBy\] is top/);
    assert.match(esQueryParamsProblem({ ...params, termField: undefined })!, /termField required/);
    assert.match(esQueryParamsProblem({ ...params, termSize: 1001 })!, /less than or equal to 1000/);
    assert.match(esQueryParamsProblem({ ...params, aggType: "cardinality", aggField: "destination.port" })!, /invalid aggType: "cardinality"/, "no distinct count in .es-query");
    assert.match(esQueryParamsProblem({ ...params, aggType: "sum" })!, /\[aggField\]: must have a value/);
    assert.match(esQueryParamsProblem({ ...params, groupBy: "row" })!, /should be all or top/);
    assert.match(esQueryParamsProblem({ ...params, cardinality: 3 })!, /\[cardinality\]: definition for this key is missing/);
  });

  test("contract: port-scan threshold rule: create by rule_id, read back without drift, update on a new threshold, delete", async () => {
    const inputs: DetectionRuleInputs = { connection, body: scanRuleBody("port_scan", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: connectorId, actionTypeId: ".index" }]) };
    assert.deepEqual((await detectionRuleProvider.check!({} as any, inputs)).failures, []);
    const before = kibana.requests.length;
    const created = await detectionRuleProvider.create(inputs);
    const [call] = kibana.requests.slice(before);
    assert.equal(call.method, "POST");
    assert.equal(call.path, "/api/detection_engine/rules");
    assert.equal(created.id, "flowlogs-port-scan");
    const stored = kibana.space().detectionRules.get("flowlogs-port-scan");
    assert.deepEqual(stored.threshold, { field: ["source.ip"], value: 1, cardinality: [{ field: "destination.port", value: 21 }] });
    assert.equal(stored.max_signals, 100, "Kibana's defaults are filled in");

    await assert.rejects(detectionRuleProvider.create(inputs), /rule_id "flowlogs-port-scan" already exists \(Kibana answered HTTP 409\) and this stack did not create it/);
    const read = await detectionRuleProvider.read!(created.id, created.outs!);
    assert.equal((await detectionRuleProvider.diff!(created.id, created.outs!, read.props as DetectionRuleInputs)).changes, false);

    const news: DetectionRuleInputs = { connection, body: scanRuleBody("port_scan", { distinct: 50, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: connectorId, actionTypeId: ".index" }]) };
    const diff = await detectionRuleProvider.diff!(created.id, created.outs!, news);
    assert.equal(diff.changes, true);
    assert.deepEqual(diff.replaces, []);
    await detectionRuleProvider.update!(created.id, created.outs!, news);
    assert.equal(kibana.space().detectionRules.get("flowlogs-port-scan").threshold.cardinality[0].value, 51);

    kibana.space().detectionRules.delete("flowlogs-port-scan");
    assert.equal((await detectionRuleProvider.read!(created.id, created.outs!)).id, "", "a rule deleted in Kibana reads as gone");
    await detectionRuleProvider.delete!(created.id, created.outs!);
  });

  test("contract: Kibana gives every detection-rule action a uuid of its own: a read is no drift, an action edited in Kibana still is", async () => {
    const inputs: DetectionRuleInputs = { connection, body: scanRuleBody("port_scan", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: connectorId, actionTypeId: ".index" }]) };
    const created = await detectionRuleProvider.create(inputs);
    const [stored] = kibana.space().detectionRules.get("flowlogs-port-scan").actions;
    assert.match(stored.uuid, /^[0-9a-f-]{36}$/, "the double answers as Kibana does");
    const read = await detectionRuleProvider.read!(created.id, created.outs!);
    assert.equal((await detectionRuleProvider.diff!(created.id, created.outs!, read.props as DetectionRuleInputs)).changes, false);
    stored.params = { documents: [{ edited: "in Kibana" }] };
    const edited = await detectionRuleProvider.read!(created.id, created.outs!);
    assert.equal((await detectionRuleProvider.diff!(created.id, { ...(edited.props as DetectionRuleInputs), ruleId: created.id }, inputs)).changes, true);
    await detectionRuleProvider.delete!(created.id, created.outs!);
  });

  test("contract: a new rule_id another stack already has: the replacement is created first, Kibana's 409 stops it naming the namespace and the fix, the old rule stays", async () => {
    const action = [{ id: connectorId, actionTypeId: ".index" as const }];
    const inNamespace = (namespace: string): DetectionRuleInputs => {
      const body = scanRuleBody("host_sweep", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5 }, action);
      return { connection, namespace, body: { ...body, rule_id: `${body.rule_id}-${namespace}` } };
    };
    const dev = await detectionRuleProvider.create(inNamespace("dev"));
    const prod = await detectionRuleProvider.create(inNamespace("prod"));
    const moved = inNamespace("dev");
    const diff = await detectionRuleProvider.diff!(prod.id, prod.outs!, moved);
    assert.deepEqual(diff.replaces, ["body.rule_id"]);
    assert.equal(diff.deleteBeforeReplace, false, "the engine creates the replacement before it deletes the old rule");
    await assert.rejects(detectionRuleProvider.create(moved), (error: Error) => {
      assert.match(error.message, /detection rule_id "flowlogs-host-sweep-dev" already exists \(Kibana answered HTTP 409\) and this stack did not create it, so it was left as it is/);
      assert.match(error.message, /their owner is the stack that writes namespace "dev" in Kibana space "default"\. Fix: set elasticsearch\.namespace to a namespace no other stack/);
      return true;
    });
    assert.deepEqual([...kibana.space().detectionRules.keys()].filter((id) => id.startsWith("flowlogs-host-sweep")).sort(), ["flowlogs-host-sweep-dev", "flowlogs-host-sweep-prod"]);
    for (const created of [dev, prod]) await detectionRuleProvider.delete!(created.id, created.outs!);
  });

  test("contract: the scan rules' schedule (every 1m over now-12m..now-5m) is accepted and reads back without drift; Kibana's rule form writing to: now is drift", async () => {
    const inputs: DetectionRuleInputs = { connection, body: scanRuleBody("host_sweep", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: connectorId, actionTypeId: ".index" }]) };
    assert.deepEqual((await detectionRuleProvider.check!({} as any, inputs)).failures, []);
    const created = await detectionRuleProvider.create(inputs);
    const stored = kibana.space().detectionRules.get("flowlogs-host-sweep");
    assert.deepEqual([stored.interval, stored.from, stored.to], ["1m", "now-12m", "now-5m"]);
    const read = await detectionRuleProvider.read!(created.id, created.outs!);
    assert.equal((await detectionRuleProvider.diff!(created.id, created.outs!, read.props as DetectionRuleInputs)).changes, false);
    // Saving the schedule in Kibana's rule form rewrites from and to (formatScheduleStepData: now-<seconds>s, to: now),
    // dropping the late-arrival offset: the next read shows it, and `pulumi up` puts it back.
    Object.assign(stored, { from: "now-420s", to: "now" });
    const edited = await detectionRuleProvider.read!(created.id, created.outs!);
    assert.equal((await detectionRuleProvider.diff!(created.id, { ...(edited.props as DetectionRuleInputs), ruleId: created.id }, inputs)).changes, true);
    await detectionRuleProvider.delete!(created.id, created.outs!);
  });

  test("contract: a `to` that is not date math is refused (Kibana parses it only when the rule runs, and fails every run); check() names from/to and a window that leaves minutes unsearched", () => {
    const connectors = kibana.space().connectors;
    const body = scanRuleBody("port_scan", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: connectorId, actionTypeId: ".index" }]);
    assert.equal(thresholdRuleProblem({ ...body, to: "now" }, connectors), undefined);
    assert.match(thresholdRuleProblem({ ...body, to: "5 minutes ago" }, connectors)!, /Failed to parse date math of rule.from or rule.to/);
    assert.deepEqual(checkDetectionRuleBody(body), []);
    assert.deepEqual(checkDetectionRuleBody({ ...body, to: "5 minutes ago" }).map((f) => f.property), ["body.to"]);
    // Kibana takes a window shorter than the interval (elastic/kibana#154963); the minutes between runs would go unsearched.
    const gap = checkDetectionRuleBody({ ...body, interval: "10m" });
    assert.deepEqual(gap.map((f) => f.property), ["body.from"]);
    assert.match(gap[0].reason, /from "now-12m" to "now-5m" is shorter than the interval 10m/);
  });

  test("contract: the double refuses threshold bodies Kibana's detection-engine schema refuses; check() names the field", async () => {
    const connectors = kibana.space().connectors;
    const body = scanRuleBody("host_sweep", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: connectorId, actionTypeId: ".index" }]);
    assert.equal(thresholdRuleProblem(body, connectors), undefined);
    assert.match(thresholdRuleProblem({ ...body, threshold: { ...body.threshold, value: 0 } }, connectors)!, /threshold.value/);
    assert.match(thresholdRuleProblem({ ...body, threshold: { ...body.threshold, cardinality: [{ field: "destination.ip", value: -1 }] } }, connectors)!, /cardinality/);
    assert.match(thresholdRuleProblem({ ...body, severity: "urgent" }, connectors)!, /severity/);
    assert.match(thresholdRuleProblem({ ...body, actions: [{ ...body.actions[0], group: "query matched" }] }, connectors)!, /Invalid action groups/);
    assert.match(thresholdRuleProblem({ ...body, actions: [{ ...body.actions[0], id: "nope" }] }, connectors)!, /not found/);
    const failures = await detectionRuleProvider.check!({} as any, { connection, body: { ...body, severity: "urgent" as any } });
    assert.deepEqual(failures.failures!.map((f) => f.property), ["body.severity"]);
  });
});


test("the brute-force rule leaves out exactly the sources the collector classes as not public (azure.flowlog.source_address_class)", () => {
  const excluded = new BlockList();
  for (const cidr of NON_PUBLIC_CIDRS) {
    const [network, bits] = cidr.split("/");
    excluded.addSubnet(network!, Number(bits), isIPv4(network!) ? "ipv4" : "ipv6");
  }
  const edges = [
    "9.255.255.255", "10.0.0.0", "10.255.255.255", "11.0.0.0", "172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0",
    "192.167.255.255", "192.168.0.0", "192.168.255.255", "192.169.0.0", "100.63.255.255", "100.64.0.0", "100.127.255.255", "100.128.0.0",
    "169.253.255.255", "169.254.0.0", "169.254.169.254", "169.254.255.255", "169.255.0.0", "126.255.255.255", "127.0.0.1", "128.0.0.0",
    "168.63.129.15", "168.63.129.16", "168.63.129.17", "203.0.113.9", "8.8.8.8",
    "fbff:ffff::1", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::1", "fe80::1", "febf:ffff::1", "fec0::1", "::1", "::2", "2001:db8::1",
  ];
  for (const ip of edges) {
    const family = isIPv4(ip) ? "ipv4" : "ipv6";
    assert.equal(excluded.check(ip, family), addressClass(ip) !== "public", `${ip}: collector says ${addressClass(ip)}`);
  }
});
