// FlowlogsKibana per namespace, as a Pulumi program declares it (runtime mocks): namespace `default` declares every
// resource with exactly the inputs of the builders it always called (an existing stack sees no change), another
// namespace declares its own ids, rule_ids and names, reading only its data stream.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
// The modules declare nothing when imported, so static imports before setMocks are safe.
import { bruteForceRuleArgs, buildImportNdjson, deniedFlowsRuleArgs, FlowlogsKibana, indexConnectorArgs, newDestinationRuleBody, scanRuleBody } from "../../infra/elastic/kibana";

const registered: Array<{ type: string; name: string; inputs: any }> = [];

pulumi.runtime.setMocks({
  newResource(args) {
    registered.push({ type: args.type, name: args.name, inputs: args.inputs });
    return { id: `${args.name}-id`, state: { ...args.inputs, connectorId: `${args.name}-id`, ruleId: `${args.name}-id` } };
  },
  call: () => ({}),
}, "flowlogs-to-elastic", "test", false);

const connection = { url: "https://kibana.example.com", apiKey: "a2V5", space: "netops" };
const alert = {
  deniedThreshold: 100, windowMinutes: 5,
  detections: { bruteForceFlows: 30, bruteForcePorts: [22, 3389], portScanPorts: 20, portScanHosts: 25, newDestinationHistoryDays: 14 },
  webhook: { config: { url: "https://hooks.example.com/x", method: "post" } },
};
const settled = (component: FlowlogsKibana) => new Promise<void>((resolve) => pulumi.all(component.detectionRules.map((r) => r.ruleId)).apply(() => resolve()));

/** What one component declared, by resource name without the component's prefix. */
async function declare(name: string, namespace?: string): Promise<Record<string, any>> {
  const component = new FlowlogsKibana(name, { connection, namespace, alert });
  await settled(component);
  // Without the serialized provider code (`__provider`), which is the same for every stack.
  const inputs = (r: typeof registered[number]) => Object.fromEntries(Object.entries(r.inputs).filter(([key]) => key !== "__provider"));
  return Object.fromEntries(registered.filter((r) => r.name.startsWith(`${name}-`)).map((r) => [r.name.slice(name.length + 1), inputs(r)]));
}

/** What of a rule's inputs its provider compares (as stable JSON: key order is no change), the connection aside. */
const ruleOf = (inputs: any) => ({ name: inputs.name, interval: inputs.interval, tags: inputs.tags, params: inputs.params });

test("namespace default: the NDJSON is the builder's byte for byte, every other input the builders' own output (no replacement, no update)", async () => {
  const declared = await declare("kibana");
  assert.equal(declared["saved-objects"].ndjson, buildImportNdjson());
  const index = indexConnectorArgs(connection);
  assert.deepEqual([declared["alert-index"].name, declared["alert-index"].config], [index.name, index.config]);
  assert.equal(declared["alert-webhook"].name, "Flow-log alerts webhook (Gold license)");
  assert.deepEqual(ruleOf(declared["denied-flows"]), ruleOf(deniedFlowsRuleArgs(connection, { threshold: 100, windowMinutes: 5, lateArrivalMinutes: 5 })));
  assert.deepEqual(ruleOf(declared["brute-force"]), ruleOf(bruteForceRuleArgs(connection, { flows: 30, ports: [22, 3389], windowMinutes: 5, lateArrivalMinutes: 5 })));
  const actions = [{ id: "kibana-alert-index-id", actionTypeId: ".index" as const }];
  const webhook = declared["port-scan"].body.actions[1];
  const withWebhook = (body: any) => ({ ...body, actions: [...body.actions, webhook] });
  assert.deepEqual(declared["port-scan"].body, withWebhook(scanRuleBody("port_scan", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5 }, actions)));
  assert.deepEqual(declared["host-sweep"].body, withWebhook(scanRuleBody("host_sweep", { distinct: 25, windowMinutes: 5, lateArrivalMinutes: 5 }, actions)));
  for (const kind of ["country", "asn"] as const) {
    const built = withWebhook(newDestinationRuleBody(kind, { historyDays: 14, windowMinutes: 5, lateArrivalMinutes: 5 }, actions));
    assert.deepEqual(declared[`new-destination-${kind}`].body, built);
  }
  // The identities Kibana keys them by, spelled out: these must never move for namespace default.
  assert.deepEqual(["port-scan", "host-sweep", "new-destination-country", "new-destination-asn"].map((r) => declared[r].body.rule_id),
    ["flowlogs-port-scan", "flowlogs-host-sweep", "flowlogs-new-destination-country", "flowlogs-new-destination-asn"]);
  assert.equal(declared["denied-flows"].name, "Denied flows above 100 in 5 minutes");
  assert.deepEqual(declared["denied-flows"].params.index, ["logs-azure.flowlogs-*"]);
  assert.equal(declared["alert-index"].config.index, "flowlogs-alerts");
});

test("namespaces dev and prod: each declares its own ids, rule_ids and names, and reads only its own data stream", async () => {
  const byNamespace = { dev: await declare("dev-kibana", "dev"), prod: await declare("prod-kibana", "prod") };
  for (const [namespace, declared] of Object.entries(byNamespace)) {
    const other = namespace === "dev" ? "prod" : "dev";
    const stream = `logs-azure.flowlogs-${namespace}`;
    assert.equal(declared["saved-objects"].ndjson.includes('"id":"flowlogs-overview-' + namespace + '"'), true);
    assert.deepEqual([declared["denied-flows"].params.index, declared["brute-force"].params.index], [[stream], [stream]]);
    for (const rule of ["port-scan", "host-sweep", "new-destination-country", "new-destination-asn"]) {
      const body = declared[rule].body;
      assert.equal(body.rule_id, `flowlogs-${rule}-${namespace}`);
      assert.deepEqual(body.index, [stream], rule);
      assert.ok(body.name.endsWith(` [${namespace}]`), body.name);
    }
    for (const resource of ["alert-index", "alert-webhook", "denied-flows", "brute-force"]) assert.ok(declared[resource].name.endsWith(` [${namespace}]`), declared[resource].name);
    assert.equal(declared["alert-index"].config.index, `flowlogs-alerts-${namespace}`);
    // Nothing of the other stack's, and nothing that reads every namespace.
    const text = JSON.stringify(declared);
    for (const foreign of [`-${other}"`, `[${other}]`, "logs-azure.flowlogs-*", "flowlogs-alerts*"]) assert.ok(!text.includes(foreign), `${namespace} declares ${foreign}`);
  }
});

test("a namespace Kibana ids cannot carry is refused before the component declares anything", () => {
  const before = registered.length;
  assert.throws(() => new FlowlogsKibana("bad", { connection, namespace: "Prod-1", alert }),
    /namespace \(elasticsearch\.namespace\): invalid data stream namespace "Prod-1": use 1-100 characters of a-z, 0-9 and "_"/);
  assert.throws(() => new FlowlogsKibana("bad2", { connection, alert: { ...alert, windowMinutes: 0 } }), /windowMinutes must be a whole number/);
  assert.equal(registered.length, before, "no component, no saved objects, no connector");
});
