// The Kibana double refuses each call real Kibana refuses (sources named in support/fakeKibana.ts), so a client that
// passes against the double does not fail against Kibana for these reasons.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { callKibana, KibanaConnection } from "../../infra/elastic/kibana/client";
import { buildImportNdjson } from "../../infra/elastic/kibana/savedObjects";
import { scanRuleBody } from "../../infra/elastic/kibana/detections";
import { FakeKibana } from "./support/fakeKibana";

const API_KEY = "cnVsZXM6ZG91YmxlLXJ1bGVz";

const dashboardLine = (attributes: Record<string, unknown>) => JSON.stringify({
  type: "dashboard", id: "d", attributes: { title: "t", panelsJSON: "[]", ...attributes }, references: [],
  coreMigrationVersion: "8.8.0", typeMigrationVersion: "8.9.0",
});

const esQueryRule = (params: Record<string, unknown>) => ({
  name: "r", rule_type_id: ".es-query", consumer: "stackAlerts", schedule: { interval: "1m" }, actions: [],
  params: {
    searchType: "esQuery", index: ["logs-*"], timeField: "@timestamp", esQuery: JSON.stringify({ query: { match_all: {} } }),
    threshold: [1], thresholdComparator: ">", timeWindowSize: 5, timeWindowUnit: "m", ...params,
  },
});

