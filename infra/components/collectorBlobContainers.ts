// Blob containers declared as resources so that container-scoped role assignments have a scope that exists.
// Used for the flow-log containers (always declared: Network Watcher writes into an existing container as into
// one it created itself) and for the collector's checkpoint container.
import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";

export interface BlobContainersArgs {
  resourceGroupName: pulumi.Input<string>;
  accountName: pulumi.Input<string>;
  containerNames: string[];
  /** `pulumi destroy` forgets the containers instead of deleting them with their blobs. */
  retainOnDelete?: boolean;
}

export class BlobContainers extends pulumi.ComponentResource {
  readonly containers: Record<string, storage.BlobContainer>;
  /** ARM ids `<accountId>/blobServices/default/containers/<name>`, by container name. */
  readonly ids: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: BlobContainersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:BlobContainers", name, {}, opts);
    this.containers = {};
    this.ids = {};
    for (const containerName of args.containerNames) {
      const container = new storage.BlobContainer(containerName, {
        resourceGroupName: args.resourceGroupName,
        accountName: args.accountName,
        containerName,
        publicAccess: "None",
      }, { parent: this, retainOnDelete: args.retainOnDelete || undefined });
      this.containers[containerName] = container;
      this.ids[containerName] = container.id;
    }
    this.registerOutputs({ ids: this.ids });
  }
}
