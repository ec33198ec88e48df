// A storage client whose every request first passes a test's pipeline policy, in the phase where the bearer-token
// (or SAS) policy acts: where a missing token, a refused role or a late SAS shows up in production.
import type { BlobServiceClient } from "@azure/storage-blob";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";

export function withSignPolicy(client: BlobServiceClient, policy: PipelinePolicy): BlobServiceClient {
  (client as unknown as { storageClientContext: { pipeline: { addPolicy(policy: PipelinePolicy, options: { phase: "Sign" }): void } } })
    .storageClientContext.pipeline.addPolicy(policy, { phase: "Sign" });
  return client;
}
