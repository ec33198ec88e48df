// With security on: the sink writes as a least-privilege writer (auto_configure + create_doc, the privileges
// Fleet's writer keys carry) and fails fast, without leaking, on refused credentials. Starts its own secured engine
// with file-realm users: this distribution cannot mint API keys (its .security index needs the absent
// analysis-common module), so the API-key header is checked as a contract through the proxy instead.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Client } from "@elastic/elasticsearch";
import { ElasticsearchSink, PLAIN_JSON_HEADERS } from "../../collector/src/sink/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { startElasticsearch, type RunningElasticsearch } from "../support/elasticsearch";
import { uniqueNamespace } from "../support/esClient";
import { startFaultyProxy } from "../support/faultyProxy";
import { sampleBatch } from "./sampleDocuments";
import { identifiedDocument } from "../../collector/src/ecs";

const password = (): string => randomBytes(12).toString("hex");
const admin = { username: "flowlogs_admin", password: password(), roles: ["superuser"] };
const writer = { username: "flowlogs_writer", password: password(), roles: ["flowlogs_writer"] };
const reader = { username: "flowlogs_reading_writer", password: password(), roles: ["flowlogs_reading_writer"] };
const streams = ["logs-azure.flowlogs-*", "logs-azure.flowlogs.deadletter-*"];
let es: RunningElasticsearch | undefined;
let client: Client;

before(async () => {
  es = await startElasticsearch({
    security: {
      users: [admin, writer, reader],
      roles: {
        flowlogs_writer: { indices: [{ names: streams, privileges: ["auto_configure", "create_doc"] }] },
        flowlogs_reading_writer: { indices: [{ names: streams, privileges: ["auto_configure", "create_doc", "read"] }] },
      },
    },
    log: (line) => console.log(`secured elasticsearch: ${line}`),
  });
  client = new Client({ node: es.url, auth: { username: admin.username, password: admin.password }, headers: { ...PLAIN_JSON_HEADERS } });
});

after(async () => {
  await client?.close();
  await es?.stop();
});

const auth = (user: { username: string; password: string }) => ({ username: user.username, password: user.password });

test("contract: an API key goes out as `Authorization: ApiKey <encoded>` and nowhere else", async () => {
  const proxy = await startFaultyProxy(es!.url, () => ({ status: 401 }));
  const apiKey = Buffer.from("key-id:key-secret").toString("base64");
  const sink = new ElasticsearchSink({ node: proxy.url, auth: { apiKey }, namespace: "contract", sleep: async () => {} });
  try {
    await assert.rejects(sink.write(sampleBatch(1, "keyed")), (error: Error) => !error.message.includes(apiKey));
    assert.equal(proxy.seen[0]!.authorization, `ApiKey ${apiKey}`);
    assert.ok(!proxy.seen[0]!.path.includes(apiKey));
  } finally {
    await sink.close();
    await proxy.stop();
  }
});

test("a least-privilege writer (auto_configure + create_doc) writes, sees duplicates and dead-letters", async () => {
  const namespace = uniqueNamespace("writer");
  await applyIndexAssets(client, { namespace });
  const sink = new ElasticsearchSink({ node: es!.url, auth: auth(writer), namespace });
  try {
    const batch = sampleBatch(6, "least");
    assert.deepEqual(await sink.write(batch), { indexed: 6, duplicates: 0, deadLettered: 0, retries: 0 });
    assert.deepEqual(await sink.write(batch), { indexed: 0, duplicates: 6, deadLettered: 0, retries: 0 });
    const bad = identifiedDocument("least-bad", { ...batch[0]!.doc, destination: { ...batch[0]!.doc.destination, ip: "not-an-ip" } });
    assert.equal((await sink.write([bad])).deadLettered, 1);
    await client.indices.refresh({ index: [sink.dataStream, sink.deadLetterDataStream] });
    assert.equal((await client.count({ index: sink.dataStream })).count, 6);
    assert.equal((await client.count({ index: sink.deadLetterDataStream })).count, 1);
  } finally {
    await sink.close();
  }
});

test("dedupeAcrossBackingIndices needs read: without it the error names the missing privilege", async () => {
  const namespace = uniqueNamespace("noread");
  await applyIndexAssets(client, { namespace });
  const blind = new ElasticsearchSink({ node: es!.url, auth: auth(writer), namespace, dedupeAcrossBackingIndices: true });
  const reading = new ElasticsearchSink({ node: es!.url, auth: auth(reader), namespace, dedupeAcrossBackingIndices: true });
  try {
    assert.equal((await reading.write(sampleBatch(2, "seen"))).indexed, 2);
    await assert.rejects(blind.write(sampleBatch(1, "blind")), /HTTP 403.*needs the read privilege/);
  } finally {
    await Promise.all([blind.close(), reading.close()]);
  }
});

test("a writer cannot write outside its data streams, and wrong credentials fail at once without the secret", async () => {
  const wrongPassword = `${writer.password}-wrong`;
  const badBasic = new ElasticsearchSink({
    node: es!.url, auth: { username: writer.username, password: wrongPassword }, namespace: "basic", sleep: async () => assert.fail("must not retry"),
  });
  try {
    await assert.rejects(badBasic.write(sampleBatch(1, "denied")), (error: Error) => {
      assert.match(error.message, /HTTP 401/);
      assert.ok(!error.message.includes(wrongPassword), "the error must not carry the credential");
      return true;
    });
  } finally {
    await badBasic.close();
  }
  // The role covers logs-azure.flowlogs-* only: another dataset is refused per document (403), not written.
  const writerClient = new Client({ node: es!.url, auth: auth(writer), headers: { ...PLAIN_JSON_HEADERS } });
  try {
    const response = await writerClient.bulk({ operations: [{ create: { _index: "logs-other-default", _id: "x" } }, { "@timestamp": "2026-11-27T00:00:00Z" }] });
    assert.equal(response.items[0]!.create!.status, 403);
  } finally {
    await writerClient.close();
  }
});
