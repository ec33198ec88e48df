// Points @azure/identity's managed identity at a local token endpoint the way Container Apps and App Service give it
// (IDENTITY_ENDPOINT and IDENTITY_HEADER), with every other credential source of the environment cleared.

/** Sets the variables; returns what puts the environment back as it was. */
export function useManagedIdentityEndpoint(tokenUrl: string): () => void {
  const values: Record<string, string | undefined> = {
    IDENTITY_ENDPOINT: tokenUrl, IDENTITY_HEADER: "local-test-header",
    AZURE_CLIENT_ID: undefined, AZURE_TENANT_ID: undefined, AZURE_CLIENT_SECRET: undefined, AZURE_FEDERATED_TOKEN_FILE: undefined,
    MSI_ENDPOINT: undefined, MSI_SECRET: undefined, IMDS_ENDPOINT: undefined, AZURE_TOKEN_CREDENTIALS: undefined,
  };
  const before = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (next: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(next)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  return () => apply(before);
}
