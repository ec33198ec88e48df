// A data stream with its failure store enabled answers a document it refuses with a 201 and `failure_store: "used"`:
// the document is kept in the failure store, not in the data stream. The sink must not count it as indexed. The test
// engine cannot enable the failure store, so a proxy puts the documented item into a real answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ElasticsearchSink } from "../../collector/src/sink/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { elasticsearchUrl } from "../support/env";
import { esClient, esClientOptions, uniqueNamespace } from "../support/esClient";
import { startFaultyProxy } from "../support/faultyProxy";
import { sampleBatch } from "../elasticsearch/sampleDocuments";

/**
 * A bulk item of a document stored in the failure store, as Elastic documents it (docs: manage-data/data-store/
 * data-streams/failure-store, "failure_store": "used" on a "created" answer whose _index is a .fs- index).
 */
function failureStoreItem(dataStream: string, id: string): Record<string, unknown> {
  return {
    create: {
      _index: `.fs-${dataStream}-2026.11.27-000002`, _id: id, _version: 1, result: "created",
      _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: 2, _primary_term: 1, status: 201, failure_store: "used",
    },
  };
}

/** What Elasticsearch keeps of `value` under `filter_path` (dotted paths, `*` for any key). */
function filtered(value: unknown, paths: string[][]): unknown {
  if (value === null || typeof value !== "object" || paths.some((path) => path.length === 0)) return value;
  if (Array.isArray(value)) return value.map((entry) => filtered(entry, paths));
  const kept: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const deeper = paths.filter((path) => path[0] === "*" || path[0] === key).map((path) => path.slice(1));
    if (deeper.length) {
      const result = filtered(inner, deeper);
      if (result !== undefined && !(typeof result === "object" && result !== null && !Object.keys(result).length)) kept[key] = result;
    }
  }
  return kept;
}

test("contract: a document answered failure_store used is dead-lettered, naming the failure store, not counted as indexed", async () => {
  const client = esClient(elasticsearchUrl());
  const namespace = uniqueNamespace("fstore");
  await applyIndexAssets(client, { namespace });
  const batch = sampleBatch(3, "fs");
  let sink: ElasticsearchSink | undefined;
  // In the first bulk answer (the flow documents'; the dead letter's comes next), the second document's item becomes
  // the documented one, filtered by the filter_path the sink asked for.
  let bulks = 0;
  const proxy = await startFaultyProxy(elasticsearchUrl(), ({ path }) => {
    if (!path.startsWith("/_bulk") || bulks++ > 0) return "forward";
    const filterPath = new URL(path, "http://proxy").searchParams.get("filter_path");
    const itemPaths = filterPath?.split(",").map((p) => p.split(".")).filter((p) => p[0] === "items").map((p) => p.slice(1));
    return {
      rewriteBody: (body) => {
        const answer = JSON.parse(body) as { items: unknown[] };
        const item = failureStoreItem(sink!.dataStream, batch[1]!.id);
        answer.items[1] = itemPaths ? filtered(item, itemPaths) : item;
        return JSON.stringify(answer);
      },
    };
  });
  sink = new ElasticsearchSink({ ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace });
  try {
    assert.deepEqual(await sink.write(batch), { indexed: 2, duplicates: 0, deadLettered: 1, retries: 0 });
    await client.indices.refresh({ index: sink.deadLetterDataStream });
    const letters = await client.search<any>({ index: sink.deadLetterDataStream });
    assert.equal(letters.hits.hits.length, 1);
    const letter = letters.hits.hits[0]!._source!;
    assert.equal(letter.deadletter.document_id, batch[1]!.id);
    assert.equal(letter.error.message, `201 failure_store used: ${sink.dataStream} refused the document and Elasticsearch ` +
      `kept it in the data stream's failure store (${sink.dataStream}::failures), not in the data stream`);
  } finally {
    await sink.close();
    await proxy.stop();
    await client.close();
  }
});
