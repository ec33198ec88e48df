// How the collector reaches Azure Storage: Microsoft Entra ID through DefaultAzureCredential (in Azure, the
// user-assigned managed identity named by AZURE_CLIENT_ID) with the account URL, or a connection string for
// Azurite and development. Account keys are never required.
import { DefaultAzureCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";

export type StorageAuth = { connectionString: string } | { accountUrl: string; managedIdentityClientId?: string };

export function createBlobService(auth: StorageAuth): BlobServiceClient {
  if ("connectionString" in auth) return BlobServiceClient.fromConnectionString(auth.connectionString);
  const credential = new DefaultAzureCredential(
    auth.managedIdentityClientId ? { managedIdentityClientId: auth.managedIdentityClientId } : {},
  );
  return new BlobServiceClient(auth.accountUrl, credential);
}
