// The Elasticsearch request function the providers share: auth headers, errors that say what to fix without
// credentials, no redirects followed, and TLS with a private CA (verification stays on).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callElasticsearch, checkConnection } from "../../infra/elastic/elasticsearch/client";
import { FakeElasticsearch } from "./support/fakeElasticsearch";

const USER = { username: "flowlogs_admin", password: "do-not-print-this-password" };

describe("callElasticsearch", () => {
  let es: FakeElasticsearch;
  before(async () => { es = await new FakeElasticsearch({ basic: USER }).start(); });
  after(() => es.stop());

  test("refused credentials: the message says which check failed and what to fix, never the password", async () => {
    await assert.rejects(callElasticsearch({ url: es.url, ...USER, password: "wrong-password-value" }, { method: "GET", path: "/_security/api_key" }), (error: Error) => {
      assert.match(error.message, /GET \/_security\/api_key failed with HTTP 401: security_exception: unable to authenticate user \(the API key or username\/password was refused/);
      assert.doesNotMatch(error.message, /wrong-password-value|do-not-print-this-password/);
      return true;
    });
  });

  test("a redirect is not followed (credentials stay with the configured host); an unreachable cluster names its address", async () => {
    const server = createServer((_req, res) => { res.writeHead(302, { location: "https://elsewhere.example.com/" }); res.end(); });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await assert.rejects(callElasticsearch({ url, ...USER }, { method: "GET", path: "/" }), /redirect \(HTTP 302\) to https:\/\/elsewhere\.example\.com\/; redirects are not followed/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await assert.rejects(callElasticsearch({ url, ...USER }, { method: "GET", path: "/" }), new RegExp(`could not reach Elasticsearch at ${url.replace(/\./g, "\\.")}`));
  });
});

describe("TLS with a private CA", () => {
  let dir: string;
  let es: FakeElasticsearch;
  let cert: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "es-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    cert = readFileSync(join(dir, "cert.pem"), "utf8");
    es = await new FakeElasticsearch({ basic: USER, tls: { key: readFileSync(join(dir, "key.pem"), "utf8"), cert } }).start();
  });
  after(async () => {
    await es.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("with caCert the call works over https; without it the self-signed certificate is refused", async () => {
    assert.deepEqual(checkConnection({ url: es.url, ...USER, caCert: cert }), []);
    const answer = await callElasticsearch({ url: es.url, ...USER, caCert: cert }, { method: "POST", path: "/_security/api_key", json: { name: "tls-check" } });
    assert.equal(typeof answer.body.encoded, "string");
    await assert.rejects(callElasticsearch({ url: es.url, ...USER }, { method: "GET", path: "/_security/api_key" }), /could not reach Elasticsearch.*(self-signed|certificate)/i);
    assert.match(checkConnection({ url: "http://127.0.0.1:9200", ...USER, caCert: cert }).map((f) => f.reason).join(), /only makes sense with an https:\/\/ URL/);
  });
});
