// The Serverless plan's bodies on the real engine: with the shard count left out they are still valid templates,
// resolve to the modes and retention the plan names, and take the collector's documents. The engine lacks
// constant_keyword, so the plan is made for Serverless without it: that component is the same on every cluster
// and the Serverless filter never touches it (serverlessPlan.test.ts compares the plans request for request).
import { test } from "node:test";
import assert from "node:assert/strict";
import { planIndexAssets, SERVERLESS_CAPABILITIES, ALERTS_INDEX_TEMPLATE } from "../../dashboards/src/indexAssets";
import { deadLetterDocument } from "../../collector/src/sink/deadLetterDocument";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { fullDocument } from "./sampleDocuments";

const ENGINE_SERVERLESS = { ...SERVERLESS_CAPABILITIES, constantKeyword: false };

interface Simulated { template: { settings: { index: Record<string, any> }; lifecycle?: { data_retention?: string } } }

test("the Serverless plan's templates are accepted by the real engine, resolve as planned and take the collector's documents", async () => {
  const client = esClient(elasticsearchUrl());
  try {
    const namespace = uniqueNamespace("serverless");
    const plan = planIndexAssets({ namespace, retention: "7d" }, ENGINE_SERVERLESS);
    assert.equal(plan.indexMode.mode, "logsdb");
    // The cluster-wide alerts template is simulated below instead: other test files put the shared one meanwhile.
    for (const request of plan.requests.filter((r) => r.name !== ALERTS_INDEX_TEMPLATE)) {
      await client.transport.request({ method: "PUT", path: request.path, body: request.body });
    }
    // The dead letters' mode is not stated on Serverless, which makes every logs-*-* stream logsdb; this engine,
    // without the logsdb plugin, leaves it unset (standard).
    for (const [stream, mode] of [[plan.dataStream, "logsdb"], [plan.deadLetterDataStream, undefined]] as const) {
      const simulated = await client.transport.request<Simulated>({ method: "POST", path: `/_index_template/_simulate_index/${stream}` });
      assert.equal(simulated.template.settings.index.mode, mode, stream);
      assert.equal(simulated.template.settings.index.number_of_shards, undefined, `${stream}: no template asks for a shard count`);
      assert.equal(simulated.template.lifecycle?.data_retention, "7d", stream);
    }
    // Under a pattern of its own: one overlapping the shared template at the same priority would be refused.
    const alerts = { ...plan.requests.find((r) => r.name === ALERTS_INDEX_TEMPLATE)!.body, index_patterns: [`scratch-serverless-alerts-${namespace}*`] };
    const simulatedAlerts = await client.transport.request<{ template: { mappings: { properties: Record<string, unknown> } } }>(
      { method: "POST", path: "/_index_template/_simulate", body: alerts });
    assert.ok(simulatedAlerts.template.mappings.properties.detection, "the alerts template without settings is a valid template");

    const letter = deadLetterDocument({ reason: "unterminated record", raw: "{\"records\":[", position: { container: "c", blob: "b", offset: 0 } }, "2026-11-02T10:05:00.000Z");
    const response = await client.bulk({ refresh: true, operations: [
      { create: { _index: plan.dataStream, _id: "flow" } }, fullDocument,
      { create: { _index: plan.deadLetterDataStream, _id: "letter" } }, letter,
    ] });
    assert.equal(response.errors, false, JSON.stringify(response.items));
    // The dead letters' mode is not stated on Serverless, which makes every logs-*-* stream logsdb; this engine,
    // without the logsdb plugin, leaves it unset (standard).
    for (const [stream, mode] of [[plan.dataStream, "logsdb"], [plan.deadLetterDataStream, undefined]] as const) {
      const [backing] = Object.values(await client.indices.getSettings({ index: stream }));
      const index = backing!.settings!.index as { mode?: string; number_of_shards?: string };
      assert.equal(index.mode, mode, stream);
      assert.equal(index.number_of_shards, "1", `${stream}: the default, the one shard the stateful templates ask for`);
    }
  } finally {
    await client.close();
  }
});
