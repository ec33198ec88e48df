// `networkWatcher.create: true` in a region WITHOUT a watcher (Azure's automatic creation switched off), under the
// REAL Pulumi engine against the ARM contract double (test/engine/standInProviders/standInProvider.ts): the program's
// check for Azure's own watcher (infra/components/networkWatcher.ts) finds none, so the stack creates its watcher;
// and a later update, when the region holds the stack's own watcher, is not refused by the check.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pulumiCli } from "../support/env";
import type { EngineStack } from "./support/engineStack";
import { foundationStack } from "./support/foundationStack";

const TIMEOUT = 180_000;
const SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"; // the stand-in provider's
const OWN_WATCHER = `/subscriptions/${SUBSCRIPTION}/resourcegroups/flowlogs-to-elastic-ownwatcher/providers/microsoft.network/networkwatchers/flowlogs-watcher`;
const VNET = `/subscriptions/${SUBSCRIPTION}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub`;

interface ArmState { resources: Record<string, { type: string }> }

describe("a Network Watcher the stack creates, on the real engine against the ARM contract double", { timeout: TIMEOUT * 2 }, () => {
  let engine: EngineStack;
  let scratch: string;
  let armFile: string;
  const watchers = () => Object.entries((JSON.parse(readFileSync(armFile, "utf8")) as ArmState).resources)
    .filter(([, r]) => r.type === "azure-native:network:NetworkWatcher").map(([id]) => id);

  before(async () => {
    pulumiCli(); // fails first, and clearly, outside `npm test`
    scratch = mkdtempSync(join(tmpdir(), "flowlogs-watcher-create-"));
    armFile = join(scratch, "arm.json"); // no file: an empty subscription
    engine = await foundationStack({ stackName: "ownwatcher", armFile });
    await engine.stack.setAllConfig({
      location: { value: "northeurope" },
      "storage.accountName": { value: "flowlogsownwat01" },
    }, true);
    await engine.stack.setConfig("flowLogs[0].targetResourceId", { value: VNET }, true);
    await engine.stack.setConfig("networkWatcher.create", { value: "true" }, true);
    await engine.stack.setConfig("networkWatcher.name", { value: "flowlogs-watcher" }, true);
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
