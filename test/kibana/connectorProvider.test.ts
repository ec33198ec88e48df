import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connectorProvider, ConnectorInputs, ConnectorOutputs, indexConnectorArgs } from "../../infra/elastic/kibana/connectorResource";
import { KibanaConnection } from "../../infra/elastic/kibana/client";
import { FakeKibana } from "./support/fakeKibana";

const p = connectorProvider;
const BASIC = { username: "kibana-admin", password: "s3cret-pass-word" };

describe("KibanaConnector provider", () => {
  let kibana: FakeKibana;
  let connection: KibanaConnection;
  let indexInputs: ConnectorInputs;
  before(async () => {
    kibana = await new FakeKibana({ basic: BASIC }).start();
    connection = { url: kibana.url, ...BASIC };
    const args = indexConnectorArgs(connection);
    indexInputs = (await p.check!({} as any, { connection, name: args.name as string, connectorTypeId: ".index", config: { index: "flowlogs-alerts" } })).inputs!;
  });
  after(() => kibana.stop());

  test("contract: create POSTs /api/actions/connector with kbn-xsrf, Basic auth and {name, connector_type_id, config, secrets}", async () => {
    const before = kibana.requests.length;
    const created = await p.create(indexInputs);
    const [call] = kibana.requests.slice(before);
    assert.equal(call.method, "POST");
    assert.equal(call.path, "/api/actions/connector");
    assert.equal(call.headers["kbn-xsrf"], "true");
    assert.equal(call.headers.authorization, `Basic ${Buffer.from(`${BASIC.username}:${BASIC.password}`).toString("base64")}`);
    const body = JSON.parse(call.body);
    assert.deepEqual(body, { name: "Flow-log alerts to flowlogs-alerts", connector_type_id: ".index", config: { index: "flowlogs-alerts", refresh: false, executionTimeField: null }, secrets: {} });
    assert.equal(created.outs!.connectorId, created.id);
    assert.equal(kibana.space().connectors.get(created.id).connector_type_id, ".index");
  });

  test("read after create shows no drift even though Kibana fills config defaults; an edit in Kibana shows as drift", async () => {
    const created = await p.create({ ...indexInputs, config: { index: "flowlogs-alerts" } });
    const read = await p.read!(created.id, created.outs as ConnectorOutputs);
    assert.equal((await p.diff!(created.id, read.props!, indexInputs)).changes, false);
    kibana.space().connectors.get(created.id).config.index = "someone-else";
    const drifted = await p.read!(created.id, created.outs as ConnectorOutputs);
    assert.equal((drifted.props!.config as any).index, "someone-else");
    assert.equal((await p.diff!(created.id, drifted.props!, indexInputs)).changes, true);
    kibana.space().connectors.delete(created.id);
    assert.deepEqual(await p.read!(created.id, created.outs as ConnectorOutputs), { id: "" });
  });

  test("diff: key order is no change; a new index is an update; a new connector type is a replacement", async () => {
    const olds = { ...indexInputs, connectorId: "c1" };
    const reordered = { ...indexInputs, config: { executionTimeField: null, refresh: false, index: "flowlogs-alerts" } };
    assert.equal((await p.diff!("c1", olds, reordered)).changes, false);
    assert.deepEqual(await p.diff!("c1", olds, { ...indexInputs, config: { ...indexInputs.config, index: "other-alerts" } }), { changes: true, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual((await p.diff!("c1", olds, { ...indexInputs, connectorTypeId: ".server-log", config: {} })).replaces, ["connectorTypeId"]);
    assert.equal((await p.diff!("c1", olds, { ...indexInputs, secrets: { token: "new" } })).changes, true);
  });

  test("contract: update PUTs {name, config, secrets} without the immutable type; delete answers 204 and tolerates 404", async () => {
    const created = await p.create(indexInputs);
    const news = { ...indexInputs, name: "Flow alerts", config: { ...indexInputs.config, refresh: true } };
    const before = kibana.requests.length;
    await p.update!(created.id, created.outs!, news);
    const [call] = kibana.requests.slice(before);
    assert.equal(call.method, "PUT");
    assert.equal(call.path, `/api/actions/connector/${created.id}`);
    assert.deepEqual(Object.keys(JSON.parse(call.body)).sort(), ["config", "name", "secrets"]);
    assert.equal(kibana.space().connectors.get(created.id).name, "Flow alerts");
    await p.delete!(created.id, created.outs!);
    assert.equal(kibana.space().connectors.has(created.id), false);
    await p.delete!(created.id, created.outs!);
  });

  test("contract: a Gold connector on a Basic license fails naming the license; a bad config gets Kibana's 400", async () => {
    const webhook = (await p.check!({} as any, { connection, name: "hook", connectorTypeId: ".webhook", config: { url: "https://hooks.example.com/x", method: "post" }, secrets: { user: "u", password: "hook-password" } })).inputs!;
    await assert.rejects(p.create(webhook), (error: Error) => {
      assert.match(error.message, /HTTP 403/);
      assert.match(error.message, /needs a Gold \(or higher\) license; on Basic use "\.index"/);
      assert.doesNotMatch(error.message, /hook-password|s3cret-pass-word/);
      return true;
    });
    await assert.rejects(p.create({ ...indexInputs, config: { index: "flowlogs-alerts", bogus: 1 } }), /HTTP 400.*\[bogus\]: definition for this key is missing/);
  });

  test("a Gold connector works where the license allows it, secrets sent but never read back", async () => {
    const gold = await new FakeKibana({ basic: BASIC, license: "gold" }).start();
    try {
      const inputs = { connection: { ...connection, url: gold.url }, name: "hook", connectorTypeId: ".webhook", config: { url: "https://hooks.example.com/x" }, secrets: { user: "u", password: "hook-password" } };
      const created = await p.create(inputs);
      assert.deepEqual(JSON.parse(gold.requests.at(-1)!.body).secrets, { user: "u", password: "hook-password" });
      assert.equal(JSON.stringify(gold.space().connectors.get(created.id)).includes("hook-password"), false);
      const read = await p.read!(created.id, created.outs!);
      assert.deepEqual(read.props!.secrets, inputs.secrets); // kept from state, not from Kibana
    } finally {
      await gold.stop();
    }
  });

  test("check names what is wrong: type id, index name, webhook URL, auth", async () => {
    const reasons = async (news: Partial<ConnectorInputs>) =>
      (await p.check!({} as any, { ...indexInputs, ...news } as ConnectorInputs)).failures!.map((f) => `${f.property}: ${f.reason}`).join("\n");
    assert.match(await reasons({ connectorTypeId: "index" }), /connectorTypeId: .*is not a connector type id/);
    assert.match(await reasons({ config: { index: "Flow*Alerts" } }), /config.index: .*not a valid index name/);
    assert.match(await reasons({ connectorTypeId: ".webhook", config: { url: "ftp://x" } }), /config.url: .*Gold license/);
    assert.match(await reasons({ connection: { url: kibana.url } }), /exactly one way to authenticate/);
    assert.match(await reasons({ name: " " }), /name: name is required/);
    assert.equal(await reasons({}), "");
  });

  test("contract: check refuses empty-string config and secret values, which Kibana answers with 400 \"value '' is not valid\"", async () => {
    const webhook = { connectorTypeId: ".webhook", config: { url: "https://hooks.example.com/x" } };
    const failures = async (news: Partial<ConnectorInputs>) =>
      (await p.check!({} as any, { ...indexInputs, ...news } as ConnectorInputs)).failures!.map((f) => `${f.property}: ${f.reason}`).join("\n");
    assert.match(await failures({ ...webhook, config: { ...webhook.config, headers: { "x-token": "" } } }), /config\.headers: .*empty string/);
    assert.match(await failures({ ...webhook, secrets: { user: "u", password: " " } }), /secrets\.password: .*empty string.*omit it or give a value/);
    // The double refuses the same call, as Kibana does.
    const gold = await new FakeKibana({ basic: BASIC, license: "gold" }).start();
    try {
      await assert.rejects(p.create({ ...indexInputs, ...webhook, connection: { ...connection, url: gold.url }, secrets: { user: "u", password: "" } } as ConnectorInputs),
        /HTTP 400.*\[request body\.secrets\.password\]: value '' is not valid/);
    } finally {
      await gold.stop();
    }
  });
});
