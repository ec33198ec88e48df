// Contract: the program's rule for SKU changes of an existing flow-log account (infra/storageSku.ts, which the SKU
// guard applies at preview) against the ARM double's table, written from Microsoft's redundancy-migration doc
// (test/engine/standInProviders/armRules.ts): whatever Azure applies in place passes, whatever it refuses is
// refused with a message naming the key, both values and the fix. And the config key that records a conversion.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../infra/config";
import { skuChangeRefusal } from "../../infra/storageSku";
import { skuGuardProvider } from "../../infra/components/storageSkuGuard";
import { IN_PLACE_SKU_CHANGES, armRefusesSkuUpdate } from "../engine/standInProviders/armRules";
import { CONTEXT, only } from "./configProblems";
import { vnetId } from "./planHelpers";

const SKUS = Object.keys(IN_PLACE_SKU_CHANGES);

test("contract: every SKU change is refused exactly when ARM refuses it as an update, by Microsoft's table", () => {
  for (const from of SKUS) {
    for (const to of SKUS) {
      const refusal = skuChangeRefusal(from, to);
      assert.equal(refusal !== undefined, armRefusesSkuUpdate(from, to), `${from} -> ${to}: ${refusal ?? "applied in place"}`);
      if (refusal) assert.ok(refusal.includes(from) && refusal.includes(to), `names both values: ${refusal}`);
    }
  }
});

// The guard records a new SKU when its own update runs, before Azure applies the account's (it must run first to
// stop a refused change at preview). If that account update then fails, the guard holds a SKU Azure never applied.
// That is harmless only while a verdict depends on nothing but the SKU's class (tier and zone redundancy), which an
// allowed change keeps: then judging from the recorded SKU and from Azure's gives the same answer for any next SKU.
test("contract: a SKU recorded for an update Azure then failed judges every next change as Azure's own SKU would", () => {
  for (const applied of SKUS) {
    for (const recorded of SKUS.filter((sku) => !armRefusesSkuUpdate(applied, sku))) {
      for (const next of SKUS) {
        assert.equal(skuChangeRefusal(recorded, next) !== undefined, armRefusesSkuUpdate(applied, next),
          `Azure has ${applied}, the guard recorded ${recorded} from a failed update, the next config says ${next}`);
      }
    }
  }
});

test("contract: a refused zone-redundancy change names the conversion to start and the one-step target, two steps when needed", () => {
  const oneStep = skuChangeRefusal("Standard_LRS", "Standard_ZRS")!;
  assert.match(oneStep, /az storage account migration start .*--sku Standard_ZRS/);
  assert.match(oneStep, /storage\.skuConvertedTo "Standard_ZRS"/);
  assert.doesNotMatch(oneStep, /then change storage\.sku/);
  // LRS -> GZRS: a conversion to ZRS, then the in-place ZRS -> GZRS; the doc allows the two steps in either order.
  const twoSteps = skuChangeRefusal("Standard_LRS", "Standard_GZRS")!;
  assert.match(twoSteps, /--sku Standard_ZRS/);
  assert.equal(armRefusesSkuUpdate("Standard_ZRS", "Standard_GZRS"), false, "the second step is an in-place change");
  assert.match(twoSteps, /then change storage\.sku to "Standard_GZRS"/);
  assert.match(skuChangeRefusal("Standard_RAGZRS", "Standard_LRS")!, /--sku Standard_RAGRS/);
});

test("the SKU guard's check fails a refused change naming storage.sku, accepts allowed ones, a recorded conversion, and a first run", async () => {
  const check = (olds: any, news: any) => skuGuardProvider.check!(olds, news);
  const refused = await check({ accountName: "a", sku: "Standard_GRS" }, { accountName: "a", sku: "Standard_ZRS" });
  assert.equal(refused.failures?.length, 1);
  assert.match(refused.failures![0]!.reason, /^storage\.sku: .*"Standard_GRS" -> "Standard_ZRS"/);
  assert.equal((await check({ accountName: "a", sku: "Standard_LRS" }, { accountName: "a", sku: "Standard_RAGRS" })).failures, undefined);
  assert.equal((await check({ accountName: "a", sku: "Standard_LRS" }, { accountName: "a", sku: "Standard_ZRS", convertedTo: "Standard_ZRS" })).failures, undefined);
  assert.equal((await check(undefined, { accountName: "a", sku: "Standard_ZRS" })).failures, undefined, "nothing recorded yet");
});

test("a new storage.accountName is a new account, which Azure creates with any SKU: the guard does not compare with the old one's", async () => {
  const renamed = await skuGuardProvider.check!({ accountName: "a", sku: "Standard_GRS" }, { accountName: "b", sku: "Standard_ZRS" });
  assert.equal(renamed.failures, undefined);
});

test("the guard refuses moving the account (resourceGroupName, location) unless it is a new account; a new location needs a new group", async () => {
  const at = (accountName: string, resourceGroupName: string, location: string) => ({ accountName, sku: "Standard_LRS", resourceGroupName, location });
  const refused = async (olds: any, news: any) => ((await skuGuardProvider.check!(olds, news)).failures ?? []).map((f) => `${f.property}: ${f.reason}`);
  const moved = await refused(at("a", "rg1", "westeurope"), at("a", "rg2", "westeurope"));
  assert.equal(moved.length, 1);
  assert.match(moved[0]!, /^resourceGroupName: resourceGroupName: changing it \("rg1" -> "rg2"\) would move the storage account a, .*set a new storage\.accountName as well/);
  const relocated = await refused(at("a", "rg1", "westeurope"), at("a", "rg1", "northeurope"));
  assert.equal(relocated.length, 1);
  assert.match(relocated[0]!, /^location: .*"westeurope" -> "northeurope".*resource group rg1.*set a new resourceGroupName too/);
  assert.deepEqual(await refused(at("a", "rg1", "westeurope"), at("b", "rg2", "westeurope")), [], "a new account in a new group");
  assert.deepEqual(await refused(at("a", "rg1", "westeurope"), at("b", "rg2", "northeurope")), [], "a new account in a new group elsewhere");
  assert.match((await refused(at("a", "rg1", "westeurope"), at("b", "rg1", "northeurope"))).join(), /^location: .*set a new resourceGroupName too/, "the group would still move");
  assert.equal((await refused(at("a", "rg1", "westeurope"), at("a", "rg2", "northeurope"))).length, 2, "the account would move twice over");
  assert.deepEqual(await refused({ accountName: "a", sku: "Standard_LRS" }, at("a", "rg2", "northeurope")), [], "a guard recorded before these fields: recorded now");
  assert.equal((await skuGuardProvider.diff!("id", { accountName: "a", sku: "Standard_LRS" }, at("a", "rg1", "westeurope"))).changes, true, "and recorded by an update");
});

test("storage.skuConvertedTo must name storage.sku", () => {
  const base = { location: "westeurope", flowLogs: [vnetId("vnet1")] };
  assert.equal(parseConfig({ ...base, storage: { accountName: "flowlogs001", sku: "Standard_ZRS", skuConvertedTo: "Standard_ZRS" } }, CONTEXT).storage.skuConvertedTo, "Standard_ZRS");
  assert.match(only({ ...base, storage: { accountName: "flowlogs001", sku: "Standard_GZRS", skuConvertedTo: "Standard_ZRS" } }, "storage.skuConvertedTo"),
    /"Standard_ZRS" but storage\.sku is "Standard_GZRS"/);
});
