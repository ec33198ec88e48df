// FLOWLOGS_RECORD_BYTES against FLOWLOGS_WINDOW_BYTES: a record parsed whole is cut from one download window. A
// larger setting used to be lowered to the window without a word; now the default follows a smaller window and an
// explicit value above it stops start-up naming both variables and the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../collector/src/service/config";

const base = { FLOWLOGS_STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net", FLOWLOGS_SINK: "stdout" };

test("the record size defaults to 1 MiB, or to the window when that is smaller", () => {
  assert.equal(loadConfig(base).recordBytes, 1 << 20);
  assert.equal(loadConfig({ ...base, FLOWLOGS_WINDOW_BYTES: "8192" }).recordBytes, 8192);
  assert.equal(loadConfig({ ...base, FLOWLOGS_WINDOW_BYTES: "8192", FLOWLOGS_RECORD_BYTES: "8192" }).recordBytes, 8192);
});

test("a record size above the window stops start-up, naming both variables and the fix", () => {
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_WINDOW_BYTES: "8192", FLOWLOGS_RECORD_BYTES: "16384" }), (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, /^FLOWLOGS_RECORD_BYTES 16384 is more than FLOWLOGS_WINDOW_BYTES 8192: .*lower FLOWLOGS_RECORD_BYTES or raise FLOWLOGS_WINDOW_BYTES$/);
    return true;
  });
});
