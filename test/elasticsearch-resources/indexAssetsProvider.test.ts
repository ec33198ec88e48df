// ElasticsearchIndexAssets against the REAL Elasticsearch (9.2.4 test engine: no ILM, no ingest processors, no
// constant_keyword, no data stream deletion): create, read-back, no-op diff, drift, update, delete. One namespace
// per test, as data streams cannot be removed on this engine.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { ALERTS_INDEX_TEMPLATE, planIndexAssets } from "../../dashboards/src/indexAssets";
import { detectCapabilities } from "../../dashboards/src/applyIndexAssets";
import { indexAssetsProvider, IndexAssetsInputs, IndexAssetsOutputs } from "../../infra/elastic/elasticsearch/indexAssetsResource";
import { ElasticsearchConnection } from "../../infra/elastic/elasticsearch/client";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { minimalDocument } from "../elasticsearch/sampleDocuments";
import { reviveProvider } from "./support/revive";

const p = indexAssetsProvider;

/** The engine runs with security off (headers ignored), or ES_* names a secured cluster. */
function connectionTo(url: string): ElasticsearchConnection {
  const { ES_API_KEY: apiKey, ES_USERNAME: username, ES_PASSWORD: password } = process.env;
  if (apiKey) return { url, apiKey };
  return { url, username: username ?? "elastic", password: password ?? "security-is-off-here" };
}

async function created(inputs: IndexAssetsInputs): Promise<{ id: string; outs: IndexAssetsOutputs }> {
  const checked = await p.check!({} as IndexAssetsInputs, inputs);
  assert.deepEqual(checked.failures, []);
  const result = await p.create(checked.inputs!);
  return { id: result.id, outs: result.outs as IndexAssetsOutputs };
}

async function exists(client: Client, kind: "index" | "component", name: string): Promise<boolean> {
  return kind === "index" ? client.indices.existsIndexTemplate({ name }) : client.cluster.existsComponentTemplate({ name });
}

