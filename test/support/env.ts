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

/** Path of the real Pulumi CLI (`.../pulumi-<version>/bin/pulumi`), built once per machine by scripts/pulumi-cli.ts. */
export function pulumiCli(): string {
  return required("PULUMI_CLI", "the Pulumi CLI build");
}

/** A `node` binary of the version collector/Dockerfile pins (scripts/image-node.ts): memory and the image's steps run on it. */
export function imageNode(): string {
  return required("IMAGE_NODE", "the image's Node.js");
}

function required(name: string, service: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the tests through \`npm test\` (test/run.ts starts ${service}), or set ${name} yourself`);
  }
  return value;
}
