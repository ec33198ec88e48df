// Pulumi.yaml, the committed stack files and infra/README.md stay true to infra/config.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { DEFAULTS, SECRET_KEYS, TOP_LEVEL_KEYS, parseConfig } from "../../infra/config";
import { ELASTICSEARCH_KEYS, WRITER_KEY_KEYS } from "../../infra/elastic/config";
import { scrub, withSecretStandIns } from "../../infra/plan/mockRun";
import { loadStackConfigFiles } from "../../infra/plan/stackFile";
import { rawProjectConfig } from "../../infra/stackConfig";
import { PROJECT, ROOT } from "./planHelpers";
import { exampleStackFile, loadExampleStack } from "../support/exampleStacks";

const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as {
  name: string; runtime: { name: string; options: { typescript: boolean } }; description: string;
  config: Record<string, { type: string; description: string; default?: unknown }>;
};
const projectText = readFileSync(join(ROOT, "Pulumi.yaml"), "utf8");
const readme = readFileSync(join(ROOT, "infra", "README.md"), "utf8");

test("Pulumi.yaml: project name, TypeScript nodejs runtime, description", () => {
  assert.equal(project.name, PROJECT);
  assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true } });
  assert.ok(project.description.length > 20);
});

test("Pulumi.yaml declares the scalar keys with Pulumi's types, a description and the code's defaults", () => {
  assert.deepEqual(Object.keys(project.config).sort(), ["demoNetwork", "location", "resourceGroupName", "retentionDays", "roleAssignmentWaitSeconds"]);
  for (const [key, declaration] of Object.entries(project.config)) {
    assert.ok(["string", "integer", "boolean"].includes(declaration.type), `${key}: Pulumi project config types only`);
    assert.ok(declaration.description.length > 10, key);
  }
  assert.equal(project.config.location!.default, undefined, "location is required, so it has no default");
  assert.equal(project.config.demoNetwork!.default, DEFAULTS.demoNetwork);
  assert.equal(project.config.retentionDays!.default, DEFAULTS.retentionDays);
  assert.equal(project.config.roleAssignmentWaitSeconds!.default, DEFAULTS.roleAssignmentWaitSeconds);
  assert.equal(project.config.resourceGroupName!.default, DEFAULTS.resourceGroupName);
});

test("every top-level key is declared or documented in Pulumi.yaml, and has a row in the README table", () => {
  for (const key of TOP_LEVEL_KEYS) {
    assert.ok(key in project.config || new RegExp(`^#\\s+${key} \\(`, "m").test(projectText), `Pulumi.yaml: ${key}`);
    assert.ok(readme.includes(`| \`${key}`), `README table: ${key}`);
  }
  for (const nested of ["networkWatcher.create", "networkWatcher.name", "networkWatcher.resourceGroupName", "flowLogs[].targetResourceId",
    "flowLogs[].name", "flowLogs[].adoptExisting.flowLogName", "trafficAnalytics.workspaceResourceId", "trafficAnalytics.workspaceGuid", "trafficAnalytics.workspaceRegion", "trafficAnalytics.create",
    "trafficAnalytics.intervalMinutes", "storage.accountName", "storage.sku", "storage.allowSharedKeyAccess",
    "storage.networkDefaultAction", "storage.allowedIpRanges", "storage.keepDataOnDestroy"]) {
    assert.ok(readme.includes(`| \`${nested}\``), `README table: ${nested}`);
  }
  // The Elastic side's blocks, every key (their readers live in infra/elastic/).
  for (const key of ELASTICSEARCH_KEYS) assert.ok(readme.includes(`| \`elasticsearch.${key}`), `README table: elasticsearch.${key}`);
  for (const key of WRITER_KEY_KEYS) assert.ok(readme.includes(`| \`elasticsearch.writerKey.${key}\``), `README table: elasticsearch.writerKey.${key}`);
  for (const key of ["url", "space", "caCert", "allowInsecureHttp", "alert.enabled", "alert.deniedThreshold", "alert.windowMinutes",
    "alert.lateArrivalMinutes", "alert.interval", "alert.index", "alert.webhook", "alert.email"]) {
    assert.ok(readme.includes(`| \`kibana.${key}\``), `README table: kibana.${key}`);
  }
  for (const key of SECRET_KEYS) assert.match(readme, new RegExp(`\\| \`${key}\` \\| secret string \\|`), `README: ${key} is a secret string`);
  assert.match(readme, new RegExp(`\\| \`retentionDays\` \\| integer 0-365 \\| \`${DEFAULTS.retentionDays}\``));
  assert.match(readme, new RegExp(`\\| \`roleAssignmentWaitSeconds\` \\| integer 0-3600 \\| \`${DEFAULTS.roleAssignmentWaitSeconds}\``));
  assert.match(readme, new RegExp(`\\| \`storage.sku\` \\| string \\| \`${DEFAULTS.storageSku}\``));
});

