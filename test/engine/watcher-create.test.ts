// `networkWatcher.create: true` in a region WITHOUT a watcher (Azure's automatic creation switched off), under the
// REAL Pulumi engine against the ARM contract double (test/engine/standInProviders/standInProvider.ts): the program's
// check for Azure's own watcher (infra/components/networkWatcher.ts) finds none, so the stack creates its watcher;
// and a later update, when the region holds the stack's own watcher, is not refused by the check.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pulumiCli } from "../support/env";
import type { EngineStack } from "./support/engineStack";
import { armWatcherIds, configureNorthEurope, foundationStack, STAND_IN_SUBSCRIPTION } from "./support/foundationStack";

const TIMEOUT = 180_000;
const OWN_WATCHER = `/subscriptions/${STAND_IN_SUBSCRIPTION}/resourcegroups/flowlogs-to-elastic-ownwatcher/providers/microsoft.network/networkwatchers/flowlogs-watcher`;

describe("a Network Watcher the stack creates, on the real engine against the ARM contract double", { timeout: TIMEOUT * 2 }, () => {
  let engine: EngineStack;
  let scratch: string;
  let armFile: string;
  const watchers = () => armWatcherIds(armFile);

  before(async () => {
    pulumiCli(); // fails first, and clearly, outside `npm test`
    scratch = mkdtempSync(join(tmpdir(), "flowlogs-watcher-create-"));
    armFile = join(scratch, "arm.json"); // no file: an empty subscription
    engine = await foundationStack({ stackName: "ownwatcher", armFile });
    await configureNorthEurope(engine, "flowlogsownwat01", "flowlogs-watcher");
  });

  after(async () => {
    await engine?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("contract: in a region without a watcher, up creates the configured one in the stack's group", { timeout: TIMEOUT }, async () => {
    const result = await engine.stack.up({ signal: engine.signal });
    assert.equal(result.summary.result, "succeeded");
    assert.equal(String(result.outputs.watcherId!.value).toLowerCase(), OWN_WATCHER);
    assert.deepEqual(watchers(), [OWN_WATCHER]);
  });

  test("contract: a later preview and up keep the stack's own watcher: the check finds no watcher of Azure's", { timeout: TIMEOUT }, async () => {
    await engine.stack.preview({ signal: engine.signal });
    const result = await engine.stack.up({ signal: engine.signal });
    assert.equal(result.summary.result, "succeeded");
    const changes = result.summary.resourceChanges ?? {};
    assert.equal(changes.create ?? 0, 0, JSON.stringify(changes));
    assert.equal(changes.replace ?? 0, 0, JSON.stringify(changes));
    assert.deepEqual(watchers(), [OWN_WATCHER]);
  });
});
