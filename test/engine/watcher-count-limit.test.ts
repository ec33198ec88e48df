// `networkWatcher.create: true` in a region that already has its watcher (Azure's auto-created one), under the REAL
// Pulumi engine against the ARM contract double (test/engine/standInProviders/standInProvider.ts: one watcher per
// subscription and region, NetworkWatcherCountLimitReached): `up` fails with Azure's answer and creates no second
// watcher, and the fix the infra README names (drop `networkWatcher.create`) then deploys on the
// existing watcher.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pulumiCli } from "../support/env";
import type { EngineStack } from "./support/engineStack";
import { foundationStack } from "./support/foundationStack";
import { keepProgramRejections, type ProgramRejections } from "./support/programRejections";

const TIMEOUT = 180_000;
const SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"; // the stand-in provider's
const AZURES_WATCHER = `/subscriptions/${SUBSCRIPTION}/resourcegroups/networkwatcherrg/providers/microsoft.network/networkwatchers/networkwatcher_northeurope`;
const VNET = `/subscriptions/${SUBSCRIPTION}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub`;

interface ArmState { resources: Record<string, { type: string; inputs: Record<string, any> }>; pendingWatchers: unknown[] }

describe("a second Network Watcher in a region, on the real engine against the ARM contract double", { timeout: TIMEOUT * 3 }, () => {
  let engine: EngineStack;
  let scratch: string;
  let armFile: string;
  let rejections: ProgramRejections | undefined;
  const watchers = () => Object.entries((JSON.parse(readFileSync(armFile, "utf8")) as ArmState).resources)
    .filter(([, r]) => r.type === "azure-native:network:NetworkWatcher").map(([id]) => id);

  before(async () => {
    pulumiCli(); // fails first, and clearly, outside `npm test`
    rejections = keepProgramRejections();
    scratch = mkdtempSync(join(tmpdir(), "flowlogs-watcher-limit-"));
    armFile = join(scratch, "arm.json");
    const azure: ArmState = { resources: { [AZURES_WATCHER]: { type: "azure-native:network:NetworkWatcher", inputs: { location: "northeurope" } } }, pendingWatchers: [] };
    writeFileSync(armFile, JSON.stringify(azure));
    engine = await foundationStack({ stackName: "secondwatcher", armFile });
    await engine.stack.setAllConfig({
      location: { value: "northeurope" },
      "storage.accountName": { value: "flowlogslimit01" },
    }, true);
    await engine.stack.setConfig("flowLogs[0].targetResourceId", { value: VNET }, true);
    await engine.stack.setConfig("networkWatcher.create", { value: "true" }, true);
    await engine.stack.setConfig("networkWatcher.name", { value: "flowlogs-watcher" }, true);
  });

  after(async () => {
    await engine?.close();
    rejections?.restore();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("contract: up with networkWatcher.create fails with NetworkWatcherCountLimitReached; no second watcher", { timeout: TIMEOUT }, async () => {
    const error = await engine.stack.up({ signal: engine.signal }).then(() => undefined, (e: unknown) => String(e));
    assert.ok(error, "up must fail");
    assert.match(error, /NetworkWatcherCountLimitReached/, error);
    assert.match(error, /Cannot create more than 1 network watchers for this subscription in this region/);
    assert.deepEqual(watchers(), [AZURES_WATCHER], "only Azure's own watcher");
    // The engine stops the deployment at the failed create: registrations still on their way are cut short.
    for (const reason of rejections!.take()) assert.match(reason, /Resource monitor is terminating/);
  });

  test("contract: without networkWatcher.create (the fix the README names), up uses the region's existing watcher", { timeout: TIMEOUT }, async () => {
    await engine.stack.removeConfig("networkWatcher.create", true);
    await engine.stack.removeConfig("networkWatcher.name", true);
    const result = await engine.stack.up({ signal: engine.signal });
    assert.equal(result.summary.result, "succeeded");
    assert.equal(String(result.outputs.watcherId!.value).toLowerCase(), AZURES_WATCHER);
    assert.deepEqual(watchers(), [AZURES_WATCHER], "still one watcher");
    assert.deepEqual(rejections!.take(), []);
  });
});
