// The OpenSearch sink over TLS with a private CA: an HTTPS proxy (certificate signed by a throwaway CA made here with
// openssl) in front of the test engine. With FLOWLOGS_ES_CA_FILE's PEM the write goes through node:https with that
// CA; without it the system roots refuse the certificate, at once and without retries.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OpenSearchSink } from "../../collector/src/sink/opensearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { startFaultyProxy, type FaultyProxy } from "../support/faultyProxy";
import { startHandshakeDropper } from "../support/handshakeDropper";
import { sampleBatch } from "../elasticsearch/sampleDocuments";

let dir: string;
let proxy: FaultyProxy;
let namespace: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "os-tls-"));
  const openssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", "/CN=flowlogs opensearch test CA", "-keyout", "ca.key", "-out", "ca.pem");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
    "-keyout", "server.key", "-out", "server.csr");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
    "-extfile", "san.ext", "-out", "server.pem");
  proxy = await startFaultyProxy(elasticsearchUrl(), () => "forward", {
    key: readFileSync(join(dir, "server.key"), "utf8"), cert: readFileSync(join(dir, "server.pem"), "utf8"),
  });
  namespace = uniqueNamespace("ostls");
  const client = esClient(elasticsearchUrl());
  await applyIndexAssets(client, { namespace });
  await client.close();
});

after(async () => {
  await proxy?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("with the CA file the write goes through over TLS; without it the certificate is refused at once", async () => {
  const trusting = new OpenSearchSink({ node: proxy.url, namespace, tls: { caFile: join(dir, "ca.pem") }, sleep: async () => {} });
  assert.deepEqual(await trusting.write(sampleBatch(2, "ostls")), { indexed: 2, duplicates: 0, deadLettered: 0, retries: 0 });
  assert.equal(proxy.seen.filter((request) => request.path.split("?")[0] === "/_bulk").length, 1);

  const seenBefore = proxy.seen.length;
  const untrusting = new OpenSearchSink({ node: proxy.url, namespace, maxRetries: 3, sleep: async () => {} });
  await assert.rejects(untrusting.write(sampleBatch(1, "ostlsno")), /TLS verification of logs-azure\.flowlogs-ostls\w+'s cluster failed .*(certificate|CERT).*check tls\.caFile/i);
  assert.equal(proxy.seen.length, seenBefore, "no request reached the server, and none was retried");
  assert.throws(() => new OpenSearchSink({ node: "http://127.0.0.1:9200", tls: { caFile: join(dir, "ca.pem") } }), /a CA file was given but http:\/\/127\.0\.0\.1:9200 is not https/);
});

test("with the CA file, a connection closed during the TLS handshake (a restarting node) is retried, not taken for a certificate failure", async () => {
  const front = await startHandshakeDropper(proxy.url, 2);
  const sink = new OpenSearchSink({ node: front.url, namespace, tls: { caFile: join(dir, "ca.pem") }, maxRetries: 3, sleep: async () => {} });
  try {
    assert.deepEqual(await sink.write(sampleBatch(2, "oshandshake")), { indexed: 2, duplicates: 0, deadLettered: 0, retries: 2 });
    assert.equal(front.dropped(), 2);
  } finally {
    await front.stop();
  }
});

test("with the CA file, an answer trickled a byte at a time is given up at requestTimeoutMs and sent again: written once", async () => {
  let bulks = 0;
  const slow = await startFaultyProxy(elasticsearchUrl(), ({ path }) => (path.startsWith("/_bulk") && bulks++ === 0 ? { trickleEveryMs: 200 } : "forward"), {
    key: readFileSync(join(dir, "server.key"), "utf8"), cert: readFileSync(join(dir, "server.pem"), "utf8"),
  });
  const sink = new OpenSearchSink({ node: slow.url, namespace, tls: { caFile: join(dir, "ca.pem") }, requestTimeoutMs: 3_000, maxRetries: 3, sleep: async () => {} });
  try {
    const started = Date.now();
    const result = await sink.write(sampleBatch(3, "ostrickle"));
    assert.ok(Date.now() - started < 10_000, `gave up on the trickle at its deadline (${Date.now() - started} ms)`);
    assert.deepEqual(result, { indexed: 0, duplicates: 3, deadLettered: 0, retries: 1 }, "the first request was applied; the resend finds every document there");
  } finally {
    await slow.stop();
  }
});
