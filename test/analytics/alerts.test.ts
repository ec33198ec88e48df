// The "Recent alerts" panel on the real Elasticsearch: alert documents shaped exactly as the `.index` connector
// writes them (each rule's action params, its mustache variables rendered to strings) go into the alert index
// through the project's template, and the panel's own search lists them newest first with typed fields.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { elasticsearchUrl } from "../support/env";
import { esClient } from "../support/esClient";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { bruteForceRuleArgs, scanRuleBody } from "../../infra/elastic/kibana/detections";
import { deniedFlowsRuleArgs } from "../../infra/elastic/kibana/ruleResource";
import { loadSavedObjects } from "../../infra/elastic/kibana/savedObjects";
import { savedSearchToSearch } from "../../infra/elastic/kibana/searchQuery";

/** Mustache `{{a.b}}` variables only (all the params use): anything else fails rather than render differently. */
function render(value: unknown, context: Record<string, unknown>): unknown {
  if (typeof value === "string") {
    if (/\{\{[#^/!>&{]/.test(value)) throw new Error(`mustache beyond plain variables in ${value}`);
    return value.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, path: string) => {
      const found = path.split(".").reduce<any>((o, k) => o?.[k], context);
      if (found === undefined) throw new Error(`no value for {{${path}}}`);
      return String(found);
    });
  }
  if (Array.isArray(value)) return value.map((v) => render(v, context));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, context)]));
  return value;
}

const connection = { url: "https://kibana.invalid", apiKey: "x" };
const connectorIds = ["index-connector"];
const bruteForce = bruteForceRuleArgs(connection, { flows: 30, ports: [22, 3389, 1433], windowMinutes: 5, lateArrivalMinutes: 5, connectorIds });
const denied = deniedFlowsRuleArgs(connection, { threshold: 100, windowMinutes: 5, lateArrivalMinutes: 5, connectorIds });
const portScan = scanRuleBody("port_scan", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: "index-connector", actionTypeId: ".index" }]);
const documentsOf = (params: any) => params.documents as Array<Record<string, unknown>>;
const alertIndex = `flowlogs-alerts-test-${Date.now().toString(36)}`;
let es: Client;

before(async () => {
  es = esClient(elasticsearchUrl());
  await applyIndexAssets(es, { namespace: "alerts" });
  const rule = (id: string, name: string) => ({ id, name });
  const docs = [
    ...documentsOf((bruteForce.actions as any[])[0].params).map((d) => render(d, {
      // As Kibana's .es-query executor gives them: no group in the context; a grouped rule's alert id is the group.
      rule: rule("r-bf", "Brute force"), alert: { id: "198.51.100.200" }, context: { date: "2026-11-20T10:05:00.000Z", value: 36, message: "Document count is 36 in the last 12m for 198.51.100.200", conditions: "Number of matching documents for group \"198.51.100.200\" is greater than 30" },
    })),
    ...documentsOf((denied.actions as any[])[0].params).map((d) => render(d, {
      rule: rule("r-denied", "Denied flows"), context: { date: "2026-11-20T10:03:00.000Z", value: 140, message: "140 denied flows", conditions: "count is greater than 100" },
    })),
    ...documentsOf(portScan.actions[0].params).map((d) => render(d, {
      rule: rule("r-scan", "Port scan"), date: "2026-11-20T10:07:30.000Z", state: { signals_count: 1 },
    })),
  ];
  const answer = await es.bulk({ operations: docs.flatMap((doc) => [{ index: { _index: alertIndex } }, doc]), refresh: true });
  assert.equal(answer.errors, false, JSON.stringify(answer.items.find((i) => i.index?.error)));
});
after(async () => {
  await es?.indices.delete({ index: alertIndex }, { ignore: [404] });
  await es?.close();
});

test("the alert index template types the connector's strings: @timestamp a date, counts numbers, source.ip an ip", async () => {
  const mapping: any = (await es.indices.getMapping({ index: alertIndex }))[alertIndex].mappings.properties;
  assert.equal(mapping["@timestamp"].type, "date");
  assert.equal(mapping.flows.type, "long");
  assert.equal(mapping.alerts.type, "long");
  assert.equal(mapping.source.properties.ip.type, "ip");
});

test("Recent alerts panel: its search lists the alerts newest first, with the exact rows", async () => {
  const objects = loadSavedObjects();
  const panel = objects.find((o) => o.type === "search" && o.id === "flowlogs-recent-alerts")!;
  const dashboard = objects.find((o) => o.type === "dashboard")!;
  assert.ok(dashboard.references.some((r) => r.type === "search" && r.id === panel.id), "the dashboard shows it");
  const search = savedSearchToSearch(panel, objects.filter((o) => o.type === "index-pattern"), { from: "2026-11-20T10:00:00.000Z", to: "2026-11-20T11:00:00.000Z" });
  assert.equal(search.index, "flowlogs-alerts*");
  const answer: any = await es.search({ index: alertIndex, ...search.body } as any);
  const rows = answer.hits.hits.map((hit: any) => Object.fromEntries(Object.entries(hit.fields).map(([k, v]: [string, any]) => [k, v.length === 1 ? v[0] : v])));
  assert.deepEqual(rows, [
    { "@timestamp": "2026-11-20T10:07:30.000Z", detection: "port_scan", "rule.name": "Port scan", alerts: 1 },
    { "@timestamp": "2026-11-20T10:05:00.000Z", detection: "brute_force", "rule.name": "Brute force", "source.ip": "198.51.100.200", flows: 36, message: "Document count is 36 in the last 12m for 198.51.100.200" },
    { "@timestamp": "2026-11-20T10:03:00.000Z", "rule.name": "Denied flows", denied_flows: 140, message: "140 denied flows" },
  ]);
});
