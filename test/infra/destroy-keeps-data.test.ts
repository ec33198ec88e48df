// What `pulumi destroy` leaves: by default the stored flow logs (group, account, retention policy, flow-log
// containers carry retainOnDelete); with storage.keepDataOnDestroy false, nothing is retained but adopted flow logs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { planJson, vnetId } from "./planHelpers";

const base = { location: "westeurope", storage: { accountName: "flowlogstest01" }, flowLogs: [vnetId("vnet1")] };
const KEPT = new Set([
  "azure-native:resources:ResourceGroup",
  "azure-native:storage:StorageAccount",
  "azure-native:storage:ManagementPolicy",
  "azure-native:storage:BlobContainer",
]);

test("by default destroy keeps the stored flow logs and deletes everything else", async () => {
  const resources = await planJson(base);
  const retained = resources.filter((r) => r.options?.retainOnDelete).map((r) => `${r.type} ${r.name}`).sort();
  assert.deepEqual(retained, [
    "azure-native:resources:ResourceGroup resource-group",
    "azure-native:storage:BlobContainer insights-logs-flowlogflowevent",
    "azure-native:storage:BlobContainer insights-logs-networksecuritygroupflowevent",
    "azure-native:storage:ManagementPolicy flowlog-storage-retention",
    "azure-native:storage:StorageAccount flowlog-storage-account",
  ]);
  for (const r of resources) if (!KEPT.has(r.type)) assert.equal(r.options?.retainOnDelete, undefined, `${r.type} ${r.name} is deleted`);
});

test("with storage.keepDataOnDestroy false, destroy deletes the stored flow logs too", async () => {
  const resources = await planJson({ ...base, storage: { ...base.storage, keepDataOnDestroy: false } });
  assert.ok(resources.some((r) => r.type === "azure-native:storage:StorageAccount"));
  assert.deepEqual(resources.filter((r) => r.options?.retainOnDelete).map((r) => r.name), []);
});

test("a watcher created in the stack's own group keeps that group on destroy, even with keepDataOnDestroy false", async () => {
  // Deleting a resource group deletes everything in it in Azure: the retained watcher, and every flow log under it.
  const resources = await planJson({ ...base, storage: { ...base.storage, keepDataOnDestroy: false }, networkWatcher: { create: true } });
  const group = resources.find((r) => r.type === "azure-native:resources:ResourceGroup")!;
  const watcher = resources.find((r) => r.type === "azure-native:network:NetworkWatcher")!;
  assert.equal(watcher.inputs?.resourceGroupName, group.inputs?.resourceGroupName, "the watcher is in the stack's group");
  assert.deepEqual(resources.filter((r) => r.options?.retainOnDelete).map((r) => r.type).sort(), [
    "azure-native:network:NetworkWatcher", "azure-native:resources:ResourceGroup",
  ]);
  // In a group of its own, the stack's group goes as before.
  const apart = await planJson({ ...base, storage: { ...base.storage, keepDataOnDestroy: false }, networkWatcher: { create: true, resourceGroupName: "rg-network" } });
  assert.deepEqual(apart.filter((r) => r.options?.retainOnDelete).map((r) => r.type), ["azure-native:network:NetworkWatcher"]);
});
