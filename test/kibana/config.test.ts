import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { flowlogsKibanaArgs, KIBANA_DEFAULTS, readKibanaConfig } from "../../infra/elastic/kibana/config";

function read(value: unknown) {
  const problems: string[] = [];
  const settings = readKibanaConfig(value, (key, text) => problems.push(`${key}: ${text}`));
  return { settings, problems };
}

test("kibana config: defaults for the alert, nothing when the block is absent", () => {
  assert.deepEqual(read(undefined), { settings: undefined, problems: [] });
  const { settings, problems } = read({ url: "https://kibana.example.com:5601" });
  assert.deepEqual(problems, []);
  assert.deepEqual(settings!.alert, {
    deniedThreshold: KIBANA_DEFAULTS.deniedThreshold, windowMinutes: 5, lateArrivalMinutes: 5, interval: "1m", alertIndex: "flowlogs-alerts",
    bruteForceFlows: 30, bruteForcePorts: [22, 3389, 1433], portScanPorts: 20, portScanHosts: 20, newDestinationHistoryDays: 14,
  });
  assert.equal(read({ url: "https://k.example.com", alert: { enabled: false } }).settings!.alert, undefined);
});

test("kibana config: another namespace's alerts go to its own index by default; a configured index is kept", () => {
  const forNamespace = (value: unknown, namespace: string) => readKibanaConfig(value, () => assert.fail("no problem expected"), namespace)!.alert!.alertIndex;
  assert.equal(forNamespace({ url: "https://k.example.com" }, "default"), "flowlogs-alerts");
  assert.equal(forNamespace({ url: "https://k.example.com" }, "prod_weu"), "flowlogs-alerts-prod_weu");
  assert.equal(forNamespace({ url: "https://k.example.com", alert: { index: "flowlogs-alerts" } }, "dev"), "flowlogs-alerts");
});

test("kibana config: every problem names its key and the fix", () => {
  const { problems } = read({
    url: "kibana", space: "Net Ops", caCert: "x", colour: "red",
    alert: { deniedThreshold: -1, windowMinutes: 2.5, interval: "5 min", index: "Alerts*", webhook: { url: "ftp://x" }, email: { from: "a@b" }, foo: 1 },
  });
  const keys = problems.map((p) => p.split(":")[0]).sort();
  assert.deepEqual(keys, [
    "kibana.alert.deniedThreshold", "kibana.alert.email", "kibana.alert.foo", "kibana.alert.index", "kibana.alert.interval",
    "kibana.alert.webhook.url", "kibana.alert.windowMinutes", "kibana.caCert", "kibana.colour", "kibana.space", "kibana.url",
  ]);
  assert.match(problems.find((p) => p.startsWith("kibana.alert.webhook.url"))!, /Gold license/);
});

test("kibana config: misspelt keys at every level are errors with a did-you-mean, down to the webhook and email blocks", () => {
  const { problems } = read({
    url: "https://k.example.com", spaec: "netops",
    alert: {
      deniedTreshold: 5,
      webhook: { url: "https://hooks.example.com", usr: "bot" },
      email: { from: "a@example.com", host: "smtp.example.com", port: 587, to: ["b@example.com"], secure: "yes", users: "bot" },
    },
  });
  assert.deepEqual(problems.sort(), [
    'kibana.alert.deniedTreshold: is not an alert setting (did you mean "kibana.alert.deniedThreshold"?); known: enabled, deniedThreshold, windowMinutes, lateArrivalMinutes, interval, index, webhook, email, bruteForceFlows, bruteForcePorts, portScanPorts, portScanHosts, newDestinationHistoryDays',
    "kibana.alert.email.secure: must be true (TLS from the start) or false (STARTTLS or none)",
    'kibana.alert.email.users: is not an email setting (did you mean "kibana.alert.email.user"?); known: from, host, port, secure, user, to',
    'kibana.alert.webhook.usr: is not a webhook setting (did you mean "kibana.alert.webhook.user"?); known: url, method, user',
    'kibana.spaec: is not a Kibana setting (did you mean "kibana.space"?); known: url, space, caCert, allowInsecureHttp, alert',
  ]);
});

test("kibana config + secrets -> component arguments, credentials wrapped as secrets; missing credentials explained", async () => {
  const { settings } = read({ url: "https://k.example.com", space: "netops", alert: { deniedThreshold: 20, webhook: { url: "https://hooks.example.com", user: "bot" } } });
  const args = flowlogsKibanaArgs(settings!, { apiKey: "a2V5", webhookPassword: pulumi.secret("pw") });
  const connection = pulumi.output(args.connection);
  assert.equal(await (connection as any).isSecret, true);
  const value = await new Promise((resolve) => connection.apply(resolve));
  assert.deepEqual(value, { url: "https://k.example.com", space: "netops", caCert: undefined, allowInsecureHttp: undefined, apiKey: "a2V5" });
  assert.equal(args.alert!.deniedThreshold, 20);
  // The URL may be the credential (a token in its path): a secret in the state, whatever the config said.
  const webhookConfig = pulumi.output(args.alert!.webhook!.config);
  assert.equal(await (webhookConfig as any).isSecret, true, "the webhook URL is a secret");
  assert.deepEqual(await new Promise((resolve) => webhookConfig.apply(resolve)), { url: "https://hooks.example.com", method: "post", hasAuth: true });
  assert.equal(await (pulumi.output(args.alert!.webhook!.secrets!) as any).isSecret, true);
  assert.throws(() => flowlogsKibanaArgs(settings!, {}), /pulumi config set --secret kibanaApiKey/);
});

