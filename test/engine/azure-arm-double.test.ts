// The program's storage and Network Watcher wiring (infra/foundation.ts, as infra/index.ts uses it) under the REAL
// Pulumi engine, against the stand-in azure-native provider acting as an ARM contract double: it keeps what "Azure"
// holds in a file and answers by Microsoft's documented rules (test/engine/standInProviders/armRules.ts): the
// watcher Azure creates in the background after the first VNet of a region, and the storage SKU changes ARM refuses
// as updates. One stack, operations in order.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pulumiCli } from "../support/env";
import type { EngineStack } from "./support/engineStack";
import { armState, foundationStack } from "./support/foundationStack";

const TIMEOUT = 180_000;
const ACCOUNT = "flowlogsarm01";
const WATCHER_DELAY_MS = 3000;

describe("storage SKU changes and the auto-created Network Watcher, on the real engine against the ARM contract double", { timeout: TIMEOUT * 5 }, () => {
  let engine: EngineStack;
  let scratch: string;
  let armFile: string;

  const arm = () => armState(armFile);
  const ofType = (type: string) => Object.values(arm().resources).filter((r) => r.type === type);
  const account = () => ofType("azure-native:storage:StorageAccount")[0]!;

  before(async () => {
    pulumiCli(); // fails first, and clearly, outside `npm test`
    scratch = mkdtempSync(join(tmpdir(), "flowlogs-arm-double-"));
    armFile = join(scratch, "arm.json");
    engine = await foundationStack({ stackName: "armdouble", armFile, env: { STAND_IN_WATCHER_DELAY_MS: String(WATCHER_DELAY_MS) } });
    await engine.stack.setAllConfig({
      location: { value: "westeurope" },
      "storage.accountName": { value: ACCOUNT },
      demoNetwork: { value: "true" },
    }, true);
  });

  after(async () => {
    await engine?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("a first up in a region without a watcher waits for the one Azure creates after the demo VNet, then uses it", { timeout: TIMEOUT }, async () => {
    const result = await engine.stack.up({ signal: engine.signal });
    assert.equal(result.summary.result, "succeeded");
    assert.equal(result.outputs.watcherName!.value, "NetworkWatcher_westeurope");
    assert.equal(ofType("azure-native:network:NetworkWatcher").length, 1, "Azure's own watcher, none declared");
    assert.equal(account().inputs.sku.name, "Standard_LRS");
  });

  test("an allowed SKU change (LRS -> GRS) is an update in place", { timeout: TIMEOUT }, async () => {
    await engine.stack.setConfig("storage.sku", { value: "Standard_GRS" }, true);
    const result = await engine.stack.up({ signal: engine.signal });
    assert.equal(result.summary.result, "succeeded");
    assert.equal(result.summary.resourceChanges?.replace, undefined, "nothing replaced");
    assert.ok((result.summary.resourceChanges?.update ?? 0) >= 2, `the guard and the account update: ${JSON.stringify(result.summary.resourceChanges)}`);
    assert.equal(account().inputs.sku.name, "Standard_GRS");
  });

  test("a zone-redundancy change (GRS -> ZRS) fails preview and up naming the key, both SKUs and the fix; Azure is untouched", { timeout: TIMEOUT }, async () => {
    const before = arm();
    await engine.stack.setConfig("storage.sku", { value: "Standard_ZRS" }, true);
    await engine.stack.setConfig("tags.owner", { value: "network-team" }, true); // a change that must not happen either
    for (const operation of ["preview", "up"] as const) {
      const error = await engine.stack[operation]({ signal: engine.signal }).then(() => undefined, (e: unknown) => String(e));
      assert.ok(error, `${operation} must fail`);
      assert.match(error, /storage\.sku: changing zone redundancy \("Standard_GRS" -> "Standard_ZRS"\)/, error);
      assert.match(error, /az storage account migration start/);
      assert.doesNotMatch(error, /StorageAccountTypeConversionNotAllowed/, "refused before ARM was asked");
    }
    assert.deepEqual(arm(), before, "nothing in Azure changed");
  });

  test("after the conversion finished in Azure, storage.skuConvertedTo lets up record it", { timeout: TIMEOUT }, async () => {
    const state = arm();
    const [id] = Object.entries(state.resources).find(([, r]) => r.type === "azure-native:storage:StorageAccount")!;
    state.resources[id]!.inputs.sku = { name: "Standard_ZRS" }; // what the conversion request did
    writeFileSync(armFile, JSON.stringify(state));
    await engine.stack.setConfig("storage.skuConvertedTo", { value: "Standard_ZRS" }, true);
    const result = await engine.stack.up({ signal: engine.signal });
    assert.equal(result.summary.result, "succeeded");
    assert.equal(account().inputs.sku.name, "Standard_ZRS");
    assert.equal(account().inputs.tags.owner, "network-team");
  });

  // The policy is retained on delete (kept data keeps its retention), and the engine retains such a resource also when
  // the program stops declaring it: were keep-forever no policy, Azure would go on deleting after the old days.
  test("retentionDays 7 -> 0 (keep forever) with the data kept on destroy: Azure's lifecycle rule stops deleting", { timeout: TIMEOUT }, async () => {
    const policy = () => ofType("azure-native:storage:ManagementPolicy")[0]!.inputs.policy as { rules: Array<{ enabled: boolean; definition: any }> };
    await engine.stack.setConfig("retentionDays", { value: "7" }, true);
    assert.equal((await engine.stack.up({ signal: engine.signal })).summary.result, "succeeded");
    assert.deepEqual(policy().rules.filter((r) => r.enabled).map((r) => r.definition.actions.baseBlob.delete.daysAfterModificationGreaterThan), [7]);
    await engine.stack.setConfig("retentionDays", { value: "0" }, true);
    const result = await engine.stack.up({ signal: engine.signal });
    assert.equal(result.summary.result, "succeeded");
    assert.equal(ofType("azure-native:storage:ManagementPolicy").length, 1);
    assert.deepEqual(policy().rules.filter((r) => r.enabled), [], "no rule of the account's policy deletes anything");
    assert.equal(account().inputs.tags["flowlogs-retention"], "keep-forever");
  });

  test("a new resourceGroupName for the same account fails preview and up naming the key and the fix; Azure is untouched", { timeout: TIMEOUT }, async () => {
    const before = arm();
    await engine.stack.setConfig("resourceGroupName", { value: "rg-flowlogs-moved" }, true);
    for (const operation of ["preview", "up"] as const) {
      const error = await engine.stack[operation]({ signal: engine.signal }).then(() => undefined, (e: unknown) => String(e));
      assert.ok(error, `${operation} must fail`);
      assert.match(error, new RegExp(`resourceGroupName: changing it \\(".*" -> "rg-flowlogs-moved"\\) would move the storage account ${ACCOUNT}`), error);
      assert.match(error, /set a new storage\.accountName as well/);
    }
    assert.deepEqual(arm(), before, "nothing in Azure changed");
    await engine.stack.removeConfig("resourceGroupName");
  });
});
