// Contract: the index mode the plan names is the one Elasticsearch gives the data streams, although the x-pack logsdb
// plugin (absent from the test distribution, so not reproducible here) turns logs-*-* data streams logsdb by itself.
// Its rule, from elastic/elasticsearch x-pack/plugin/logsdb/.../LogsdbIndexModeSettingsProvider.java (8.16+; 9.x
// reads the same): inject `index.mode: logsdb` when cluster.logsdb.enabled is on, the index belongs to a data stream,
// the settings the templates resolve to have no `index.mode`, and the stream's name matches `logs-*-*`
// (Regex.simpleMatch, case-sensitive). Its own tests pin the cases checked first below
// (LogsdbIndexModeSettingsProviderTests: testOnExplicitStandardIndex, testMultipleHyphensInDataStreamName, ...).
import { test } from "node:test";
import assert from "node:assert/strict";
import { FULL_CAPABILITIES, planIndexAssets, type ClusterCapabilities, type IndexAssetPlan } from "../../dashboards/src/indexAssets";

/** Regex.simpleMatch: `*` stands for any run of characters (hyphens included), everything else literally. */
function simpleMatch(pattern: string, name: string): boolean {
  const body = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${body}$`).test(name);
}

/** The provider's condition, as written in LogsdbIndexModeSettingsProvider#getAdditionalIndexSettings. */
function providerInjectsLogsdb(dataStream: string | null, settings: Record<string, unknown>, clusterLogsdbEnabled = true): boolean {
  return clusterLogsdbEnabled && dataStream !== null && settings["index.mode"] === undefined && simpleMatch("logs-*-*", dataStream);
}

/** Settings flattened to dotted keys under `index.` (Settings.fromXContent, then normalizePrefix("index.")). */
function flatSettings(settings: unknown, prefix = ""): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((settings ?? {}) as Record<string, unknown>)) {
    const path = `${prefix}${key}`;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) Object.assign(flat, flatSettings(value, `${path}.`));
    else flat[path.startsWith("index.") ? path : `index.${path}`] = value;
  }
  return flat;
}

/** MetadataIndexTemplateService.resolveSettings: the components in composed_of order, then the index template's own. */
function resolvedSettings(plan: IndexAssetPlan, templateName: string): Record<string, unknown> {
  const bodies = Object.fromEntries(plan.requests.map((request) => [`${request.kind} ${request.name}`, request.body as any]));
  const template = bodies[`index_template ${templateName}`];
  assert.ok(template, `the plan has index template ${templateName}`);
  const components = (template.composed_of as string[]).map((name) => bodies[`component_template ${name}`]?.template?.settings);
  return Object.assign({}, ...components.map((settings) => flatSettings(settings)), flatSettings(template.template?.settings));
}

/** The mode a new backing index gets on a cluster whose logsdb plugin is on (what 9.x does by default). */
function modeOnLogsdbCluster(plan: IndexAssetPlan, templateName: string, dataStream: string): string {
  const settings = resolvedSettings(plan, templateName);
  return providerInjectsLogsdb(dataStream, settings) ? "logsdb" : String(settings["index.mode"] ?? "standard");
}

const DETECTED_9X: ClusterCapabilities = { ilm: false, constantKeyword: false, ingestProcessors: [], logsdb: true, implicitLogsdb: true };
const DETECTED_8_16: ClusterCapabilities = { ilm: true, constantKeyword: true, ingestProcessors: [], logsdb: false, implicitLogsdb: true };

test("contract: the transcribed rule answers Elasticsearch's own provider test cases, and both streams of ours match logs-*-*", () => {
  assert.equal(providerInjectsLogsdb("logs-apache-production", {}), true);
  assert.equal(providerInjectsLogsdb("logs-apache-production", {}, false), false, "testDisabled");
  assert.equal(providerInjectsLogsdb(null, {}), false, "testOnIndexCreation: not a data stream");
  assert.equal(providerInjectsLogsdb("logs-apache-production", { "index.mode": "standard" }), false, "testOnExplicitStandardIndex");
  assert.equal(providerInjectsLogsdb("logs-apache-production", { "index.mode": "time_series" }), false, "testOnExplicitTimeSeriesIndex");
  assert.equal(providerInjectsLogsdb("logs", {}), false, "testNonLogsDataStream");
  assert.equal(providerInjectsLogsdb("LOGS-apache-production", {}), false, "testCaseSensitivity");
  assert.equal(providerInjectsLogsdb("logs-apache-production-eu", {}), true, "testMultipleHyphensInDataStreamName");
  const plan = planIndexAssets({ namespace: "prod" }, FULL_CAPABILITIES);
  assert.equal(providerInjectsLogsdb(plan.dataStream, {}), true, plan.dataStream);
  assert.equal(providerInjectsLogsdb(plan.deadLetterDataStream, {}), true, plan.deadLetterDataStream);
  // The settings resolve the way Elasticsearch resolves them: the logsdb component's nested index.mode is seen.
  assert.equal(resolvedSettings(plan, "azure-flowlogs-prod")["index.mode"], "logsdb");
});

test("contract: on a cluster whose logsdb plugin is on, each stream gets the mode the plan names (flows as chosen, dead letters standard)", () => {
  const cases: Array<[string, ClusterCapabilities, "auto" | "standard" | "logsdb", string]> = [
    ["full stack, standard asked", FULL_CAPABILITIES, "standard", "standard"],
    ["full stack, auto", FULL_CAPABILITIES, "auto", "logsdb"],
    ["9.x as detected, standard asked", DETECTED_9X, "standard", "standard"],
    ["9.x as detected, logsdb asked", DETECTED_9X, "logsdb", "logsdb"],
    ["8.16 (plugin, no GA logsdb), auto", DETECTED_8_16, "auto", "standard"],
  ];
  for (const [label, capabilities, indexMode, expected] of cases) {
    const plan = planIndexAssets({ namespace: "prod", indexMode }, capabilities);
    assert.equal(plan.indexMode.mode, expected, label);
    assert.equal(modeOnLogsdbCluster(plan, "azure-flowlogs-prod", plan.dataStream), plan.indexMode.mode, `${label}: flows`);
    assert.equal(modeOnLogsdbCluster(plan, "azure-flowlogs-deadletter-prod", plan.deadLetterDataStream), "standard", `${label}: dead letters`);
    if (plan.indexMode.mode === "standard") assert.match(plan.indexMode.reason, /stated as index\.mode: standard/, label);
    assert.match(plan.deadLetterIndexMode.reason, /stated as index\.mode: standard/, label);
  }
});

test("contract: where index.mode may be refused, no template names it, and a reason says when the plugin may still apply logsdb", () => {
  const refusers: Array<[string, ClusterCapabilities]> = [
    ["OpenSearch (refuses index.mode as an unknown setting)", { ilm: false, constantKeyword: true, ingestProcessors: [], distribution: "opensearch", logsdb: false, implicitLogsdb: false }],
    ["Elasticsearch before 8.16 (no logsdb plugin)", { ilm: true, constantKeyword: true, ingestProcessors: [], logsdb: false, implicitLogsdb: false }],
    ["capabilities pinned without logsdb/implicitLogsdb", { ilm: true, constantKeyword: true, ingestProcessors: ["geoip", "rename"] }],
  ];
  for (const [label, capabilities] of refusers) {
    const plan = planIndexAssets({ namespace: "prod", indexMode: "standard" }, capabilities);
    for (const name of ["azure-flowlogs-prod", "azure-flowlogs-deadletter-prod"]) {
      assert.equal(resolvedSettings(plan, name)["index.mode"], undefined, `${label}: ${name}`);
    }
    const warns = /not stated .*becomes logsdb all the same/;
    const unknown = capabilities.implicitLogsdb === undefined;
    assert.equal(warns.test(plan.indexMode.reason), unknown, `${label}: ${plan.indexMode.reason}`);
    assert.equal(warns.test(plan.deadLetterIndexMode.reason), unknown, `${label}: ${plan.deadLetterIndexMode.reason}`);
  }
});
