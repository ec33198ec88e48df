// Which changes of an EXISTING storage account's SKU Azure applies in place. Pure: no Pulumi imports (the config
// check and the SKU guard's serialized provider both use it).
//
// The rules (MicrosoftDocs azure-docs articles/storage/common/redundancy-migration.md, 2025-10, "Changing
// redundancy configuration"): adding or removing geo-replication or read access is a plain SKU update; adding or
// removing zone redundancy (LRS <-> ZRS, GRS <-> GZRS, RA-GRS <-> RA-GZRS) is a "conversion" that Azure runs in
// the background after a conversion request (portal, `az storage account migration start`,
// Start-AzStorageAccountMigration); a change of both needs the two steps one after the other. Standard <-> Premium
// is never a change of an existing account (StorageAccountTypeConversionNotAllowed, quoted in
// hashicorp/terraform-provider-azurerm#110); the config check refuses Premium anyway (flow logs need Standard).

/** The SKU names of storage accounts whose data is spread over availability zones. */
function zoneRedundant(sku: string): boolean {
  return /zrs$/i.test(sku);
}

function premium(sku: string): boolean {
  return /^premium/i.test(sku);
}

/** One step away with the same zone redundancy, e.g. Standard_LRS -> Standard_GRS or Standard_ZRS -> Standard_GZRS. */
function inPlaceTarget(from: string, zoned: boolean): string {
  const geo = /^standard_ra/i.test(from) ? "RAG" : /^standard_g/i.test(from) ? "G" : "";
  if (zoned) return `Standard_${geo}ZRS`;
  return `Standard_${geo === "" ? "L" : geo}RS`;
}

/**
 * Why Azure would refuse changing an existing account from `from` to `to` as an update, with the fix; undefined
 * when the update is applied in place.
 */
export function skuChangeRefusal(from: string, to: string): string | undefined {
  if (from.toLowerCase() === to.toLowerCase()) return undefined;
  if (premium(from) !== premium(to)) {
    return `Azure cannot change an existing account between Premium and Standard ("${from}" -> "${to}"); keep "${from}", or move the data to a new account yourself`;
  }
  if (zoneRedundant(from) === zoneRedundant(to)) return undefined;
  const conversionTarget = inPlaceTarget(from, zoneRedundant(to));
  const twoSteps = conversionTarget.toLowerCase() !== to.toLowerCase();
  const convert = `az storage account migration start --account-name <account> --resource-group <group> --sku ${conversionTarget} --name default`;
  return `changing zone redundancy ("${from}" -> "${to}") is not an update Azure applies: it needs a conversion request. ` +
    `Keep storage.sku "${from}" for now and start the conversion in Azure (\`${convert}\`, or the portal's Redundancy page); ` +
    `once \`az storage account show\` reports ${conversionTarget}, set storage.sku "${conversionTarget}" with ` +
    `storage.skuConvertedTo "${conversionTarget}" and run \`pulumi up\` (it records the conversion and changes nothing)` +
    (twoSteps ? `, then change storage.sku to "${to}" (an in-place change) and remove storage.skuConvertedTo` : ", then remove storage.skuConvertedTo");
}
