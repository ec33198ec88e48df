// The whole Elastic side as one component: the index assets (templates, pipeline, retention) planned from
// dashboards/, the collector's least-privilege writer key, and the Kibana objects when Kibana is configured.
//
// Wiring (infra/index.ts): infra/config.ts validates the `elasticsearch` and `kibana` blocks with `readElasticConfig`
// (./config) and the credentials with the rest of the stack config; the program then reads the secrets
// (`elasticsearchUsername` plain, `elasticsearchPassword`, `elasticsearchApiKey` and the Kibana ones as secrets),
// declares `new FlowlogsElastic("elastic", flowlogsElasticArgs(settings, secrets))` and hands `writerApiKey` (secret)
// to the collector deployment in place of the `collectorEsApiKey` secret.
import * as pulumi from "@pulumi/pulumi";
import { deadLetterDataStream, DEFAULT_NAMESPACE, flowDataStream } from "../../collector/src/sink/dataStreams";
import type { ClusterCapabilities, IndexAssetOptions } from "../../dashboards/src/indexAssets";
import type { ElasticsearchConnection } from "./elasticsearch/client";
import { ElasticsearchIndexAssets } from "./elasticsearch/indexAssetsResource";
import { ElasticsearchWriterApiKey } from "./elasticsearch/writerApiKeyResource";
import { ElasticsearchWriterKeyCheck } from "./elasticsearch/writerKeyCheckResource";
import { FlowlogsKibana, FlowlogsKibanaArgs } from "./kibana";

export { readElasticConfig, flowlogsElasticArgs } from "./config";
export { ElasticsearchIndexAssets, ElasticsearchWriterApiKey, ElasticsearchWriterKeyCheck } from "./elasticsearch";

export interface FlowlogsElasticArgs {
  /** Admin connection for templates, pipeline and retention: an API key or a user (secret). */
  connection: pulumi.Input<ElasticsearchConnection>;
  /** User (basic auth) that mints the writer key; default `connection`, which must then be a user. */
  writerConnection?: pulumi.Input<ElasticsearchConnection>;
  /** namespace, retention, retentionMode, geoip (see dashboards/src/indexAssets.ts). */
  assets?: IndexAssetOptions;
  /** Pin the cluster's capabilities instead of asking it at deploy time. */
  capabilities?: ClusterCapabilities;
  /** Keep templates a data stream still uses when destroying (default: the destroy fails and names them). */
  keepTemplatesWithData?: boolean;
  /** `external`: no key is minted; `externalWriterApiKey` (made by a person, e.g. on Serverless) is passed through. */
  writerKey?: { name?: string; expiration?: string; rotation?: string; dedupeAcrossBackingIndices?: boolean; external?: boolean };
  /** With `writerKey.external`: the collector's key (secret), or undefined when no collector needs one. */
  externalWriterApiKey?: pulumi.Input<string>;
  /**
   * The Kibana side; its plain `url` and `space` give the dashboard URL output. Omit for no Kibana objects. Its
   * namespace is the assets' one: the objects read the data stream this stack writes.
   */
  kibana?: Omit<FlowlogsKibanaArgs, "namespace"> & { url: string; space?: string };
}

export class FlowlogsElastic extends pulumi.ComponentResource {
  readonly indexAssets: ElasticsearchIndexAssets;
  /** The minted key; undefined with `writerKey.external`. */
  readonly writerKey?: ElasticsearchWriterApiKey;
  /** With `writerKey.external` and a given key: the check that it holds the writer role's privileges. */
  readonly writerKeyCheck?: ElasticsearchWriterKeyCheck;
  readonly kibana?: FlowlogsKibana;
  /** Secret: the collector's `Authorization: ApiKey` value (minted, or the external one when given). */
  readonly writerApiKey?: pulumi.Output<string>;
  readonly writerKeyId?: pulumi.Output<string>;
  readonly dataStream: pulumi.Output<string>;
  readonly deadLetterDataStream: pulumi.Output<string>;
  /** The flow-log dashboard in Kibana, or undefined without Kibana. */
  readonly dashboardUrl: pulumi.Output<string | undefined>;

  constructor(name: string, args: FlowlogsElasticArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:elastic:Elastic", name, {}, opts);
    const child = { parent: this };
    const namespace = args.assets?.namespace ?? DEFAULT_NAMESPACE;
    // Fails here, at preview, with the namespace rule, rather than inside a provider.
    this.dataStream = pulumi.output(flowDataStream(namespace));
    this.deadLetterDataStream = pulumi.output(deadLetterDataStream(namespace));
    const connection = pulumi.secret(args.connection);
    this.indexAssets = new ElasticsearchIndexAssets(`${name}-index-assets`, {
      connection,
      options: args.assets ?? {},
      capabilities: args.capabilities,
      keepTemplatesWithData: args.keepTemplatesWithData ?? false,
    }, child);
    const key = args.writerKey ?? {};
    if (key.external) {
      // Made by a person with writerRoleDescriptors' privileges: where no user can mint it (Elastic Cloud Serverless).
      // It reaches the collector only through the check, so a key lacking a privilege stops the up before the collector.
      if (args.externalWriterApiKey !== undefined) {
        const given = args.externalWriterApiKey;
        this.writerKeyCheck = new ElasticsearchWriterKeyCheck(`${name}-writer-key-check`, {
          connection: pulumi.all([args.connection, given]).apply(([admin, apiKey]) => ({ ...clusterOf(admin), apiKey })),
          namespace,
          dedupeAcrossBackingIndices: key.dedupeAcrossBackingIndices ?? false,
        }, child);
        this.writerApiKey = pulumi.secret(pulumi.all([this.writerKeyCheck.verdict, given]).apply(([, apiKey]) => apiKey));
      }
    } else {
      this.writerKey = new ElasticsearchWriterApiKey(`${name}-writer-key`, {
        connection: pulumi.secret(args.writerConnection ?? args.connection),
        namespace,
        name: key.name,
        expiration: key.expiration,
        rotation: key.rotation,
        dedupeAcrossBackingIndices: key.dedupeAcrossBackingIndices ?? false,
      }, { ...child, dependsOn: [this.indexAssets] }); // a key is useless before the templates exist (require_data_stream)
      this.writerApiKey = pulumi.secret(this.writerKey.encoded);
      this.writerKeyId = this.writerKey.keyId;
    }
    if (args.kibana) {
      this.kibana = new FlowlogsKibana(`${name}-kibana`, { ...args.kibana, namespace }, { ...child, dependsOn: [this.indexAssets] });
      const base = args.kibana.url.replace(/\/+$/, "");
      const space = args.kibana.space && args.kibana.space !== "default" ? `/s/${args.kibana.space}` : "";
      this.dashboardUrl = pulumi.interpolate`${base}${space}${this.kibana.dashboardPath}`;
    } else {
      this.dashboardUrl = pulumi.output(undefined);
    }
    this.registerOutputs({
      writerApiKey: this.writerApiKey,
      writerKeyId: this.writerKeyId,
      dataStream: this.dataStream,
      deadLetterDataStream: this.deadLetterDataStream,
      dashboardUrl: this.dashboardUrl,
    });
  }
}

/** The connection's cluster (URL, CA, plain-http consent) without its credentials. */
function clusterOf(connection: ElasticsearchConnection): ElasticsearchConnection {
  const { apiKey: _apiKey, username: _username, password: _password, ...cluster } = connection;
  return cluster;
}