test("the shipped dev and prod examples are valid, carry no secrets, and dev has the demo network", () => {
  for (const stack of ["dev", "prod"] as const) {
    const text = readFileSync(exampleStackFile(stack), "utf8");
    assert.doesNotMatch(text, /secure:|AccountKey=/i, stack);
    // Comments say how to set the secret keys; outside comments no value is a password or a key.
    assert.doesNotMatch(text.replace(/#.*$/gm, ""), /password|apikey|secret/i, stack);
    const files = loadExampleStack(stack);
    assert.deepEqual(files.secretKeys, []);
    // Committed files cannot hold the secret-only keys; the offline plan stands in for them the same way.
    const config = parseConfig(rawProjectConfig(PROJECT, withSecretStandIns(files).config), { project: PROJECT, stack });
    if (stack === "dev") assert.notEqual(config.demoNetwork, false);
    if (stack === "prod") assert.equal(config.flowLogs.length, 3);
    assert.notEqual(config.collector, false, `${stack}: the committed example runs the collector`);
    assert.ok(config.elastic?.kibana, `${stack}: the committed example manages the Elastic side with Kibana`);
    assert.equal(config.collector && config.collector.writerKey, "managed", `${stack}: the collector gets the minted writer key`);
    assert.equal(config.collector && config.collector.elasticsearch.url, config.elastic.url, `${stack}: one URL for templates, key and collector`);
    assert.equal(config.collector && config.collector.elasticsearch.namespace, config.elastic.assets.namespace, `${stack}: one namespace`);
  }
});

// The top-level stack files are the user's (edited, secrets added with `pulumi config set --secret`), and this suite
// runs in the deploy workflow before `pulumi up`: they are held to the config check only, whatever their values.
test("every stack file at the top level passes the config check, whatever it holds", () => {
  const stacks = readdirSync(ROOT).map((name) => /^Pulumi\.(.+)\.yaml$/.exec(name)?.[1]).filter((stack): stack is string => stack !== undefined);
  assert.ok(stacks.length > 0, "no Pulumi.<stack>.yaml at the top level");
  for (const stack of stacks) {
    const files = loadStackConfigFiles({ stack, dir: ROOT });
    const deploySubscriptionId = files.config["azure-native:subscriptionId"];
    assert.doesNotThrow(() => parseConfig(rawProjectConfig(PROJECT, withSecretStandIns(files).config), { project: PROJECT, stack, deploySubscriptionId }), stack);
  }
});

test("stack files: Pulumi.yaml defaults apply under stack values, structures become JSON text, secure values stay hidden", () => {
  const dir = mkdtempSync(join(tmpdir(), "flowlogs-stackfile-"));
  try {
    writeFileSync(join(dir, "Pulumi.yaml"), "name: p\nruntime: nodejs\nconfig:\n  retentionDays:\n    type: integer\n    default: 30\n  demoNetwork:\n    type: boolean\n    default: false\n");
    writeFileSync(join(dir, "Pulumi.s.yaml"), "config:\n  p:demoNetwork: true\n  p:storage:\n    accountName: abc123\n  p:token:\n    secure: v1:abc\n  p:tags:\n    team: a\n    key:\n      secure: v1:def\n  azure-native:location: westeurope\n" +
      // `pulumi config set --secret --path kibana.alert.webhook.url ...`: a URL stand-in, which the URL check takes
      "  p:kibana:\n    alert:\n      webhook:\n        url:\n          secure: v1:ghi\n" +
      // any other encrypted URL (a cluster's) stays "[secret]": the config check refuses it rather than pass a stand-in
      "  p:elasticsearch:\n    url:\n      secure: v1:jkl\n");
    const loaded = loadStackConfigFiles({ stack: "s", dir });
    assert.deepEqual(loaded.config, {
      "p:retentionDays": "30", "p:demoNetwork": "true", "p:storage": "{\"accountName\":\"abc123\"}", "p:token": "[secret]",
      "p:tags": "{\"team\":\"a\",\"key\":\"[secret]\"}", "azure-native:location": "westeurope",
      "p:kibana": "{\"alert\":{\"webhook\":{\"url\":\"https://secret.invalid/\"}}}", "p:elasticsearch": "{\"url\":\"[secret]\"}",
    });
    assert.deepEqual(loaded.secretKeys, ["p:token", "p:tags", "p:kibana", "p:elasticsearch"]);
    assert.deepEqual(rawProjectConfig("p", loaded.config), { retentionDays: 30, demoNetwork: true, storage: { accountName: "abc123" }, token: "[secret]", tags: { team: "a", key: "[secret]" }, kibana: { alert: { webhook: { url: "https://secret.invalid/" } } }, elasticsearch: { url: "[secret]" } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("plan output never shows a secret input or an unknown value", () => {
  const wrapped = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "p@ss" };
  assert.deepEqual(scrub({ a: wrapped, b: [wrapped, "04da6b54-80e4-46f7-96ec-b56ff0331ba9"], c: { d: 1 } }),
    { a: "[secret]", b: ["[secret]", "[unknown]"], c: { d: 1 } });
});
