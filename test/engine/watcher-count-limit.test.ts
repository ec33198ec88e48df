// `networkWatcher.create: true` in a region that already has its watcher (Azure's auto-created one), under the REAL
// Pulumi engine against the ARM contract double (test/engine/standInProviders/standInProvider.ts: one watcher per
// subscription and region, NetworkWatcherCountLimitReached): the program's check for Azure's watcher
// (infra/components/networkWatcher.ts) fails preview and up with its own message, before any watcher create is sent,
// and the fix it names (drop `networkWatcher.create` / `.name`) then deploys on the existing watcher.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pulumiCli } from "../support/env";
import type { EngineStack } from "./support/engineStack";
import { armState, armWatcherIds, configureNorthEurope, foundationStack, STAND_IN_SUBSCRIPTION, type ArmState } from "./support/foundationStack";
import { keepProgramRejections, type ProgramRejections } from "../support/programRejections";

const TIMEOUT = 180_000;
const AZURES_WATCHER = `/subscriptions/${STAND_IN_SUBSCRIPTION}/resourcegroups/networkwatcherrg/providers/microsoft.network/networkwatchers/networkwatcher_northeurope`;

describe("a second Network Watcher in a region, on the real engine against the ARM contract double", { timeout: TIMEOUT * 3 }, () => {
  let engine: EngineStack;
  let scratch: string;
  let armFile: string;
  let rejections: ProgramRejections | undefined;
  const watchers = () => armWatcherIds(armFile);

  before(async () => {
    pulumiCli(); // fails first, and clearly, outside `npm test`
    rejections = keepProgramRejections();
    scratch = mkdtempSync(join(tmpdir(), "flowlogs-watcher-limit-"));
    armFile = join(scratch, "arm.json");
    const azure: ArmState = { resources: { [AZURES_WATCHER]: { type: "azure-native:network:NetworkWatcher", inputs: { location: "northeurope" } } }, pendingWatchers: [] };
    writeFileSync(armFile, JSON.stringify(azure));
    engine = await foundationStack({ stackName: "secondwatcher", armFile });
    await configureNorthEurope(engine, "flowlogslimit01", "flowlogs-watcher");
  });

  after(async () => {
    await engine?.close();
    rejections?.restore();
    rmSync(scratch, { recursive: true, force: true });
  });

  // The program's message, not ARM's: the fix and Azure's rule.
  const assertRefusedByProgram = (error: string | undefined) => {
    assert.ok(error, "must fail");
    assert.match(error, /networkWatcher\.create: the region northeurope already has Azure's Network Watcher "NetworkWatcher_northeurope" in resource group "NetworkWatcherRG"/, error);
    assert.match(error, /Azure allows one Network Watcher per subscription and region/);
    assert.match(error, /remove networkWatcher\.create, networkWatcher\.name and networkWatcher\.resourceGroupName/);
    // ARM's refusal of a second watcher would say this: no watcher create reached the double.
    assert.doesNotMatch(error, /Cannot create more than 1 network watchers/);
  };
  const onlyAzuresWatcherRejections = () => {
    for (const reason of rejections!.take()) assert.match(reason, /networkWatcher\.create: the region northeurope|Resource monitor is terminating/);
  };

  test("contract: preview with networkWatcher.create and Azure's watcher in the region fails with the program's message", { timeout: TIMEOUT }, async () => {
    const error = await engine.stack.preview({ signal: engine.signal }).then(() => undefined, (e: unknown) => String(e));
    assertRefusedByProgram(error);
    assert.deepEqual(Object.keys(armState(armFile).resources), [AZURES_WATCHER], "nothing created");
    onlyAzuresWatcherRejections();
  });

  test("contract: up with networkWatcher.create fails the same way before the watcher is sent; no second watcher", { timeout: TIMEOUT }, async () => {
    const error = await engine.stack.up({ signal: engine.signal }).then(() => undefined, (e: unknown) => String(e));
    assertRefusedByProgram(error);
    assert.deepEqual(watchers(), [AZURES_WATCHER], "only Azure's own watcher");
    // The engine stops the deployment at the failed program: registrations still on their way are cut short.
    onlyAzuresWatcherRejections();
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
