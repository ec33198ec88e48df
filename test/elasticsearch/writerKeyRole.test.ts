// The writer key's role, enforced by a real Elasticsearch with security on. This distribution cannot mint API keys
// (its .security index needs the absent analysis-common module), so a file-realm user carries exactly the role a
// minted key gets (writerRoleDescriptors): the cluster's own privilege checks then rule on the same descriptors.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Client } from "@elastic/elasticsearch";
import { ElasticsearchSink } from "../../collector/src/sink/elasticsearch";
import { identifiedDocument } from "../../collector/src/ecs";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { writerRoleDescriptors } from "../../infra/elastic/elasticsearch/writerApiKeyResource";
import { startElasticsearch, type RoleDescriptor, type RunningElasticsearch } from "../support/elasticsearch";
import { uniqueNamespace } from "../support/esClient";
import { sampleBatch } from "./sampleDocuments";

const NAMESPACE = uniqueNamespace("role");
const password = (): string => randomBytes(12).toString("hex");
/** The role a minted key with dedupeAcrossBackingIndices carries, as a file-realm role. */
const mintedRole = (writerRoleDescriptors(NAMESPACE, true) as Record<string, RoleDescriptor>).flowlogs_writer!;
const admin = { username: "role_admin", password: password(), roles: ["superuser"] };
const minted = { username: "minted_writer", password: password(), roles: ["minted_writer"] };
let es: RunningElasticsearch | undefined;
let adminClient: Client;

before(async () => {
  es = await startElasticsearch({
    security: { users: [admin, minted], roles: { minted_writer: mintedRole } },
    log: (line) => console.log(`secured elasticsearch: ${line}`),
  });
  adminClient = new Client({ node: es.url, auth: { username: admin.username, password: admin.password } });
  await applyIndexAssets(adminClient, { namespace: NAMESPACE });
});

after(async () => {
  await adminClient?.close();
  await es?.stop();
});

const auth = (user: { username: string; password: string }) => ({ username: user.username, password: user.password });

test("the minted role with dedupe: the sink writes, dedupes across a rollover and dead-letters; the key cannot read dead letters", async () => {
  const sink = new ElasticsearchSink({ node: es!.url, auth: auth(minted), namespace: NAMESPACE, dedupeAcrossBackingIndices: true });
  const asWriter = new Client({ node: es!.url, auth: auth(minted) });
  try {
    const batch = sampleBatch(4, "minted");
    assert.deepEqual(await sink.write(batch), { indexed: 4, duplicates: 0, deadLettered: 0, retries: 0 });
    const bad = identifiedDocument("minted-bad", { ...batch[0]!.doc, destination: { ...batch[0]!.doc.destination, ip: "not-an-ip" } });
    assert.equal((await sink.write([bad])).deadLettered, 1);
    // A rollover, then the same batch: only the look-up across backing indices (the key's read) keeps it out.
    await adminClient.indices.refresh({ index: sink.dataStream });
    await adminClient.indices.rollover({ alias: sink.dataStream });
    assert.deepEqual(await sink.write(batch), { indexed: 0, duplicates: 4, deadLettered: 0, retries: 0 });
    await adminClient.indices.refresh({ index: [sink.dataStream, sink.deadLetterDataStream] });
    assert.equal((await adminClient.count({ index: sink.dataStream })).count, 4);
    assert.equal((await adminClient.count({ index: sink.deadLetterDataStream })).count, 1);
    // Dead letters hold refused documents verbatim: the collector never reads them back, so its key cannot.
    await assert.rejects(asWriter.search({ index: sink.deadLetterDataStream }), (error: any) => error.meta?.statusCode === 403);
    assert.equal((await asWriter.search({ index: sink.dataStream, size: 0, track_total_hits: true })).hits.total && true, true);
  } finally {
    await Promise.all([sink.close(), asWriter.close()]);
  }
});
