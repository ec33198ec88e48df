import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { callKibana, checkConnection, KibanaConnection, UNKNOWN } from "../../infra/elastic/kibana/client";
import { savedObjectsProvider } from "../../infra/elastic/kibana/savedObjectsResource";
import { connectorProvider } from "../../infra/elastic/kibana/connectorResource";
import { ruleProvider } from "../../infra/elastic/kibana/ruleResource";
import { buildImportNdjson } from "../../infra/elastic/kibana/savedObjects";
import { FakeKibana } from "./support/fakeKibana";

const API_KEY = "Y2xpZW50OnRlc3Qta2V5LXZhbHVl";

describe("Kibana connection", () => {
  test("check explains each bad connection", () => {
    const reasons = (connection: unknown) => checkConnection(connection as KibanaConnection).map((f) => `${f.property}: ${f.reason}`).join("\n");
    assert.match(reasons(undefined), /connection is required/);
    assert.match(reasons({ url: "kibana:5601", apiKey: "k" }), /connection.url: "kibana:5601" is not an http\(s\) URL/);
    assert.match(reasons({ url: "https://elastic:pw@kibana.example.com", apiKey: "k" }), /carries credentials/);
    assert.match(reasons({ url: "http://kibana.example.com", apiKey: "k" }), /plain http: use https/);
    assert.equal(reasons({ url: "http://kibana.internal", apiKey: "k", allowInsecureHttp: true }), "");
    assert.equal(reasons({ url: "http://127.0.0.1:5601", apiKey: "k" }), "");
    assert.match(reasons({ url: "https://k.example.com", apiKey: "k", username: "u", password: "p" }), /exactly one way to authenticate/);
    assert.match(reasons({ url: "https://k.example.com", username: "u" }), /needs both username and password/);
    assert.match(reasons({ url: "https://k.example.com", apiKey: "k", space: "Net Ops" }), /space id "Net Ops" is invalid/);
    assert.match(reasons({ url: "https://k.example.com", apiKey: "k", caCert: "not a pem" }), /caCert must be a PEM certificate/);
    // Values not known yet during a preview are not judged.
    assert.equal(reasons(UNKNOWN), "");
    assert.equal(reasons({ url: UNKNOWN, apiKey: UNKNOWN, space: UNKNOWN }), "");
  });

  test("contract: a refused credential gives 401 with a hint, and no secret in the message", async () => {
    const kibana = await new FakeKibana({ apiKey: API_KEY }).start();
    try {
      await assert.rejects(callKibana({ url: kibana.url, apiKey: "d3Jvbmc6a2V5" }, { method: "GET", path: "/api/saved_objects/dashboard/x" }), (error: Error) => {
        assert.match(error.message, /GET \/api\/saved_objects\/dashboard\/x failed with HTTP 401.*check the connection secrets/);
        assert.doesNotMatch(error.message, /d3Jvbmc6a2V5|Y2xpZW50/);
        return true;
      });
      await assert.rejects(callKibana({ url: kibana.url, username: "u", password: "hunter2-password" }, { method: "DELETE", path: "/api/saved_objects/dashboard/x" }), (error: Error) => {
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      });
    } finally {
      await kibana.stop();
    }
  });

  test("contract: the double refuses a mutating call without kbn-xsrf, as Kibana does", async () => {
    const kibana = await new FakeKibana({ apiKey: API_KEY }).start();
    try {
      const response = await fetch(`${kibana.url}/api/actions/connector`, {
        method: "POST", headers: { authorization: `ApiKey ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "x", connector_type_id: ".index", config: { index: "a" }, secrets: {} }),
      });
      assert.equal(response.status, 400);
      assert.match(((await response.json()) as { message: string }).message, /kbn-xsrf/);
      // ... and the client always sends it on mutating calls, never on reads.
      await callKibana({ url: kibana.url, apiKey: API_KEY }, { method: "POST", path: "/api/actions/connector", json: { name: "x", connector_type_id: ".index", config: { index: "a" }, secrets: {} } });
      await callKibana({ url: kibana.url, apiKey: API_KEY }, { method: "GET", path: "/api/saved_objects/dashboard/none", accept: [404] });
      assert.equal(kibana.requests.at(-2)!.headers["kbn-xsrf"], "true");
      assert.equal(kibana.requests.at(-1)!.headers["kbn-xsrf"], undefined);
    } finally {
      await kibana.stop();
    }
  });

  test("contract: creating a connector under an id that exists answers 409, reported with what to do", async () => {
    const kibana = await new FakeKibana({ apiKey: API_KEY }).start();
    try {
      const connection = { url: kibana.url, apiKey: API_KEY };
      const call = { method: "POST" as const, path: "/api/actions/connector/alerts-1", json: { name: "a", connector_type_id: ".index", config: { index: "a" }, secrets: {} } };
      await callKibana(connection, call);
      await assert.rejects(callKibana(connection, call), /HTTP 409: Conflict: .*already exists: import it into the stack or delete it/);
    } finally {
      await kibana.stop();
    }
  });

  test("a redirect is not followed (credentials stay with the configured host) and is reported with its target", async () => {
    const { createServer } = await import("node:http");
    let hits = 0;
    const server = createServer((req, res) => { hits++; res.writeHead(302, { location: "https://elsewhere.example.com/login" }); res.end(); });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as import("node:net").AddressInfo;
      await assert.rejects(callKibana({ url: `http://127.0.0.1:${port}`, apiKey: API_KEY }, { method: "GET", path: "/api/status" }),
        /redirect \(HTTP 302\) to https:\/\/elsewhere\.example\.com\/login.*set connection\.url/);
      assert.equal(hits, 1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test("an unreachable Kibana is reported with its address", async () => {
    const kibana = await new FakeKibana().start();
    const url = kibana.url;
    await kibana.stop();
    await assert.rejects(callKibana({ url, apiKey: API_KEY }, { method: "GET", path: "/api/status" }), new RegExp(`could not reach Kibana at ${url.replace(/\./g, "\\.")}`));
  });
});

describe("TLS with a private CA (verification stays on)", () => {
  let dir: string;
  let kibana: FakeKibana;
  let cert: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "kibana-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    cert = readFileSync(join(dir, "cert.pem"), "utf8");
    kibana = await new FakeKibana({ apiKey: API_KEY, tls: { key: readFileSync(join(dir, "key.pem"), "utf8"), cert } }).start();
  });
  after(async () => {
    await kibana.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("with the CA given, the import works over https; without it, the self-signed certificate is refused", async () => {
    const connection: KibanaConnection = { url: kibana.url, apiKey: API_KEY, caCert: cert };
    assert.deepEqual(checkConnection(connection), []);
    const created = await savedObjectsProvider.create({ connection, ndjson: buildImportNdjson() });
    assert.ok(created.outs!.objects.length > 5);
    assert.ok(kibana.space().objects.has("dashboard/flowlogs-overview"));
    await assert.rejects(callKibana({ url: kibana.url, apiKey: API_KEY }, { method: "GET", path: "/api/saved_objects/dashboard/flowlogs-overview" }), /could not reach Kibana.*(self-signed|certificate)/i);
  });
});

describe("providers as Pulumi stores them (closure-serialized)", () => {
  test("each provider serializes without secrets and the serialized copy still drives Kibana", async () => {
    const kibana = await new FakeKibana({ apiKey: API_KEY }).start();
    try {
      const revive = async (provider: object) => {
        const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
        assert.equal(serialized.containsSecrets, false);
        const module = { exports: {} as Record<string, () => any> };
        new Function("module", "exports", "require", serialized.text)(module, module.exports, require);
        return module.exports[serialized.exportName]();
      };
      const connection = { url: kibana.url, apiKey: API_KEY };
      const saved = await revive(savedObjectsProvider);
      const connector = await revive(connectorProvider);
      const rule = await revive(ruleProvider);
      const objects = await saved.create({ connection, ndjson: buildImportNdjson() });
      const index = await connector.create({ connection, name: "alerts", connectorTypeId: ".index", config: { index: "flowlogs-alerts" }, secrets: {} });
      const created = await rule.create({
        connection, name: "denied", ruleTypeId: ".es-query", consumer: "stackAlerts", interval: "1m", enabled: true, tags: [],
        params: { index: ["logs-azure.flowlogs-*"], timeField: "@timestamp", esQuery: "{\"query\":{\"match_all\":{}}}", threshold: [1], thresholdComparator: ">", timeWindowSize: 5, timeWindowUnit: "m", size: 10 },
        actions: [{ connectorId: index.id, group: "query matched", params: { documents: [{ a: 1 }] } }],
      });
      assert.ok(kibana.space().rules.has(created.id));
      await rule.delete(created.id, created.outs);
      await connector.delete(index.id, index.outs);
      await saved.delete(objects.id, objects.outs);
      assert.equal(kibana.space().objects.size + kibana.space().connectors.size + kibana.space().rules.size, 0);
    } finally {
      await kibana.stop();
    }
  });
});
