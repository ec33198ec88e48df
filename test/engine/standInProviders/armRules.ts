// The Azure Resource Manager behaviour the stand-in azure-native provider imitates when a test gives it a state
// file (STAND_IN_ARM_STATE), written down from Microsoft's documentation, not from this project's code:
// - Storage SKU changes of an existing account (MicrosoftDocs azure-docs articles/storage/common/
//   redundancy-migration.md, 2025-10, table "Changing redundancy configuration"): portal/PowerShell/CLI (an update
//   of the SKU) between LRS, GRS and RA-GRS, and between ZRS, GZRS and RA-GZRS; every change of zone redundancy is
//   "Perform a conversion" (a separate request, not an update); Premium <-> Standard is refused
//   (StorageAccountTypeConversionNotAllowed, the error quoted in hashicorp/terraform-provider-azurerm#110).
// - Network Watcher (network-watcher-create.md, and the limit in azure-subscription-service-limits.md): creating or
//   updating a VNet enables Network Watcher in its region, as NetworkWatcher_<region> in NetworkWatcherRG, in
//   the background; one watcher per subscription and region (NetworkWatcherCountLimitReached).

/** SKU changes Azure applies as an update of an existing account, by the documentation's table; the rest are refused. */
export const IN_PLACE_SKU_CHANGES: Record<string, readonly string[]> = {
  Standard_LRS: ["Standard_GRS", "Standard_RAGRS"],
  Standard_GRS: ["Standard_LRS", "Standard_RAGRS"],
  Standard_RAGRS: ["Standard_LRS", "Standard_GRS"],
  Standard_ZRS: ["Standard_GZRS", "Standard_RAGZRS"],
  Standard_GZRS: ["Standard_ZRS", "Standard_RAGZRS"],
  Standard_RAGZRS: ["Standard_ZRS", "Standard_GZRS"],
  Premium_LRS: [],
  Premium_ZRS: [],
};

export function armRefusesSkuUpdate(from: string, to: string): boolean {
  return from !== to && !(IN_PLACE_SKU_CHANGES[from] ?? []).includes(to);
}

/** The watcher Azure creates for a region. */
export function autoCreatedWatcher(region: string): { name: string; resourceGroupName: string } {
  return { name: `NetworkWatcher_${region.toLowerCase()}`, resourceGroupName: "NetworkWatcherRG" };
}
