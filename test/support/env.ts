// Tests reach the services that test/run.ts started through these variables. A test that needs one calls the
// accessor; the runner scans test files for these calls to decide which services to start.

export function azuriteConnectionString(): string {
  return required("AZURITE_CONNECTION_STRING", "Azurite");
}

export function elasticsearchUrl(): string {
  return required("ES_URL", "Elasticsearch");
}

export function opensearchUrl(): string {
  return required("OPENSEARCH_URL", "OpenSearch");
}

function required(name: string, service: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the tests through \`npm test\` (test/run.ts starts ${service}), or set ${name} yourself`);
  }
  return value;
}
