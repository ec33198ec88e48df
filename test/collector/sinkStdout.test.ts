// The stdout sink prints bulk-API NDJSON; the real engine accepts that output as it is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { StdoutSink } from "../../collector/src/sink/stdout";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { sampleBatch } from "../elasticsearch/sampleDocuments";

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (chunk: Buffer) => chunks.push(chunk));
  return { out, text: () => Buffer.concat(chunks).toString("utf8") };
}

test("the stdout sink prints an action line and a document line per document, and dead letters alike", async () => {
  const { out, text } = capture();
  const sink = new StdoutSink({ out, namespace: "demo", now: () => new Date("2026-11-27T04:00:00.000Z") });
  const batch = sampleBatch(2, "printed");
  assert.deepEqual(await sink.write(batch), { indexed: 2, duplicates: 0, deadLettered: 0, retries: 0 });
  await sink.deadLetter([{ reason: "bad tuple", raw: "1,2,3", position: { container: "c", blob: "b", offset: 7 } }]);
  const lines = text().trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.equal(lines.length, 6);
  assert.deepEqual(lines[0], { create: { _index: "logs-azure.flowlogs-demo", _id: "printed-0" } });
  assert.deepEqual(lines[1], batch[0]!.doc);
  assert.equal(lines[4].create._index, "logs-azure.flowlogs.deadletter-demo");
  assert.match(lines[4].create._id, /^[\w-]{32}$/);
  assert.deepEqual(lines[5], {
    "@timestamp": "2026-11-27T04:00:00.000Z", error: { message: "bad tuple" }, event: { original: "1,2,3" },
    deadletter: { container: "c", blob: "b", offset: 7 },
  });
});

test("the stdout sink's output is accepted by the real _bulk API as it is", async () => {
  const client = esClient(elasticsearchUrl());
  try {
    const namespace = uniqueNamespace("stdout");
    await applyIndexAssets(client, { namespace });
    const { out, text } = capture();
    const sink = new StdoutSink({ out, namespace });
    await sink.write(sampleBatch(3, "piped"));
    await sink.deadLetter([{ reason: "bad tuple", raw: "1,2,3" }]);
    const response = await client.transport.request<{ errors: boolean; items: unknown[] }>({ method: "POST", path: "/_bulk", bulkBody: text(), querystring: { refresh: "true" } });
    assert.equal(response.errors, false, JSON.stringify(response.items));
    assert.equal((await client.count({ index: `logs-azure.flowlogs-${namespace}` })).count, 3);
    assert.equal((await client.count({ index: `logs-azure.flowlogs.deadletter-${namespace}` })).count, 1);
  } finally {
    await client.close();
  }
});
