// Azure built-in role definition ids the stack assigns (MicrosoftDocs azure-docs
// articles/role-based-access-control/built-in-roles/{storage,containers}.md). The same in every subscription; a
// condition on the deploying identity's Role Based Access Control Administrator names them (infra/README.md).
export const STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
export const STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
export const ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
/** "Container Registry Repository Reader": pull (repository content and metadata read) in ABAC-mode registries. */
export const ACR_REPOSITORY_READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac";
