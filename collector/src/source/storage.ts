// How the collector reaches Azure Storage: Microsoft Entra ID through DefaultAzureCredential (in Azure, the
// user-assigned managed identity named by AZURE_CLIENT_ID) with the account URL, or a connection string for
// Azurite and development. Account keys are never required. Getting a token has the storage deadline too
// (tokenDeadline.ts); the storage requests get theirs from runCollector (requestDeadline.ts).
import { DefaultAzureCredential } from "@azure/identity";
import { BlobServiceClient, type StoragePipelineOptions } from "@azure/storage-blob";
import { httpClientWithDeadline, TokenDeadlineCredential } from "./tokenDeadline";

export type StorageAuth = { connectionString: string } | { accountUrl: string; managedIdentityClientId?: string };

/** `timeoutMs`: FLOWLOGS_STORAGE_TIMEOUT_MS. `options`: the storage client's (tests shorten its retry delays). */
export function createBlobService(auth: StorageAuth, timeoutMs: number, options: StoragePipelineOptions = {}): BlobServiceClient {
  if ("connectionString" in auth) return BlobServiceClient.fromConnectionString(auth.connectionString, options);
  const credential = new DefaultAzureCredential({
    ...(auth.managedIdentityClientId ? { managedIdentityClientId: auth.managedIdentityClientId } : {}),
    httpClient: httpClientWithDeadline(timeoutMs),
  });
  return new BlobServiceClient(auth.accountUrl, new TokenDeadlineCredential(credential, timeoutMs), options);
}
