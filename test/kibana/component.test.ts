// The component as a Pulumi program sees it (runtime mocks): which resources, with which inputs, and that the
// credentials only ever travel as secrets.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
// The module declares nothing when imported, so a static import before setMocks is safe.
import { buildImportNdjson, FlowlogsKibana } from "../../infra/elastic/kibana";
import { unknownEsQueryVariables } from "../../infra/elastic/kibana/ruleResource";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const API_KEY = "Y29tcG9uZW50OnZlcnktc2VjcmV0LWtleQ==";
const WEBHOOK_PASSWORD = "webhook-very-secret-password";
const registered: Array<{ type: string; name: string; inputs: any }> = [];
/** What the saved-objects provider answers for resources named so: Kibana gave the dashboard a new id on import. */
const COPIED_DASHBOARD = "3f0c8a2e-6c1d-4b7e-9a51-2d5e8f1b7c40";

pulumi.runtime.setMocks({
  newResource(args) {
    registered.push({ type: args.type, name: args.name, inputs: args.inputs });
    const idMap = args.name.startsWith("copied-") ? { "dashboard/flowlogs-overview": `dashboard/${COPIED_DASHBOARD}` } : undefined;
    return { id: `${args.name}-id`, state: { ...args.inputs, connectorId: `${args.name}-id`, ruleId: `${args.name}-id`, idMap } };
  },
  call: () => ({}),
}, "flowlogs-to-elastic", "test", false);

test("FlowlogsKibana declares saved objects, the .index connector, an optional webhook and the denied-flows rule, with credentials only as secrets", async () => {
  const kibana = new FlowlogsKibana("kibana", {
    connection: { url: "https://kibana.example.com", apiKey: API_KEY, space: "netops" },
    alert: { deniedThreshold: 100, windowMinutes: 5, webhook: { config: { url: "https://hooks.example.com/x", method: "post" }, secrets: { user: "u", password: WEBHOOK_PASSWORD } } },
  });
  await new Promise<void>((resolve) => kibana.rule!.ruleId.apply(() => resolve()));
  const byType = (suffix: string) => registered.filter((r) => r.type.endsWith(suffix));
  assert.deepEqual(registered.map((r) => r.type).sort(), [
    "flowlogs:elastic:Kibana",
    "pulumi-nodejs:dynamic/flowlogs:kibana:Connector",
    "pulumi-nodejs:dynamic/flowlogs:kibana:Connector",
    "pulumi-nodejs:dynamic/flowlogs:kibana:Rule",
    "pulumi-nodejs:dynamic/flowlogs:kibana:SavedObjects",
  ]);
  for (const resource of registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"))) {
    assert.equal(resource.inputs.connection[SECRET_SIG] !== undefined, true, `${resource.name}: connection is a secret`);
    const plain = JSON.stringify({ ...resource.inputs, connection: undefined, secrets: undefined, __provider: undefined });
    assert.ok(!plain.includes(API_KEY) && !plain.includes(WEBHOOK_PASSWORD), `${resource.name}: no credential outside secrets`);
  }
  assert.equal(byType(":SavedObjects")[0].inputs.ndjson, buildImportNdjson());
  const [index, webhook] = byType(":Connector").sort((a, b) => a.name.localeCompare(b.name));
  assert.equal(index.inputs.connectorTypeId, ".index");
  assert.equal(index.inputs.config.index, "flowlogs-alerts");
  assert.equal(webhook.inputs.connectorTypeId, ".webhook");
  assert.equal(webhook.inputs.secrets[SECRET_SIG] !== undefined, true, "webhook secrets are secret");
  const rule = byType(":Rule")[0].inputs;
  assert.equal(rule.name, "Denied flows above 100 in 5 minutes");
  assert.deepEqual(rule.params.threshold, [100]);
  assert.equal(rule.params.timeWindowSize, 12, "5 minutes, +1 interval, +1 margin, ending lateArrivalMinutes (default 5) before the run");
  assert.deepEqual(rule.actions.map((a: any) => a.connectorId).sort(), ["kibana-alert-index-id", "kibana-alert-webhook-id"]);
  assert.ok(rule.actions.every((a: any) => a.group === "query matched"));
  assert.throws(() => new FlowlogsKibana("bad", { connection: { url: "https://k", apiKey: "k" }, alert: { deniedThreshold: 1, windowMinutes: 0 } }), /windowMinutes must be a whole number of minutes >= 1/);
  assert.throws(() => new FlowlogsKibana("bad", { connection: { url: "https://k", apiKey: "k" }, alert: { deniedThreshold: 1, windowMinutes: 5, lateArrivalMinutes: -1 } }), /lateArrivalMinutes must be a whole number of minutes >= 0/);
});

test("the dashboard path uses the id Kibana's import returned (destinationId), not the declared one", async () => {
  const resolve = <T>(value: pulumi.Input<T>) => new Promise<T>((done) => pulumi.output(value).apply((v) => done(v as T)));
  const copied = new FlowlogsKibana("copied", { connection: { url: "https://kibana.example.com", apiKey: API_KEY, space: "netops" } });
  assert.equal(await resolve(copied.dashboardPath), `/app/dashboards#/view/${COPIED_DASHBOARD}`);
  // Before Kibana has answered (the offline plan under mocks) the declared id from the files is all there is.
  const planned = new FlowlogsKibana("planned", { connection: { url: "https://kibana.example.com", apiKey: API_KEY } });
  assert.equal(await resolve(planned.dashboardPath), "/app/dashboards#/view/flowlogs-overview");
});

test("contract: every .es-query rule the component declares (denied flows, brute force; index, webhook, email) uses only variables Kibana gives its actions", async () => {
  const before = registered.length;
  const kibana = new FlowlogsKibana("variables", {
    connection: { url: "https://kibana.example.com", apiKey: API_KEY },
    alert: {
      deniedThreshold: 100, windowMinutes: 5,
      webhook: { config: { url: "https://hooks.example.com/x", method: "post" }, secrets: { user: "u", password: WEBHOOK_PASSWORD } },
      email: { to: ["soc@example.com"], config: { from: "alerts@example.com", service: "other", host: "smtp.example.com", port: 587 }, secrets: { user: "u", password: "p" } },
      detections: { bruteForceFlows: 30, bruteForcePorts: [22, 3389], portScanPorts: 20, portScanHosts: 20 },
    },
  } as ConstructorParameters<typeof FlowlogsKibana>[1]);
  await new Promise<void>((resolve) => kibana.rule!.ruleId.apply(() => resolve()));
  const rules = registered.slice(before).filter((r) => r.type.endsWith(":Rule") && r.inputs.ruleTypeId === ".es-query");
  assert.deepEqual(rules.map((r) => r.name).sort(), ["variables-brute-force", "variables-denied-flows"]);
  for (const rule of rules) {
    assert.equal(rule.inputs.actions.length, 3, `${rule.name}: index, webhook and email actions`);
    assert.deepEqual(unknownEsQueryVariables(rule.inputs.actions.map((a: any) => a.params)), [], rule.name);
  }
});