test("kibana config: detection thresholds are validated, each problem naming its key and the fix", () => {
  const { settings, problems } = read({ url: "https://k.example.com", alert: { bruteForceFlows: 0, bruteForcePorts: [22, 70000], portScanPorts: 2.5, portScanHosts: "many" } });
  assert.deepEqual(problems.map((p) => p.split(":")[0]).sort(), ["kibana.alert.bruteForceFlows", "kibana.alert.bruteForcePorts", "kibana.alert.portScanHosts", "kibana.alert.portScanPorts"]);
  assert.match(problems.find((p) => p.startsWith("kibana.alert.bruteForcePorts"))!, /list of port numbers 0-65535, e\.g\. \[22, 3389, 1433\].*pulumi config set --path/);
  assert.match(problems.find((p) => p.startsWith("kibana.alert.bruteForceFlows"))!, /whole number >= 1 \(got 0\); default 30/);
  assert.ok(settings);
  // What `pulumi config set --path 'kibana.alert.bruteForcePorts[3]' 5432` writes on a stack without the list.
  const holes = read({ url: "https://k.example.com", alert: { bruteForcePorts: [null, null, null, 5432] } });
  assert.match(holes.problems.join("\n"), /^kibana\.alert\.bruteForcePorts: .*\[null,null,null,5432\].*set every index from \[0\]/m);
  const custom = read({ url: "https://k.example.com", alert: { bruteForceFlows: 10, bruteForcePorts: [22, 5432, 22], portScanPorts: 50, portScanHosts: 40 } });
  assert.deepEqual(custom.problems, []);
  assert.deepEqual(custom.settings!.alert!.bruteForcePorts, [22, 5432], "duplicates dropped");
  const args = flowlogsKibanaArgs(custom.settings!, { apiKey: "k" });
  assert.deepEqual(args.alert!.detections, { bruteForceFlows: 10, bruteForcePorts: [22, 5432], portScanPorts: 50, portScanHosts: 40, newDestinationHistoryDays: 14 });
});

test("kibana config: newDestinationHistoryDays is whole days >= 0, longer than the window; 0 declares no new-destination rules", () => {
  const bad = read({ url: "https://k.example.com", alert: { newDestinationHistoryDays: 1.5 } });
  assert.deepEqual(bad.problems.map((p) => p.split(":")[0]), ["kibana.alert.newDestinationHistoryDays"]);
  assert.match(bad.problems[0], /whole number >= 0 \(got 1.5\); default 14/);
  const short = read({ url: "https://k.example.com", alert: { newDestinationHistoryDays: 1, windowMinutes: 1440 } });
  assert.deepEqual(short.problems, ["kibana.alert.newDestinationHistoryDays: must reach back further than kibana.alert.lateArrivalMinutes + windowMinutes + 1 (1446 minutes, the rules' look-back): raise it above 1, or set 0 to declare no new-destination rules"]);
  // The late-arrival allowance counts: 1 day of history reaches further than 5 + 1433 + 1 minutes, not than 5 + 1434 + 1.
  assert.deepEqual(read({ url: "https://k.example.com", alert: { newDestinationHistoryDays: 1, windowMinutes: 1433 } }).problems, []);
  assert.deepEqual(read({ url: "https://k.example.com", alert: { newDestinationHistoryDays: 1, windowMinutes: 1434 } }).problems.map((p) => p.split(":")[0]), ["kibana.alert.newDestinationHistoryDays"]);
  const off = read({ url: "https://k.example.com", alert: { newDestinationHistoryDays: 0, windowMinutes: 1440 } });
  assert.deepEqual(off.problems, []);
  assert.equal(flowlogsKibanaArgs(off.settings!, { apiKey: "k" }).alert!.detections!.newDestinationHistoryDays, 0);
  assert.equal(flowlogsKibanaArgs(read({ url: "https://k.example.com", alert: { newDestinationHistoryDays: 30 } }).settings!, { apiKey: "k" }).alert!.detections!.newDestinationHistoryDays, 30);
});

test("kibana config: lateArrivalMinutes is whole minutes from 0 to a day, default 5, and reaches the component", () => {
  for (const bad of [-1, 2.5, "5m"]) {
    const found = read({ url: "https://k.example.com", alert: { lateArrivalMinutes: bad } }).problems;
    assert.deepEqual(found, [`kibana.alert.lateArrivalMinutes: must be a whole number >= 0 (got ${JSON.stringify(bad)}); default 5`]);
  }
  const long = read({ url: "https://k.example.com", alert: { lateArrivalMinutes: 1441 } }).problems;
  assert.equal(long.length, 1);
  assert.match(long[0], /^kibana\.alert\.lateArrivalMinutes: must be at most 1440 .*every alert waits that long.*flowlogs_lag_seconds.*run the Security rules manually/);
  const zero = read({ url: "https://k.example.com", alert: { lateArrivalMinutes: 0 } });
  assert.deepEqual(zero.problems, []);
  assert.equal(flowlogsKibanaArgs(zero.settings!, { apiKey: "k" }).alert!.lateArrivalMinutes, 0);
  assert.equal(flowlogsKibanaArgs(read({ url: "https://k.example.com" }).settings!, { apiKey: "k" }).alert!.lateArrivalMinutes, 5);
});
