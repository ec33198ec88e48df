// Settings the sink and the metrics endpoint used to find wrong only once they started (a stack trace, exit 1, no
// variable named): checked by loadConfig now, so `run` stops with the variable and the fix (exit 2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../collector/src/service/config";
import { createSink } from "../../collector/src/service/sinks";

const base = { FLOWLOGS_STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net", FLOWLOGS_SINK: "stdout" };
const elasticsearch = { ...base, FLOWLOGS_SINK: "elasticsearch", FLOWLOGS_ES_URL: "https://es.example:9243", FLOWLOGS_ES_API_KEY: "a2V5" };

function refused(env: Record<string, string>, message: RegExp): void {
  assert.throws(() => loadConfig(env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, message);
    return true;
  });
}

test("a container named twice in FLOWLOGS_CONTAINERS is refused", () => {
  refused({ ...base, FLOWLOGS_CONTAINERS: "insights-logs-flowlogflowevent, insights-logs-flowlogflowevent" },
    /^FLOWLOGS_CONTAINERS names insights-logs-flowlogflowevent twice: list each container once$/);
});

test("FLOWLOGS_ES_URL without http(s):// is refused, for both cluster sinks", () => {
  for (const sink of ["elasticsearch", "opensearch"]) {
    for (const url of ["localhost:9200", "ftp://es.example"]) {
      refused({ ...elasticsearch, FLOWLOGS_SINK: sink, FLOWLOGS_ES_URL: url }, /^FLOWLOGS_ES_URL ".*" must start with https:\/\/ or http:\/\//);
    }
  }
});

test("a malformed FLOWLOGS_ES_CA_FINGERPRINT is refused; a good one passes", () => {
  refused({ ...elasticsearch, FLOWLOGS_ES_CA_FINGERPRINT: "not-a-fingerprint" }, /^FLOWLOGS_ES_CA_FINGERPRINT must be the SHA-256 fingerprint .*64 hex digits/);
  const fingerprint = "AB:".repeat(31) + "AB";
  const config = loadConfig({ ...elasticsearch, FLOWLOGS_ES_CA_FINGERPRINT: fingerprint });
  assert.equal(config.sink.kind === "elasticsearch" && config.sink.caFingerprint, fingerprint);
});

test("a FLOWLOGS_ES_CA_FILE that cannot be read stops the cluster sinks' start as a setting, named", () => {
  const dir = mkdtempSync(join(tmpdir(), "config-ca-"));
  try {
    for (const sink of ["elasticsearch", "opensearch"]) {
      const config = loadConfig({ ...elasticsearch, FLOWLOGS_SINK: sink, FLOWLOGS_ES_CA_FILE: join(dir, "missing.pem") });
      assert.throws(() => createSink(config.sink, () => {}), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, /^FLOWLOGS_ES_CA_FILE: cannot read the CA file .*missing\.pem/);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("FLOWLOGS_METRICS_HOST must be an address to bind", () => {
  refused({ ...base, FLOWLOGS_METRICS_HOST: "not-a-host.invalid" }, /^FLOWLOGS_METRICS_HOST "not-a-host\.invalid" is not an IP address/);
  for (const host of ["0.0.0.0", "127.0.0.1", "::", "localhost"]) assert.equal(loadConfig({ ...base, FLOWLOGS_METRICS_HOST: host }).metricsHost, host);
});
