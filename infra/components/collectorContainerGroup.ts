// The collector as an Azure Container Instances container group: one always-restarted container, modest CPU and
// memory, a liveness probe on /healthz, its settings as environment variables (collector/src/service/README.md),
// the Elasticsearch API key only as a secure value. It runs as the collector's managed identity, which also
// pulls the image.
import * as pulumi from "@pulumi/pulumi";
import * as containerinstance from "@pulumi/azure-native/containerinstance";
import { DEFAULTS } from "../config";
import { collectorNodeOptions } from "./collectorHeap";

export const COLLECTOR_METRICS_PORT = 9464;
/** A private CA reaches the collector as a file (ACI mounts files only through secret volumes). */
const CA_MOUNT = "/etc/flowlogs/es-ca";
const CA_FILE = "ca.pem";
/** The threat list, the same way (infra/collectorThreatList.ts); a new list is a new deployment of the group. */
const THREAT_LIST_MOUNT = "/etc/flowlogs/threat-list";

export interface CollectorContainerGroupArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  containerGroupName: string;
  image: pulumi.Input<string>;
  /** Login server of the registry to pull from with the identity; absent for a public image. */
  registryLoginServer?: pulumi.Input<string>;
  identityId: pulumi.Input<string>;
  identityClientId: pulumi.Input<string>;
  cpu: number;
  memoryGb: number;
  /** Seconds between polls; the collector's default (60) is left unset, so stacks without the key keep their container as it was. */
  pollIntervalSeconds: number;
  storageBlobEndpoint: pulumi.Input<string>;
  flowLogContainers: string[];
  checkpointContainer: string;
  /** Where the collector writes; a private CA is mounted as a file, dedupe needs a key that may read. */
  elasticsearch: { url: string; namespace: string; caCert?: string; dedupeAcrossBackingIndices?: boolean };
  /** A threat list to mount and name in FLOWLOGS_THREAT_LIST_FILE. */
  threatList?: { fileName: string; content: string };
  /** Geo/AS enrichment: off, or the database files inside the image (collector/src/service/README.md, FLOWLOGS_GEOIP*). */
  geoip: { enabled: boolean; database?: string; asnDatabase?: string };
  /** The writer API key (encoded form). Kept secret: it reaches the container only as `secureValue`. */
  esApiKey: pulumi.Input<string>;
  tags: Record<string, string>;
  /** e.g. the role assignments: without them the first polls fail with 403. */
  dependsOn?: pulumi.Resource[];
}

export class CollectorContainerGroup extends pulumi.ComponentResource {
  readonly group: containerinstance.ContainerGroup;
  readonly name: pulumi.Output<string>;

  constructor(name: string, args: CollectorContainerGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:CollectorContainerGroup", name, {}, opts);
    const plain: Record<string, pulumi.Input<string>> = {
      FLOWLOGS_STORAGE_ACCOUNT_URL: args.storageBlobEndpoint,
      AZURE_CLIENT_ID: args.identityClientId,
      FLOWLOGS_CONTAINERS: args.flowLogContainers.join(","),
      FLOWLOGS_CHECKPOINT_CONTAINER: args.checkpointContainer,
      FLOWLOGS_SINK: "elasticsearch",
      FLOWLOGS_ES_URL: args.elasticsearch.url,
      FLOWLOGS_ES_NAMESPACE: args.elasticsearch.namespace,
      ...(args.pollIntervalSeconds !== DEFAULTS.collectorPollIntervalSeconds ? { FLOWLOGS_POLL_INTERVAL_SECONDS: String(args.pollIntervalSeconds) } : {}),
      ...(args.elasticsearch.caCert ? { FLOWLOGS_ES_CA_FILE: `${CA_MOUNT}/${CA_FILE}` } : {}),
      ...(args.elasticsearch.dedupeAcrossBackingIndices ? { FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES: "true" } : {}),
      ...(args.threatList ? { FLOWLOGS_THREAT_LIST_FILE: `${THREAT_LIST_MOUNT}/${args.threatList.fileName}` } : {}),
      // Unset means the collector's default: on, with the country database shipped in the image.
      ...(args.geoip.enabled ? {} : { FLOWLOGS_GEOIP: "off" }),
      ...(args.geoip.database ? { FLOWLOGS_GEOIP_DATABASE: args.geoip.database } : {}),
      ...(args.geoip.asnDatabase ? { FLOWLOGS_GEOIP_ASN_DATABASE: args.geoip.asnDatabase } : {}),
      // The heap grows with the container's memory (./collectorHeap.ts); the image's cap would leave it unused.
      NODE_OPTIONS: collectorNodeOptions(args.memoryGb),
      // The probe comes from outside the container's loopback.
      FLOWLOGS_METRICS_HOST: "0.0.0.0",
      FLOWLOGS_METRICS_PORT: String(COLLECTOR_METRICS_PORT),
    };
    const volumes: Array<{ name: string; secret: Record<string, string>; mountPath: string }> = [];
    if (args.elasticsearch.caCert) volumes.push({ name: "es-ca", secret: { [CA_FILE]: base64(args.elasticsearch.caCert) }, mountPath: CA_MOUNT });
    if (args.threatList) volumes.push({ name: "threat-list", secret: { [args.threatList.fileName]: base64(args.threatList.content) }, mountPath: THREAT_LIST_MOUNT });
    this.group = new containerinstance.ContainerGroup(`${name}-group`, {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      containerGroupName: args.containerGroupName,
      osType: "Linux",
      sku: "Standard",
      restartPolicy: "Always",
      identity: { type: "UserAssigned", userAssignedIdentities: [args.identityId] },
      imageRegistryCredentials: args.registryLoginServer ? [{ server: args.registryLoginServer, identity: args.identityId }] : undefined,
      volumes: volumes.length ? volumes.map(({ name: volumeName, secret }) => ({ name: volumeName, secret })) : undefined,
      containers: [{
        name: "collector",
        image: args.image,
        resources: { requests: { cpu: args.cpu, memoryInGB: args.memoryGb } },
        ports: [{ port: COLLECTOR_METRICS_PORT, protocol: "TCP" }],
        volumeMounts: volumes.length ? volumes.map(({ name: volumeName, mountPath }) => ({ name: volumeName, mountPath, readOnly: true })) : undefined,
        environmentVariables: [
          ...Object.entries(plain).map(([envName, value]) => ({ name: envName, value })),
          { name: "FLOWLOGS_ES_API_KEY", secureValue: pulumi.secret(args.esApiKey) },
        ],
        // /healthz answers 503 once no poll has completed for three poll intervals; three failed probes restart it.
        livenessProbe: {
          httpGet: { path: "/healthz", port: COLLECTOR_METRICS_PORT, scheme: "http" },
          initialDelaySeconds: 30,
          periodSeconds: 30,
          timeoutSeconds: 5,
          failureThreshold: 3,
        },
      }],
      tags: args.tags,
    }, {
      parent: this,
      dependsOn: args.dependsOn,
      // Azure Container Instances refuses to update these in place (InvalidContainerGroupUpdate: delete the group, then
      // create it): a new group instead, the old one deleted first since the name is fixed.
      replaceOnChanges: ["containers[*].resources", "restartPolicy", "osType"],
      deleteBeforeReplace: true,
    });
    this.name = this.group.name;
    this.registerOutputs({ name: this.name });
  }
}

function base64(text: string): string {
  return Buffer.from(text).toString("base64");
}
