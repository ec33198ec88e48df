// Dead letters on the real engine: their stream states index.mode standard whatever the flows get, so a cluster's
// logsdb plugin leaves it alone and each dead letter's _source is the document as the collector sent it. Under
// logsdb the same document would come back rebuilt (the last test shows what that changes).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { deadLetterDocument } from "../../collector/src/sink/deadLetterDocument";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { fullDocument } from "./sampleDocuments";

/** A dead letter as the collector stores it: raw input that is long, escaped and not JSON, a long reason. */
function sampleDeadLetter(): Record<string, unknown> {
  const raw = `{"records":[{"time":"2026-11-02T10:00:00Z","flowTuples":["${'1709251200,10.0.0.4,\\"x\\",é\\u0000,\t'.repeat(3000)}`;
  return deadLetterDocument({ reason: `unterminated record: ${"r".repeat(1500)}`, raw, position: { container: "insights-logs", blob: "y=2026/PT1H.json", offset: 4096 } },
    "2026-11-02T10:05:00.000Z");
}

async function backingIndexMode(client: Client, dataStream: string): Promise<unknown> {
  const [backing] = Object.values(await client.indices.getSettings({ index: dataStream }));
  return (backing!.settings!.index as { mode?: unknown }).mode;
}

async function storedSource(client: Client, index: string, id: string): Promise<unknown> {
  const found = await client.search({ index, query: { ids: { values: [id] } } });
  return found.hits.hits[0]?._source;
}

for (const indexMode of ["auto", "standard"] as const) {
  test(`indexMode ${indexMode}: the dead-letter template states index.mode standard, the cluster accepts it, and the backing index has it`, async () => {
    const client = esClient(elasticsearchUrl());
    try {
      const namespace = uniqueNamespace(`dl${indexMode}`);
      const applied = await applyIndexAssets(client, { namespace, indexMode });
      assert.equal(applied.capabilities.implicitLogsdb, true, "Elasticsearch 9.2: a version whose logsdb plugin applies logsdb unasked");
      assert.equal(applied.indexMode.mode, indexMode === "auto" ? "logsdb" : "standard");
      assert.match(applied.deadLetterIndexMode.reason, /stated as index\.mode: standard/);
      const template = (await client.indices.getIndexTemplate({ name: `azure-flowlogs-deadletter-${namespace}` })).index_templates[0]!;
      assert.equal((template.index_template.template?.settings?.index as { mode?: string } | undefined)?.mode, "standard");

      const letter = sampleDeadLetter();
      const response = await client.bulk({ refresh: true, operations: [
        { create: { _index: applied.dataStream, _id: "flow" } }, fullDocument,
        { create: { _index: applied.deadLetterDataStream, _id: "letter" } }, letter,
      ] });
      assert.equal(response.errors, false, JSON.stringify(response.items));
      assert.equal(await backingIndexMode(client, applied.deadLetterDataStream), "standard");
      assert.equal(await backingIndexMode(client, applied.dataStream), applied.indexMode.mode);
      // Stored _source: the same keys in the same order, every value as sent.
      assert.equal(JSON.stringify(await storedSource(client, applied.deadLetterDataStream, "letter")), JSON.stringify(letter));
    } finally {
      await client.close();
    }
  });
}

test("why dead letters are not logsdb: the same document under a logsdb template comes back rebuilt, its keys reordered", async () => {
  const client = esClient(elasticsearchUrl());
  try {
    const namespace = uniqueNamespace("dllogsdb");
    await applyIndexAssets(client, { namespace });
    const dataStream = `logs-azure.flowlogs.deadletterlogsdb-${namespace}`;
    await client.indices.putIndexTemplate({ name: `scratch-deadletter-logsdb-${namespace}`, index_patterns: [dataStream], data_stream: {},
      priority: 200, composed_of: ["azure-flowlogs-deadletter-mappings"], template: { settings: { "index.mode": "logsdb" } } });
    const letter = sampleDeadLetter();
    const response = await client.bulk({ refresh: true, operations: [{ create: { _index: dataStream, _id: "letter" } }, letter] });
    assert.equal(response.errors, false, JSON.stringify(response.items));
    assert.equal(await backingIndexMode(client, dataStream), "logsdb");
    const rebuilt = await storedSource(client, dataStream, "letter") as Record<string, unknown>;
    assert.deepEqual(rebuilt, letter, "the values survive");
    assert.notEqual(JSON.stringify(rebuilt), JSON.stringify(letter), "but not the document as sent");
    assert.deepEqual(Object.keys(rebuilt), [...Object.keys(letter)].sort());
  } finally {
    await client.close();
  }
});
