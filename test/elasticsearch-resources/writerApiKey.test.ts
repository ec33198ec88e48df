// ElasticsearchWriterApiKey against the contract double (the test engine cannot mint API keys: its .security index
// needs the absent analysis-common module).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writerApiKeyProvider, WriterApiKeyInputs, WriterApiKeyOutputs } from "../../infra/elastic/elasticsearch/writerApiKeyResource";
import { callElasticsearch } from "../../infra/elastic/elasticsearch/client";
import { FakeElasticsearch } from "./support/fakeElasticsearch";
import { reviveProvider } from "./support/revive";

const USER = { username: "flowlogs_admin", password: "admin-password-not-in-logs" };
const ADMIN_KEY = Buffer.from("admin-id:admin-secret-key-value").toString("base64");
const p = writerApiKeyProvider;

describe("ElasticsearchWriterApiKey (contract double)", () => {
  let es: FakeElasticsearch;
  let inputs: WriterApiKeyInputs;
  before(async () => {
    es = await new FakeElasticsearch({ basic: USER, apiKey: ADMIN_KEY }).start();
    inputs = { connection: { url: es.url, ...USER }, name: "flowlogs-collector-prod", namespace: "prod", expiration: "90d" };
  });
  after(() => es.stop());

  const create = async (news: WriterApiKeyInputs) => {
    const checked = await p.check!({} as WriterApiKeyInputs, news);
    assert.deepEqual(checked.failures, []);
    const created = await p.create(checked.inputs!);
    return { id: created.id, outs: created.outs as WriterApiKeyOutputs };
  };

  test("contract: create POSTs /_security/api_key with Basic auth and exactly auto_configure + create_doc on the namespace's two data streams", async () => {
    const before = es.requests.length;
    const { id, outs } = await create(inputs);
    const [call] = es.requests.slice(before);
    assert.equal(call!.method, "POST");
    assert.equal(call!.path, "/_security/api_key");
    assert.equal(call!.headers.authorization, `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString("base64")}`);
    assert.equal(call!.headers["content-type"], "application/json");
    const body = JSON.parse(call!.body);
    assert.equal(body.name, "flowlogs-collector-prod");
    assert.equal(body.expiration, "90d");
    assert.deepEqual(body.role_descriptors, {
      flowlogs_writer: { cluster: [], indices: [{ names: ["logs-azure.flowlogs-prod", "logs-azure.flowlogs.deadletter-prod"], privileges: ["auto_configure", "create_doc"] }] },
    });
    assert.equal(body.metadata.managed_by, "pulumi");
    const key = es.keys.get(id)!;
    assert.equal(outs.keyId, id);
    assert.equal(outs.encoded, Buffer.from(`${id}:${key.apiKey}`).toString("base64"));
    assert.ok(outs.expiresAt > Date.now() + 89 * 86_400_000);
    // The encoded key is what the collector sends: it authenticates.
    await callElasticsearch({ url: es.url, apiKey: outs.encoded }, { method: "GET", path: "/_security/api_key?id=" + id });
  });

  test("dedupeAcrossBackingIndices adds read on the flow data stream only (never the dead letters); no expiration means none is sent", async () => {
    const { id } = await create({ ...inputs, expiration: undefined, dedupeAcrossBackingIndices: true });
    const key = es.keys.get(id)!;
    assert.deepEqual(key.roleDescriptors.flowlogs_writer.indices, [
      { names: ["logs-azure.flowlogs-prod", "logs-azure.flowlogs.deadletter-prod"], privileges: ["auto_configure", "create_doc"] },
      { names: ["logs-azure.flowlogs-prod"], privileges: ["read"] },
    ]);
    assert.equal(key.expiration, undefined);
  });

  test("diff: a key minted with an older role (read on the dead letters too) is replaced, new key first, with the inputs unchanged", async () => {
    const { id, outs } = await create({ ...inputs, dedupeAcrossBackingIndices: true });
    const names = ["logs-azure.flowlogs-prod", "logs-azure.flowlogs.deadletter-prod"];
    const older = { flowlogs_writer: { cluster: [], indices: [{ names, privileges: ["auto_configure", "create_doc", "read"] }] } };
    assert.deepEqual(await p.diff!(id, { ...outs, roleDescriptors: older }, { ...inputs, dedupeAcrossBackingIndices: true }),
      { changes: true, replaces: ["roleDescriptors"], deleteBeforeReplace: false });
    assert.deepEqual(await p.diff!(id, outs, { ...inputs, dedupeAcrossBackingIndices: true }), { changes: false, replaces: [], deleteBeforeReplace: false });
  });

  test("check refuses an API-key connection and says why; the contract shows Elasticsearch would refuse the privileges too", async () => {
    const failures = (await p.check!({} as WriterApiKeyInputs, { ...inputs, connection: { url: es.url, apiKey: ADMIN_KEY } })).failures!;
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.property, "connection");
    assert.match(failures[0]!.reason, /must be minted with user credentials.*API key created with another API key no privileges/);
    assert.match(failures[0]!.reason, /elasticsearchUsername and the secret elasticsearchPassword/);
    await assert.rejects(p.create({ ...inputs, connection: { url: es.url, apiKey: ADMIN_KEY } }), /HTTP 400: illegal_argument_exception: creating derived api keys requires an explicit role descriptor that is empty/);
    const reasons = async (news: Partial<WriterApiKeyInputs>) =>
      (await p.check!({} as WriterApiKeyInputs, { ...inputs, ...news } as WriterApiKeyInputs)).failures!.map((f) => `${f.property}: ${f.reason}`).join("\n");
    assert.match(await reasons({ expiration: "3 months" }), /expiration: "3 months" is not a duration/);
    assert.match(await reasons({ namespace: "Prod" }), /namespace: invalid data stream namespace/);
    assert.match(await reasons({ name: "" }), /name: name is required/);
    assert.match(await reasons({ connection: { url: es.url, username: USER.username } as never }), /basic auth needs both username and password/);
  });

  test("diff: same inputs are no change; expiration or rotation replace the key, new key first (no deleteBeforeReplace); a new password only updates", async () => {
    const { id, outs } = await create(inputs);
    assert.deepEqual(await p.diff!(id, outs, { ...inputs }), { changes: false, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual(await p.diff!(id, outs, { ...inputs, rotation: "2026-12" }), { changes: true, replaces: ["rotation"], deleteBeforeReplace: false });
    assert.deepEqual(await p.diff!(id, outs, { ...inputs, expiration: "30d" }), { changes: true, replaces: ["expiration"], deleteBeforeReplace: false });
    assert.deepEqual((await p.diff!(id, outs, { ...inputs, dedupeAcrossBackingIndices: true })).replaces, ["dedupeAcrossBackingIndices"]);
    assert.deepEqual(await p.diff!(id, outs, { ...inputs, connection: { ...inputs.connection, password: "new-password" } }), { changes: true, replaces: [], deleteBeforeReplace: false });
    const updated = (await p.update!(id, outs, { ...inputs, connection: { ...inputs.connection, password: "new-password" } })).outs as WriterApiKeyOutputs;
    assert.equal(updated.encoded, outs.encoded, "same key after a credential change");
  });

  test("rotation in Pulumi's replacement order: the new key is minted while the old still works, then delete invalidates the old one only", async () => {
    const old = await create(inputs);
    const rotated = await create({ ...inputs, rotation: "2026-12" });
    assert.notEqual(rotated.outs.encoded, old.outs.encoded);
    for (const key of [old, rotated]) await callElasticsearch({ url: es.url, apiKey: key.outs.encoded }, { method: "GET", path: `/_security/api_key?id=${key.id}` });
    const before = es.requests.length;
    await p.delete!(old.id, old.outs);
    const [call] = es.requests.slice(before);
    assert.equal(`${call!.method} ${call!.path}`, "DELETE /_security/api_key");
    assert.deepEqual(JSON.parse(call!.body), { ids: [old.id] });
    await assert.rejects(callElasticsearch({ url: es.url, apiKey: old.outs.encoded }, { method: "GET", path: "/_security/api_key" }), /HTTP 401/);
    await callElasticsearch({ url: es.url, apiKey: rotated.outs.encoded }, { method: "GET", path: `/_security/api_key?id=${rotated.id}` });
    await p.delete!(old.id, old.outs); // invalidating twice is fine
  });

  test("read: a live key keeps its state; a key invalidated or deleted outside Pulumi reads as gone, so the next up mints one", async () => {
    const { id, outs } = await create(inputs);
    const read = await p.read!(id, outs);
    assert.equal(read.id, id);
    assert.equal((await p.diff!(id, read.props as WriterApiKeyOutputs, inputs)).changes, false);
    es.keys.get(id)!.invalidated = true;
    assert.deepEqual(await p.read!(id, outs), { id: "" });
    es.keys.delete(id);
    assert.deepEqual(await p.read!(id, outs), { id: "" });
  });

  test("the provider revived from its closure serialization mints and invalidates", async () => {
    const revived = await reviveProvider(writerApiKeyProvider);
    const created = await revived.create(inputs);
    assert.equal(es.keys.get(created.id)!.invalidated, false);
    await revived.delete!(created.id, created.outs as WriterApiKeyOutputs);
    assert.equal(es.keys.get(created.id)!.invalidated, true);
  });
});

describe("ElasticsearchWriterApiKey with a deployer holding only manage_own_api_key (contract double)", () => {
  let es: FakeElasticsearch;
  before(async () => { es = await new FakeElasticsearch({ basic: USER, ownKeysOnly: true }).start(); });
  after(() => es.stop());

  test("contract: refresh and destroy reach the key as its owner (owner=true) once Elasticsearch refuses them by id alone", async () => {
    const inputs: WriterApiKeyInputs = { connection: { url: es.url, ...USER }, name: "flowlogs-collector-dev", namespace: "dev" };
    const checked = await p.check!({} as WriterApiKeyInputs, inputs);
    const created = await p.create(checked.inputs!);
    const outs = created.outs as WriterApiKeyOutputs;
    const read = await p.read!(created.id, outs);
    assert.equal(read.id, created.id, "still there, seen as its owner");
    const before = es.requests.length;
    await p.delete!(created.id, outs);
    assert.equal(es.keys.get(created.id)!.invalidated, true, "invalidated");
    const calls = es.requests.slice(before).map((r) => `${r.method} ${r.query.get("owner") ?? JSON.parse(r.body || "{}").owner ?? "-"}`);
    assert.deepEqual(calls, ["DELETE -", "DELETE true"], "refused by id alone, then done as its owner");
    assert.equal((await p.read!(created.id, outs)).id, "", "gone for the next up");
  });
});

describe("ElasticsearchWriterApiKey after the deployer user changed, each holding only manage_own_api_key (contract double)", () => {
  const OTHER = { username: "flowlogs_deployer_2", password: "another-secret" };
  let es: FakeElasticsearch;
  before(async () => { es = await new FakeElasticsearch({ basic: USER, otherUsers: [OTHER], ownKeysOnly: true }).start(); });
  after(() => es.stop());

  test("contract: refresh and destroy as a user who did not mint the key fail, naming both users, and the key stays valid", async () => {
    const created = await p.create((await p.check!({} as WriterApiKeyInputs, { connection: { url: es.url, ...USER }, name: "flowlogs-collector-dev", namespace: "dev" })).inputs!);
    const outs = created.outs as WriterApiKeyOutputs;
    assert.equal(outs.mintedBy, USER.username);
    // A changed elasticsearchUsername/Password is an update (same cluster, same key), which keeps who minted it.
    const news = { ...outs, connection: { url: es.url, ...OTHER } };
    assert.deepEqual((await p.diff!(created.id, outs, news)).replaces, []);
    const updated = (await p.update!(created.id, outs, news)).outs as WriterApiKeyOutputs;
    const whose = new RegExp(`\\(${OTHER.username}\\) did not mint it \\(${USER.username} did\\).*manage_api_key`);
    await assert.rejects(p.read!(created.id, updated), whose, "refresh must not drop a key it cannot see");
    await assert.rejects(p.delete!(created.id, updated), whose, "destroy must not report a key it could not invalidate");
    assert.equal(es.keys.get(created.id)!.invalidated, false, "still valid: nothing claimed otherwise");
    // Back as the user who minted it, both work as before.
    const back = (await p.update!(created.id, updated, { ...updated, connection: { url: es.url, ...USER } })).outs as WriterApiKeyOutputs;
    assert.equal((await p.read!(created.id, back)).id, created.id);
    await p.delete!(created.id, back);
    assert.equal(es.keys.get(created.id)!.invalidated, true);
  });
});