describe("Kibana double: Kibana's own rules", () => {
  let kibana: FakeKibana;
  let connection: KibanaConnection;
  before(async () => {
    kibana = await new FakeKibana({ apiKey: API_KEY, license: "gold" }).start();
    connection = { url: kibana.url, apiKey: API_KEY };
  });
  after(() => kibana.stop());

  const importFile = (content: string, filename = "objects.ndjson", conn = connection) =>
    callKibana(conn, { method: "POST", path: "/api/saved_objects/_import?overwrite=true", ndjsonFile: { filename, content } });

  test("contract: _import refuses a file whose name does not end in .ndjson", async () => {
    await assert.rejects(importFile(buildImportNdjson(), "objects.json"), /HTTP 400: Bad Request: Invalid file extension \.json/);
    await assert.rejects(importFile(buildImportNdjson(), "objects"), /Invalid file extension $/m);
    assert.equal((await importFile(buildImportNdjson(), "Objects.NDJSON")).body.success, true);
  });

  test("contract: a Kibana older than an object's typeMigrationVersion refuses it as belonging to a more recent version", async () => {
    const old = await new FakeKibana({ apiKey: API_KEY, version: "8.8.2" }).start();
    try {
      const status = await callKibana({ url: old.url, apiKey: API_KEY }, { method: "GET", path: "/api/status" });
      assert.equal(status.body.version.number, "8.8.2");
      const answer = await importFile(buildImportNdjson(), "objects.ndjson", { url: old.url, apiKey: API_KEY });
      assert.equal(answer.body.success, false);
      const refused = answer.body.errors.filter((e: any) => /belongs to a more recent version of Kibana \[8\.9\.0\] when the last known version is \[8\.8\.2\]/.test(e.error.message));
      assert.deepEqual([...new Set(refused.map((e: any) => e.type))].sort(), ["dashboard", "lens"]);
      assert.equal(old.space().objects.has("dashboard/flowlogs-overview"), false);
    } finally {
      await old.stop();
    }
  });

  test("contract: an unknown or mistyped dashboard attribute is refused for that object", async () => {
    for (const [attributes, message] of [
      [{ titel: "typo" }, /\[attributes\.titel\]: definition for this key is missing/],
      [{ timeRestore: "yes" }, /\[attributes\.timeRestore\]: expected value of type \[boolean\] but got \[string\]/],
      [{ refreshInterval: { pause: true, value: 0, paused: true } }, /\[attributes\.refreshInterval\.paused\]: definition for this key is missing/],
    ] as const) {
      const answer = await importFile(dashboardLine(attributes) + "\n");
      assert.equal(answer.body.success, false);
      assert.equal(answer.body.errors[0].error.type, "unknown");
      assert.match(answer.body.errors[0].error.message, message);
    }
    assert.equal((await importFile(dashboardLine({ timeRestore: false }) + "\n")).body.success, true);
  });

  test("contract: an .es-query rule needs `size`, a number from 0 to 10000", async () => {
    const create = (params: Record<string, unknown>) => callKibana(connection, { method: "POST", path: "/api/alerting/rule", json: esQueryRule(params) });
    await assert.rejects(create({}), /HTTP 400.*\[size\]: expected value of type \[number\] but got \[undefined\]/);
    await assert.rejects(create({ size: 10001 }), /HTTP 400.*\[size\]: Value must be equal to or lower than \[10000\]/);
    await assert.rejects(create({ size: -1 }), /HTTP 400.*\[size\]: Value must be equal to or greater than \[0\]/);
    assert.equal((await create({ size: 0 })).status, 200);
  });

  test("contract: a rule action's frequency is Kibana's: notify_when one of its three, summary a boolean", async () => {
    const connector = await callKibana(connection, { method: "POST", path: "/api/actions/connector", json: { name: "c", connector_type_id: ".index", config: { index: "alerts" }, secrets: {} } });
    const create = (frequency: unknown) => callKibana(connection, { method: "POST", path: "/api/alerting/rule", json: {
      ...esQueryRule({ size: 0 }), actions: [{ id: connector.body.id, group: "query matched", params: { documents: [{}] }, frequency }],
    } });
    await assert.rejects(create({ summary: false, notify_when: "onEveryRun", throttle: null }), /HTTP 400.*\[request body\.actions\.0\.frequency\.notify_when\]/);
    await assert.rejects(create({ summary: "no", notify_when: "onActionGroupChange", throttle: null }), /frequency\.summary\]: expected value of type \[boolean\]/);
    assert.equal((await create({ summary: false, notify_when: "onActionGroupChange", throttle: null })).status, 200);
    // validate_actions.ts: without a rule-level notify_when or throttle, an action without frequency is refused.
    await assert.rejects(create(undefined), /HTTP 400.*Actions missing frequency parameters/);
    const ruleLevel = await callKibana(connection, { method: "POST", path: "/api/alerting/rule", json: {
      ...esQueryRule({ size: 0 }), notify_when: "onActiveAlert", actions: [{ id: connector.body.id, group: "query matched", params: { documents: [{}] } }],
    } });
    assert.equal(ruleLevel.status, 200);
  });

  test("contract: a connector config or secret value that is an empty string is refused", async () => {
    const create = (body: Record<string, unknown>) => callKibana(connection, { method: "POST", path: "/api/actions/connector", json: { name: "c", ...body } });
    await assert.rejects(create({ connector_type_id: ".index", config: { index: "" }, secrets: {} }), /HTTP 400.*\[request body\.config\.index\]: value '' is not valid/);
    await assert.rejects(create({ connector_type_id: ".webhook", config: { url: "https://hooks.example.com", headers: { "x-token": " " } }, secrets: {} }),
      /\[request body\.config\.headers\]: value '' is not valid/);
    await assert.rejects(create({ connector_type_id: ".webhook", config: { url: "https://hooks.example.com" }, secrets: { user: "u", password: "" } }),
      /\[request body\.secrets\.password\]: value '' is not valid/);
    const made = await create({ connector_type_id: ".index", config: { index: "alerts" }, secrets: {} });
    await assert.rejects(callKibana(connection, { method: "PUT", path: `/api/actions/connector/${made.body.id}`, json: { name: "c", config: { index: "" }, secrets: {} } }),
      /value '' is not valid/);
  });

  test("contract: _export by object list answers NDJSON, and 400 naming each object it could not fetch", async () => {
    await importFile(buildImportNdjson());
    const objects = [{ type: "dashboard", id: "flowlogs-overview" }, { type: "lens", id: "flowlogs-total-flows" }];
    const answer = await callKibana(connection, { method: "POST", path: "/api/saved_objects/_export", json: { objects, excludeExportDetails: true } });
    const lines = String(answer.body).split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((o) => `${o.type}/${o.id}`), ["dashboard/flowlogs-overview", "lens/flowlogs-total-flows"]);
    assert.ok(lines.every((o) => typeof o.version === "string" && o.version));
    await assert.rejects(callKibana(connection, { method: "POST", path: "/api/saved_objects/_export", json: { objects: [...objects, { type: "lens", id: "gone" }] } }),
      (error: any) => error.status === 400 && /Error fetching objects to export/.test(error.message));
  });

  test("contract: on Serverless the per-object saved-objects GET and DELETE are internal (400), _import and _export stay public", async () => {
    const serverless = await new FakeKibana({ apiKey: API_KEY, serverless: true }).start();
    const conn = { url: serverless.url, apiKey: API_KEY };
    try {
      assert.equal((await importFile(buildImportNdjson(), "objects.ndjson", conn)).body.success, true);
      for (const method of ["GET", "DELETE"] as const) {
        await assert.rejects(callKibana(conn, { method, path: "/api/saved_objects/dashboard/flowlogs-overview" }),
          new RegExp(`HTTP 400.*uri \\[/api/saved_objects/dashboard/flowlogs-overview\\] with method \\[${method.toLowerCase()}\\] exists but is not available with the current configuration`));
      }
      const exported = await callKibana(conn, { method: "POST", path: "/api/saved_objects/_export", json: { objects: [{ type: "dashboard", id: "flowlogs-overview" }], excludeExportDetails: true } });
      assert.equal(JSON.parse(String(typeof exported.body === "string" ? exported.body : JSON.stringify(exported.body))).id, "flowlogs-overview");
    } finally {
      await serverless.stop();
    }
  });

  test("contract: a detection rule_id the space already has is refused with 409, as Kibana's create route does; another space may have it", async () => {
    const spaced = await new FakeKibana({ apiKey: API_KEY, spaces: ["dev"] }).start();
    const inDefault = { url: spaced.url, apiKey: API_KEY };
    const inDev = { ...inDefault, space: "dev" };
    const create = (conn: KibanaConnection) => callKibana(conn, { method: "POST", path: "/api/detection_engine/rules", json: scanRuleBody("port_scan", { distinct: 20, windowMinutes: 5, lateArrivalMinutes: 5 }), accept: [409] });
    try {
      assert.equal((await create(inDefault)).status, 200);
      const again = await create(inDefault);
      assert.deepEqual([again.status, again.body], [409, { message: 'rule_id: "flowlogs-port-scan" already exists', status_code: 409 }]);
      assert.equal((await create(inDev)).status, 200, "readRules looks in the request's space only");
    } finally {
      await spaced.stop();
    }
  });
});
