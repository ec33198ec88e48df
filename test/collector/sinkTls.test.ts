// TLS and CA pinning for real: an HTTPS proxy (certificate signed by a throwaway CA made here with openssl) in
// front of the test engine; the sink must trust it only through the configured CA file and fingerprint.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ElasticsearchSink } from "../../collector/src/sink/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { elasticsearchUrl } from "../support/env";
import { esClient, esClientOptions, uniqueNamespace } from "../support/esClient";
import { startFaultyProxy, type FaultyProxy } from "../support/faultyProxy";
import { startHandshakeDropper } from "../support/handshakeDropper";
import { sampleBatch } from "../elasticsearch/sampleDocuments";

let dir: string;
let proxy: FaultyProxy;
let caFile: string;
let caFingerprint: string;
let namespace: string;

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "sink-tls-"));
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", "/CN=flowlogs test CA", "-keyout", "ca.key", "-out", "ca.pem");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
    "-keyout", "server.key", "-out", "server.csr");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
    "-extfile", "san.ext", "-out", "server.pem");
  caFile = join(dir, "ca.pem");
  caFingerprint = new X509Certificate(readFileSync(caFile)).fingerprint256;
  proxy = await startFaultyProxy(elasticsearchUrl(), () => "forward", {
    key: readFileSync(join(dir, "server.key"), "utf8"), cert: readFileSync(join(dir, "server.pem"), "utf8"),
  });
  namespace = uniqueNamespace("tls");
  const client = esClient(elasticsearchUrl());
  await applyIndexAssets(client, { namespace });
  await client.close();
});

after(async () => {
  await proxy?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const base = () => ({ ...esClientOptions(elasticsearchUrl()), node: proxy.url, namespace, maxRetries: 2, sleep: async () => {} });

test("with the CA file, and with the CA file plus its pinned fingerprint, writes go through over TLS", async () => {
  for (const tls of [{ caFile }, { caFile, caFingerprint }]) {
    const sink = new ElasticsearchSink({ ...base(), tls });
    try {
      assert.equal((await sink.write(sampleBatch(2, "tls"))).retries, 0);
    } finally {
      await sink.close();
    }
  }
  assert.ok(proxy.seen.length >= 2, "the writes went through the TLS proxy");
});

test("a wrong pinned fingerprint or an untrusted CA fails at once with a TLS error, without retries", async () => {
  const wrong = "AB:".repeat(31) + "AB";
  for (const [tls, expected] of [[{ caFile, caFingerprint: wrong }, /fingerprint/i], [{}, /certificate/i]] as const) {
    const seenBefore = proxy.seen.length;
    const sink = new ElasticsearchSink({ ...base(), tls });
    try {
      await assert.rejects(sink.write(sampleBatch(1, "untrusted")), (error: Error) => {
        assert.match(error.message, /TLS verification .* failed/);
        assert.match(error.message, expected);
        return true;
      });
      assert.equal(proxy.seen.length, seenBefore, "no request reached the server");
    } finally {
      await sink.close();
    }
  }
});

test("a connection closed during the TLS handshake (a restarting node) is retried, not taken for a certificate failure", async () => {
  const front = await startHandshakeDropper(proxy.url, 2);
  const sink = new ElasticsearchSink({ ...base(), node: front.url, tls: { caFile }, maxRetries: 3 });
  try {
    assert.deepEqual(await sink.write(sampleBatch(2, "handshake")), { indexed: 2, duplicates: 0, deadLettered: 0, retries: 2 });
    assert.equal(front.dropped(), 2);
  } finally {
    await sink.close();
    await front.stop();
  }
});
