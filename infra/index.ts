// The Pulumi program (package.json "main"): reads the validated config and composes one component per concern.
// The logic lives in ./config.ts (validation, naming), ./components/* (Azure side) and ./elastic (Elastic side).
import * as pulumi from "@pulumi/pulumi";
import { Collector } from "./components/collector";
import { BlobContainers } from "./components/collectorBlobContainers";
import { FlowLogs } from "./components/flowLogs";
import { FlowLogWriterIdentity } from "./components/flowLogWriterIdentity";
import { TrafficAnalyticsWorkspace } from "./components/trafficAnalyticsWorkspace";
import { FlowlogsElastic } from "./elastic";
import { flowlogsElasticArgs } from "./elastic/config";
import { declareFoundation, declareWatcher } from "./foundation";
import { FLOW_LOG_CONTAINERS } from "./retention";
import { loadStackConfig } from "./stackConfig";

const config = loadStackConfig();
const { location, tags } = config;

const { skuGuard, resourceGroup, flowLogStorage, keepData } = declareFoundation(config);

// Declared so that the collector's container-scoped role assignments have a scope; Network Watcher writes into
// an existing container just as into one it creates on first write.
const flowLogBlobContainers = new BlobContainers("flowlog-containers", {
  resourceGroupName: resourceGroup.name,
  accountName: flowLogStorage.accountName,
  containerNames: [FLOW_LOG_CONTAINERS.vnet, FLOW_LOG_CONTAINERS.nsg],
  retainOnDelete: keepData,
});

const writer = config.storage.allowSharedKeyAccess ? undefined : new FlowLogWriterIdentity("flowlog-writer", {
  resourceGroupName: resourceGroup.name,
  location,
  storageAccountId: flowLogStorage.accountId,
  roleAssignmentWaitSeconds: config.roleAssignmentWaitSeconds,
  tags,
});

const { watcher, demoNetwork } = declareWatcher(config, { resourceGroup, skuGuard });

const analytics = config.trafficAnalytics && new TrafficAnalyticsWorkspace("traffic-analytics", config.trafficAnalytics.workspace.create
  ? { create: true, resourceGroupName: resourceGroup.name, workspaceName: config.trafficAnalytics.workspace.name, location, tags }
  : { ...config.trafficAnalytics.workspace, workspaceName: config.trafficAnalytics.workspace.name, location, tags });

const flowLogs = new FlowLogs("flow-logs", {
  watcherName: watcher.name,
  watcherResourceGroupName: watcher.resourceGroupName,
  location,
  storageAccountId: flowLogStorage.accountId,
  targets: [
    ...(demoNetwork && config.demoNetwork
      ? [{ targetResourceId: demoNetwork.virtualNetworkId, flowLogName: config.demoNetwork.flowLogName, nameIsExplicit: false }]
      : []),
    ...config.flowLogs,
  ],
  writerIdentityId: writer?.identityId,
  trafficAnalytics: analytics && config.trafficAnalytics ? {
    intervalMinutes: config.trafficAnalytics.intervalMinutes,
    workspaceResourceId: analytics.resourceId,
    workspaceGuid: analytics.workspaceGuid,
    workspaceRegion: analytics.region,
  } : undefined,
  tags,
  dependsOn: [flowLogBlobContainers, ...(writer ? [writer] : [])],
});

// The Elastic side (index assets, the collector's writer key, Kibana) when this stack manages it. The config check
// already required the credentials; here they are read as Pulumi secrets (user names are plain).
const stackSettings = new pulumi.Config();
const elastic = config.elastic && new FlowlogsElastic("elastic", flowlogsElasticArgs(config.elastic, {
  username: stackSettings.get("elasticsearchUsername"),
  password: stackSettings.getSecret("elasticsearchPassword"),
  apiKey: stackSettings.getSecret("elasticsearchApiKey"),
  collectorEsApiKey: config.elastic.writerKey.external ? stackSettings.getSecret("collectorEsApiKey") : undefined,
  kibana: config.elastic.kibana && {
    apiKey: stackSettings.getSecret("kibanaApiKey"),
    username: stackSettings.get("kibanaUsername"),
    password: stackSettings.getSecret("kibanaPassword"),
    webhookPassword: stackSettings.getSecret("kibanaWebhookPassword"),
    emailPassword: stackSettings.getSecret("kibanaEmailPassword"),
  },
}));

// The writer key: minted here, or the collectorEsApiKey secret (Elastic side managed elsewhere, or
// elasticsearch.writerKey.external); the config check allows exactly one. With the Elastic side here the key's
// output also carries the index assets as a dependency, so the container group is created only after the
// templates exist (the sink refuses to write without them).
const collectorEsApiKey = elastic && elastic.writerApiKey
  ? pulumi.all([elastic.writerApiKey, elastic.indexAssets.urn]).apply(([key]) => key)
  : config.collector ? stackSettings.requireSecret("collectorEsApiKey") : undefined;

const collector = config.collector && collectorEsApiKey && new Collector("collector", {
  resourceGroupName: resourceGroup.name,
  location,
  settings: config.collector,
  storageAccountName: flowLogStorage.accountName,
  storageBlobEndpoint: flowLogStorage.blobEndpoint,
  flowLogContainerIds: flowLogBlobContainers.ids,
  esApiKey: collectorEsApiKey,
  roleAssignmentWaitSeconds: config.roleAssignmentWaitSeconds,
  tags,
});

// Consumed by the rest of the system (collector deployment, Elastic side) and by operators.
export const resourceGroupName = resourceGroup.name;
export const storageAccountId = flowLogStorage.accountId;
export const storageAccountName = flowLogStorage.accountName;
export const storageBlobEndpoint = flowLogStorage.blobEndpoint;
export const flowLogContainers = [FLOW_LOG_CONTAINERS.vnet, FLOW_LOG_CONTAINERS.nsg];
export const flowLogIds = flowLogs.ids;
export const flowLogNames = flowLogs.names;
export const networkWatcherName = watcher.name;
export const networkWatcherResourceGroupName = watcher.resourceGroupName;
export const flowLogWriterIdentityId = writer?.identityId;
export const demoVirtualNetworkId = demoNetwork ? demoNetwork.virtualNetworkId : undefined;
export const trafficAnalyticsWorkspaceId = analytics ? analytics.resourceId : undefined;
export const collectorIdentityClientId = collector ? collector.identityClientId : undefined;
export const collectorContainerGroupName = collector ? collector.containerGroupName : undefined;
export const collectorImage = collector ? collector.imageReference : undefined;
// The Elastic side: the writer key stays secret in the stack's outputs (`pulumi stack output --show-secrets`).
export const elasticWriterApiKey = elastic ? elastic.writerApiKey : undefined;
export const elasticWriterKeyId = elastic ? elastic.writerKeyId : undefined;
export const dataStream = elastic ? elastic.dataStream : undefined;
export const deadLetterDataStream = elastic ? elastic.deadLetterDataStream : undefined;
export const dashboardUrl = elastic && config.elastic?.kibana ? elastic.dashboardUrl : undefined;
