// When the Network Watcher lookup waits for Azure's auto-created watcher (infra/components/networkWatcher.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { WATCHER_APPEARANCE_SECONDS, watcherWaitSeconds } from "../../infra/components/networkWatcher";

test("the watcher lookup waits only in an up after this stack's own VNet; a preview or a stack without a VNet looks once", () => {
  assert.equal(watcherWaitSeconds(true, undefined, false), WATCHER_APPEARANCE_SECONDS);
  assert.equal(watcherWaitSeconds(true, 12, false), 12);
  // A preview creates nothing, so no watcher can appear while it waits: it fails at once, naming the fix.
  assert.equal(watcherWaitSeconds(true, undefined, true), 0);
  assert.equal(watcherWaitSeconds(false, undefined, false), 0);
  assert.equal(watcherWaitSeconds(false, 12, true), 0);
});
