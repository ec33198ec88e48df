// The collector deployment, composed: where its image comes from (built and pushed to a registry this stack
// creates, or a prebuilt reference), its checkpoint container, its identity and permissions, its container group.
import * as pulumi from "@pulumi/pulumi";
import type { CollectorConfig } from "../config";
import { BlobContainers } from "./collectorBlobContainers";
import { CollectorContainerGroup } from "./collectorContainerGroup";
import { CollectorIdentity } from "./collectorIdentity";
import { CollectorImage } from "./collectorImage";
import { ContainerRegistry } from "./containerRegistry";

export interface CollectorArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  settings: CollectorConfig;
  storageAccountName: pulumi.Input<string>;
  storageBlobEndpoint: pulumi.Input<string>;
  /** The flow-log containers' ids by name (declared elsewhere: they exist with or without the collector). */
  flowLogContainerIds: Record<string, pulumi.Input<string>>;
  /** The Elasticsearch writer API key; a secret. */
  esApiKey: pulumi.Input<string>;
  /** See CollectorIdentityArgs.roleAssignmentWaitSeconds. */
  roleAssignmentWaitSeconds: number;
  tags: Record<string, string>;
}

export class Collector extends pulumi.ComponentResource {
  readonly registry?: ContainerRegistry;
  readonly image?: CollectorImage;
  readonly identity: CollectorIdentity;
  readonly group: CollectorContainerGroup;
  readonly imageReference: pulumi.Output<string>;
  readonly identityClientId: pulumi.Output<string>;
  readonly containerGroupName: pulumi.Output<string>;

  constructor(name: string, args: CollectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:Collector", name, {}, opts);
    const { settings, tags } = args;
    const child = { parent: this };
    const source = settings.image;
    let pullFrom: { registryId: pulumi.Input<string>; loginServer: pulumi.Input<string> } | undefined;
    if (source.build) {
      this.registry = new ContainerRegistry(`${name}-registry`, {
        resourceGroupName: args.resourceGroupName, location: args.location, registryName: source.registryName, sku: source.registrySku, tags,
      }, child);
      this.image = new CollectorImage(`${name}-image`, { loginServer: this.registry.loginServer, pushCredentials: this.registry.pushCredentials }, child);
      this.imageReference = this.image.reference;
      pullFrom = { registryId: this.registry.registryId, loginServer: this.registry.loginServer };
    } else {
      this.imageReference = pulumi.output(source.reference);
      pullFrom = source.registry && { registryId: source.registry.resourceId, loginServer: source.registry.loginServer };
    }

    const checkpoints = new BlobContainers(`${name}-checkpoints`, {
      resourceGroupName: args.resourceGroupName, accountName: args.storageAccountName, containerNames: [settings.checkpointContainer],
    }, child);
    this.identity = new CollectorIdentity(`${name}-access`, {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      readContainerIds: args.flowLogContainerIds,
      checkpointContainerId: checkpoints.ids[settings.checkpointContainer]!,
      registryId: pullFrom?.registryId,
      roleAssignmentWaitSeconds: args.roleAssignmentWaitSeconds,
      tags,
    }, child);
    this.group = new CollectorContainerGroup(`${name}-runtime`, {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      containerGroupName: settings.containerGroupName,
      image: this.imageReference,
      registryLoginServer: pullFrom?.loginServer,
      identityId: this.identity.identityId,
      identityClientId: this.identity.clientId,
      cpu: settings.cpu,
      memoryGb: settings.memoryGb,
      pollIntervalSeconds: settings.pollIntervalSeconds,
      storageBlobEndpoint: args.storageBlobEndpoint,
      flowLogContainers: Object.keys(args.flowLogContainerIds),
      checkpointContainer: settings.checkpointContainer,
      elasticsearch: settings.elasticsearch,
      threatList: settings.threatList,
      geoip: settings.geoip,
      esApiKey: args.esApiKey,
      tags,
      // Without its permissions the collector's first polls fail (403) and the image pull is refused; depending on
      // the component includes its propagation wait (roleAssignmentPropagation.ts).
      dependsOn: [this.identity],
    }, child);
    this.identityClientId = this.identity.clientId;
    this.containerGroupName = this.group.name;
    this.registerOutputs({ imageReference: this.imageReference, identityClientId: this.identityClientId, containerGroupName: this.containerGroupName });
  }
}
