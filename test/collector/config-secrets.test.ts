// No setting that can hold a credential is ever printed unredacted (issue #13, item 8): not in a config error for
// a malformed value, not in the collector.start line for a valid one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, describeConfig, loadConfig } from "../../collector/src/service/config";
import { jsonLogger } from "../../collector/src/service/logger";

const storage = { FLOWLOGS_STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net" };

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail("expected a ConfigError");
}

test("a malformed FLOWLOGS_ES_URL with userinfo is named, and shown without its credentials", () => {
  for (const sink of ["elasticsearch", "opensearch"]) {
    const message = configError({ ...storage, FLOWLOGS_SINK: sink, FLOWLOGS_ES_URL: "http://elastic:PASS-4711@my host:9200/?api_key=KEY-4711" });
    assert.match(message, /^FLOWLOGS_ES_URL /);
    assert.match(message, /is not a URL/);
    assert.doesNotMatch(message, /PASS-4711|KEY-4711|elastic:/);
    assert.match(message, /my host:9200/, "the part that helps find the mistake is kept");
  }
});

test("a malformed FLOWLOGS_LOGZIO_URL carrying ?token= is named without the token", () => {
  const message = configError({ ...storage, FLOWLOGS_SINK: "logzio", FLOWLOGS_LOGZIO_TOKEN: "tok", FLOWLOGS_LOGZIO_URL: "https://listener.logz.io:99999/?token=TOKEN-4711&type=x" });
  assert.match(message, /^FLOWLOGS_LOGZIO_URL /);
  assert.doesNotMatch(message, /TOKEN-4711/);
  assert.match(message, /listener\.logz\.io:99999/);
});

test("FLOWLOGS_STORAGE_ACCOUNT_URL with a SAS: no sig= in the error for a malformed one, nor in collector.start for a valid one", () => {
  const sas = "?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=SIG-4711%3D";
  const message = configError({ FLOWLOGS_STORAGE_ACCOUNT_URL: `https://user:PW-4711@acct blob.core.windows.net/${sas}`, FLOWLOGS_SINK: "stdout" });
  assert.match(message, /^FLOWLOGS_STORAGE_ACCOUNT_URL /);
  assert.doesNotMatch(message, /SIG-4711|PW-4711/);
  const config = loadConfig({ FLOWLOGS_STORAGE_ACCOUNT_URL: `https://acct.blob.core.windows.net/${sas}`, FLOWLOGS_SINK: "stdout" });
  const lines: string[] = [];
  jsonLogger((line) => lines.push(line)).log("info", "collector.start", { config: describeConfig(config) });
  assert.doesNotMatch(lines.join(""), /SIG-4711|sig=/);
  assert.match(lines.join(""), /https:\/\/acct\.blob\.core\.windows\.net\//);
});

test("a valid cluster URL with a query string is logged without it", () => {
  const config = loadConfig({ ...storage, FLOWLOGS_SINK: "elasticsearch", FLOWLOGS_ES_URL: "https://es.example:9200/?token=Q-4711" });
  assert.doesNotMatch(JSON.stringify(describeConfig(config)), /Q-4711/);
});

test("log lines are JSON-escaped: control characters in a field cannot forge a line or reach the terminal", () => {
  const lines: string[] = [];
  jsonLogger((line) => lines.push(line)).log("warn", "blob.failed", { blob: "a\n{\"event\":\"forged\"}\u001b[2J" });
  assert.equal(lines.length, 1);
  assert.equal(lines[0].indexOf("\n"), lines[0].length - 1);
  assert.doesNotMatch(lines[0], /\u001b/);
  assert.equal(JSON.parse(lines[0]).blob, "a\n{\"event\":\"forged\"}\u001b[2J");
});