describe("ElasticsearchIndexAssets on the real engine", () => {
  let client: Client;
  let connection: ElasticsearchConnection;
  before(async () => {
    client = esClient(elasticsearchUrl());
    connection = connectionTo(elasticsearchUrl());
    // Other test files apply the same shared components concurrently; a namespace kept for this file's whole run
    // keeps them in use, so our deletes never remove one between another test's component and template PUTs.
    await created({ connection, options: { namespace: uniqueNamespace("holder") } });
  });
  after(() => client.close());

  test("create puts exactly the planned set for the detected capabilities; read shows no drift; the same inputs diff to no change", async () => {
    const namespace = uniqueNamespace("create");
    const inputs: IndexAssetsInputs = { connection, options: { namespace, retention: "3d" } };
    const { id, outs } = await created(inputs);
    const capabilities = await detectCapabilities(client);
    const plan = planIndexAssets(inputs.options, capabilities);
    assert.equal(id, `index-assets:logs-azure.flowlogs-${namespace}`);
    assert.deepEqual(outs.planned, capabilities);
    assert.deepEqual(outs.assets.map((a) => `${a.kind} ${a.name}`), plan.requests.map((r) => `${r.kind} ${r.name}`));
    assert.deepEqual(outs.skipped, plan.skipped);
    assert.equal(outs.dataStream, `logs-azure.flowlogs-${namespace}`);
    const { index_templates: [template] } = await client.indices.getIndexTemplate({ name: `azure-flowlogs-${namespace}` });
    assert.deepEqual(template!.index_template.index_patterns, [outs.dataStream]);
    assert.equal(template!.index_template.template?.lifecycle?.data_retention, "3d");
    const read = await p.read!(id, outs);
    assert.equal(read.id, id);
    assert.ok(read.props!.assets.every((a: { drift?: string }) => a.drift === undefined));
    assert.deepEqual(await p.diff!(id, read.props as IndexAssetsOutputs, inputs), { changes: false, replaces: [], deleteBeforeReplace: false });
    // Equal options written in another key order are no change either.
    assert.equal((await p.diff!(id, outs, { ...inputs, options: { retention: "3d", namespace } })).changes, false);
    await p.delete!(id, outs);
  });

  test("drift: a template changed or deleted with the plain client shows in read, diffs as a change, and update puts it back", async () => {
    const namespace = uniqueNamespace("drift");
    const inputs: IndexAssetsInputs = { connection, options: { namespace } };
    const { id, outs } = await created(inputs);
    const name = `azure-flowlogs-${namespace}`;
    const { index_templates: [template] } = await client.indices.getIndexTemplate({ name });
    // ES 9 answers with created/modified dates it refuses on a PUT.
    const { created_date: _c, modified_date: _m, created_date_millis: _cm, modified_date_millis: _mm, ...body } = template!.index_template as unknown as Record<string, unknown>;
    await client.indices.putIndexTemplate({ name, ...body, priority: 321 } as never);

    const drifted = (await p.read!(id, outs)).props as IndexAssetsOutputs;
    const changed = drifted.assets.find((a) => a.name === name)!;
    assert.equal(changed.drift, "changed outside Pulumi");
    assert.equal(changed.body?.priority, 321, "read shows the live body");
    assert.ok(drifted.assets.filter((a) => a.name !== name).every((a) => a.drift === undefined), "only that asset drifted");
    assert.equal((await p.diff!(id, drifted, inputs)).changes, true);

    const updated = (await p.update!(id, drifted, inputs)).outs as IndexAssetsOutputs;
    const { index_templates: [restored] } = await client.indices.getIndexTemplate({ name });
    assert.equal(restored!.index_template.priority, 200);
    const clean = (await p.read!(id, updated)).props as IndexAssetsOutputs;
    assert.equal((await p.diff!(id, clean, inputs)).changes, false);

    await client.indices.deleteIndexTemplate({ name: `azure-flowlogs-deadletter-${namespace}` });
    const missing = (await p.read!(id, updated)).props as IndexAssetsOutputs;
    assert.deepEqual(missing.assets.filter((a) => a.drift).map((a) => [a.name, a.drift, a.body]), [[`azure-flowlogs-deadletter-${namespace}`, "missing", null]]);
    assert.equal((await p.diff!(id, missing, inputs)).changes, true);
    await p.update!(id, missing, inputs);
    assert.equal(await exists(client, "index", `azure-flowlogs-deadletter-${namespace}`), true);
    await p.delete!(id, updated);
  });

  test("update: a new retention changes only the index templates' lifecycle; a new URL is an update, not a replacement", async () => {
    const namespace = uniqueNamespace("update");
    const inputs: IndexAssetsInputs = { connection, options: { namespace, retention: "30d" } };
    const { id, outs } = await created(inputs);
    const news = { ...inputs, options: { namespace, retention: "7d" } };
    assert.deepEqual(await p.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
    const updated = (await p.update!(id, outs, news)).outs as IndexAssetsOutputs;
    for (const name of [`azure-flowlogs-${namespace}`, `azure-flowlogs-deadletter-${namespace}`]) {
      const { index_templates: [template] } = await client.indices.getIndexTemplate({ name });
      assert.equal(template!.index_template.template?.lifecycle?.data_retention, "7d", name);
    }
    assert.equal((await p.diff!(id, updated, news)).changes, false);
    // Another URL may be the same cluster by another name: an update (put there), never a replace whose delete
    // of the old resource would remove the templates just put.
    assert.deepEqual(await p.diff!(id, updated, { ...news, connection: { ...connection, url: "https://other.example.com" } }), { changes: true, replaces: [], deleteBeforeReplace: false });
    await p.delete!(id, updated);
  });

  test("this engine has no data-streams module (no _data_stream endpoints): detected, and the plan says made streams keep their lifecycle", async () => {
    // The contract test (indexAssetsContract.test.ts) shows a full stack's streams getting the new retention.
    const namespace = uniqueNamespace("nostreamapi");
    const { id, outs } = await created({ connection, options: { namespace, retention: "30d" } });
    assert.equal(outs.planned.dataStreamApi, false);
    assert.ok(outs.skipped.some((entry) => entry.asset === "lifecycle of existing data streams" && /data-streams module/.test(entry.reason)), JSON.stringify(outs.skipped));
    await p.delete!(id, outs);
  });

  test("delete removes the namespace's templates but keeps shared components and the alerts template another namespace still uses", async () => {
    const first = await created({ connection, options: { namespace: uniqueNamespace("dela") } });
    const secondNamespace = uniqueNamespace("delb");
    const second = await created({ connection, options: { namespace: secondNamespace } });
    await p.delete!(first.id, first.outs);
    for (const asset of first.outs.assets.filter((a) => a.kind === "index_template" && a.name !== ALERTS_INDEX_TEMPLATE)) {
      assert.equal(await exists(client, "index", asset.name), false, `${asset.name} deleted`);
    }
    assert.equal(await exists(client, "component", "azure-flowlogs-mappings"), true, "still used by the second namespace");
    assert.equal(await exists(client, "index", ALERTS_INDEX_TEMPLATE), true, "the second namespace's rules still write alerts");
    // What the delete relies on (and the contract double copies): a wildcard matching nothing is a 404 with an empty list.
    const none = await client.indices.getIndexTemplate({ name: `${secondNamespace}-matches-nothing-*` }, { ignore: [404], meta: true });
    assert.equal(none.statusCode, 404);
    assert.deepEqual(none.body, { index_templates: [] });
    assert.equal(await exists(client, "index", `azure-flowlogs-${secondNamespace}`), true);
    await p.delete!(second.id, second.outs);
    // Deleting twice is fine: gone is gone.
    await p.delete!(second.id, second.outs);
  });

  test("delete while a data stream holds documents fails naming it and leaves the data; keepTemplatesWithData keeps the templates and succeeds", async () => {
    const namespace = uniqueNamespace("withdata");
    const { id, outs } = await created({ connection, options: { namespace } });
    const written = await client.bulk({ refresh: true, operations: [{ create: { _index: outs.dataStream, _id: "one" } }, minimalDocument] });
    assert.equal(written.errors, false, JSON.stringify(written.items));
    await assert.rejects(p.delete!(id, outs), (error: Error) => {
      assert.match(error.message, new RegExp(`index_template azure-flowlogs-${namespace} is kept: .*${outs.dataStream.replace(/\./g, "\\.")}`));
      assert.match(error.message, /DELETE \/_data_stream\/<name>/);
      assert.match(error.message, /keepTemplatesWithData: true/);
      return true;
    });
    assert.equal(await exists(client, "index", `azure-flowlogs-${namespace}`), true);
    // The dead-letter stream never got data, so its template went.
    assert.equal(await exists(client, "index", `azure-flowlogs-deadletter-${namespace}`), false);
    await p.delete!(id, { ...outs, keepTemplatesWithData: true });
    assert.equal(await exists(client, "index", `azure-flowlogs-${namespace}`), true);
    assert.equal((await client.count({ index: outs.dataStream })).count, 1, "documents untouched");
  });

  test("the provider revived from its closure serialization drives the real cluster", async () => {
    const revived = await reviveProvider(indexAssetsProvider);
    const namespace = uniqueNamespace("revived");
    const inputs = { connection, options: { namespace } };
    const result = await revived.create(inputs);
    assert.equal(await exists(client, "index", `azure-flowlogs-${namespace}`), true);
    const outs = result.outs as IndexAssetsOutputs;
    const read = await revived.read!(result.id, outs);
    assert.equal((await revived.diff!(result.id, read.props as IndexAssetsOutputs, inputs)).changes, false);
    await revived.delete!(result.id, outs);
    assert.equal(await exists(client, "index", `azure-flowlogs-${namespace}`), false);
  });
});
