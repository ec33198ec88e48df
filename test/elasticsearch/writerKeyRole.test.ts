// The writer key's role, enforced by a real Elasticsearch with security on. This distribution cannot mint API keys
// (its .security index needs the absent analysis-common module), so a file-realm user carries exactly the role a
// minted key gets (writerRoleDescriptors): the cluster's own privilege checks then rule on the same descriptors.
// The same users stand for a key made outside the stack (writerKey.external) in the check that asks
// `_has_privileges` as that key; an unknown API key is refused by the real cluster as it would refuse a revoked one.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Client } from "@elastic/elasticsearch";
import { ElasticsearchSink, PLAIN_JSON_HEADERS } from "../../collector/src/sink/elasticsearch";
import { identifiedDocument } from "../../collector/src/ecs";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { flowDataStream, deadLetterDataStream } from "../../collector/src/sink/dataStreams";
import { writerRoleDescriptors } from "../../infra/elastic/elasticsearch/writerApiKeyResource";
import { HOLDS_ALL, writerKeyCheckProvider, type WriterKeyCheckInputs } from "../../infra/elastic/elasticsearch/writerKeyCheckResource";
import { reviveProvider } from "../elasticsearch-resources/support/revive";
import { elasticsearchUrl } from "../support/env";
import { startElasticsearch, type RoleDescriptor, type RunningElasticsearch } from "../support/elasticsearch";
import { uniqueNamespace } from "../support/esClient";
import { sampleBatch } from "./sampleDocuments";

const NAMESPACE = uniqueNamespace("role");
const password = (): string => randomBytes(12).toString("hex");
/** The role a minted key with dedupeAcrossBackingIndices carries, as a file-realm role. */
const mintedRole = (writerRoleDescriptors(NAMESPACE, true) as Record<string, RoleDescriptor>).flowlogs_writer!;
const admin = { username: "role_admin", password: password(), roles: ["superuser"] };
const minted = { username: "minted_writer", password: password(), roles: ["minted_writer"] };
/** A hand-made key that forgot the dead letters and the dedupe read. */
const short = { username: "short_writer", password: password(), roles: ["short_writer"] };
const shortRole: RoleDescriptor = { indices: [{ names: [flowDataStream(NAMESPACE)], privileges: ["auto_configure", "create_doc"] }] };
let es: RunningElasticsearch | undefined;
let adminClient: Client;

before(async () => {
  es = await startElasticsearch({
    security: { users: [admin, minted, short], roles: { minted_writer: mintedRole, short_writer: shortRole } },
    log: (line) => console.log(`secured elasticsearch: ${line}`),
  });
  adminClient = new Client({ node: es.url, auth: { username: admin.username, password: admin.password }, headers: { ...PLAIN_JSON_HEADERS } });
  await applyIndexAssets(adminClient, { namespace: NAMESPACE });
});

after(async () => {
  await adminClient?.close();
  await es?.stop();
});

const auth = (user: { username: string; password: string }) => ({ username: user.username, password: user.password });

test("the minted role with dedupe: the sink writes, dedupes across a rollover and dead-letters; the key cannot read dead letters", async () => {
  const sink = new ElasticsearchSink({ node: es!.url, auth: auth(minted), namespace: NAMESPACE, dedupeAcrossBackingIndices: true });
  const asWriter = new Client({ node: es!.url, auth: auth(minted), headers: { ...PLAIN_JSON_HEADERS } });
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

const checkAs = async (connection: WriterKeyCheckInputs["connection"], dedupeAcrossBackingIndices = true) => {
  const inputs: WriterKeyCheckInputs = { connection, namespace: NAMESPACE, dedupeAcrossBackingIndices };
  return writerKeyCheckProvider.check!({} as WriterKeyCheckInputs, inputs);
};

test("external key check: the writer role's holder passes; the serialized provider asks the same", async () => {
  const checked = await checkAs({ url: es!.url, ...auth(minted) });
  assert.deepEqual(checked.failures, []);
  assert.equal(checked.inputs!.verdict, HOLDS_ALL);
  const revived = await reviveProvider(writerKeyCheckProvider);
  const again = await revived.check!({} as WriterKeyCheckInputs, { connection: { url: es!.url, ...auth(minted) }, namespace: NAMESPACE, dedupeAcrossBackingIndices: true });
  assert.deepEqual([again.failures, again.inputs!.verdict], [[], HOLDS_ALL]);
});

test("external key check: a key lacking privileges fails listing each one per data stream, with the fix", async () => {
  const { failures } = await checkAs({ url: es!.url, ...auth(short) });
  assert.equal(failures!.length, 1);
  const reason = failures![0]!.reason;
  assert.match(reason, /collectorEsApiKey \(elasticsearch\.writerKey\.external\) lacks privileges the collector needs/);
  assert.ok(reason.includes(`auto_configure, create_doc on ${deadLetterDataStream(NAMESPACE)}`), reason);
  assert.ok(reason.includes(`read on ${flowDataStream(NAMESPACE)}`), reason);
  assert.ok(!reason.includes(`create_doc on ${flowDataStream(NAMESPACE)}`), "what it holds is not listed");
  assert.ok(reason.includes(`npm run writer-key -- --namespace ${NAMESPACE} --dedupe-across-backing-indices`), reason);
  assert.match(reason, /pulumi config set --secret collectorEsApiKey/);
  // Without dedupe the read is not asked for.
  assert.ok(!(await checkAs({ url: es!.url, ...auth(short) }, false)).failures![0]!.reason.includes("read on"));
});

test("external key check: a key Elasticsearch refuses (401) fails saying so, without the key", async () => {
  const unknownKey = Buffer.from(`no-such-id:${randomBytes(12).toString("hex")}`).toString("base64");
  for (const connection of [{ url: es!.url, apiKey: unknownKey }, { url: es!.url, username: minted.username, password: "wrong-password" }]) {
    const { failures } = await checkAs(connection);
    assert.equal(failures!.length, 1);
    assert.match(failures![0]!.reason, /Elasticsearch refused the secret collectorEsApiKey \(HTTP 401: security_exception: .*wrong, expired, invalidated or from another cluster.*npm run writer-key/);
    assert.ok(!failures![0]!.reason.includes(unknownKey));
  }
});

test("external key check: a cluster with security off is not checked, and the verdict says why", async () => {
  const checked = await checkAs({ url: elasticsearchUrl(), apiKey: Buffer.from("any:key").toString("base64") });
  assert.deepEqual(checked.failures, []);
  assert.match(checked.inputs!.verdict!, /^not checked: security is off on this cluster/);
});
