// The `elasticsearch` block of the stack config (where the index assets and the writer key go) plus the optional
// `kibana` block, validated in the style of infra/config.ts: pure, every problem names its key and the fix.
// Credentials are never in these blocks: they are separate secret keys, read by the program with
// `config.getSecret(...)`: elasticsearchUsername + secret elasticsearchPassword (needed for the writer key), or
// secret elasticsearchApiKey (enough for the index assets only). With `writerKey.external` the stack mints no key:
// the secret collectorEsApiKey is the writer key, made by a person (Elastic Cloud Serverless has no users to mint it).
import * as pulumi from "@pulumi/pulumi";
import { SERVERLESS_CAPABILITIES, type ClusterCapabilities, type IndexAssetOptions } from "../../dashboards/src/indexAssets";
import { checkNamespace } from "../../collector/src/sink/dataStreams";
import { reportUnknownKeys, type Report } from "../configKeys";
import type { ElasticsearchConnection } from "./elasticsearch/client";
import { flowlogsKibanaArgs, KibanaSecrets, KibanaSettings, readKibanaConfig, type KibanaConfigContext } from "./kibana/config";
import type { FlowlogsElasticArgs } from "./index";
import { redactUrlText } from "../../collector/src/safeText";

export const ELASTICSEARCH_KEYS = ["url", "caCert", "allowInsecureHttp", "namespace", "retention", "retentionMode", "geoip", "capabilities", "keepTemplatesWithData", "writerKey"];
export const WRITER_KEY_KEYS = ["name", "expiration", "rotation", "dedupeAcrossBackingIndices", "external"];
const KEYS = ELASTICSEARCH_KEYS;
const WRITER_KEYS = WRITER_KEY_KEYS;

export interface ElasticSettings {
  url: string;
  caCert?: string;
  allowInsecureHttp: boolean;
  assets: IndexAssetOptions;
  capabilities?: ClusterCapabilities;
  keepTemplatesWithData: boolean;
  /** `external`: made outside the stack and given as the secret collectorEsApiKey; present only when true. */
  writerKey: { name?: string; expiration?: string; rotation?: string; dedupeAcrossBackingIndices: boolean; external?: true };
  kibana?: KibanaSettings;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads `elasticsearch` (undefined = no Elastic side managed by this stack) and `kibana`. */
export function readElasticConfig(value: unknown, kibana: unknown, problem: Report, context: KibanaConfigContext = {}): ElasticSettings | undefined {
  if (value === undefined) {
    if (kibana !== undefined) problem("kibana", "is set but `elasticsearch` is not: the Kibana objects read the flow-log data streams, so configure elasticsearch.url too");
    return undefined;
  }
  if (!isObject(value)) {
    problem("elasticsearch", "must be an object, e.g. `pulumi config set --path elasticsearch.url https://my-deployment.es.westeurope.azure.elastic-cloud.com`");
    return undefined;
  }
  reportUnknownKeys(value, KEYS, "elasticsearch.", problem, "an Elasticsearch setting");
  const url = value.url;
  let parsed: URL | undefined;
  try { parsed = typeof url === "string" ? new URL(url) : undefined; } catch { /* reported below */ }
  const allowInsecureHttp = value.allowInsecureHttp === true;
  if (value.allowInsecureHttp !== undefined && typeof value.allowInsecureHttp !== "boolean") problem("elasticsearch.allowInsecureHttp", "must be true or false");
  if (!parsed || !["http:", "https:"].includes(parsed.protocol)) {
    problem("elasticsearch.url", `must be the cluster's endpoint, e.g. https://my-deployment.es.westeurope.azure.elastic-cloud.com (got ${typeof url === "string" ? JSON.stringify(redactUrlText(url)) : JSON.stringify(url)})`);
  } else if (parsed.username || parsed.password) {
    problem("elasticsearch.url", "must not carry credentials: remove them and set elasticsearchUsername + the secret elasticsearchPassword (or the secret elasticsearchApiKey)");
  } else if (parsed.protocol === "http:" && !/^(localhost|127\.|\[::1\])/.test(parsed.hostname) && !allowInsecureHttp) {
    problem("elasticsearch.url", `${parsed.origin} is plain http: use https (or set elasticsearch.allowInsecureHttp for a trusted private network)`);
  }
  const caCert = value.caCert;
  if (caCert !== undefined && (typeof caCert !== "string" || !caCert.includes("-----BEGIN CERTIFICATE-----"))) {
    problem("elasticsearch.caCert", "must be the PEM text of the CA that signed the cluster's certificate (`pulumi config set --path elasticsearch.caCert -- \"$(cat ca.pem)\"`)");
  }
  const assets: IndexAssetOptions = {};
  if (value.namespace !== undefined) {
    try { assets.namespace = checkNamespace(value.namespace as string); } catch (error) { problem("elasticsearch.namespace", (error as Error).message); }
  }
  if (value.retention !== undefined) {
    if (typeof value.retention !== "string" || !/^[1-9]\d*(d|h|m|s)$/.test(value.retention)) problem("elasticsearch.retention", `must be a whole number and a unit d/h/m/s, e.g. "30d" (got ${JSON.stringify(value.retention)})`);
    else assets.retention = value.retention;
  }
  const oneOf = <T extends string>(key: string, allowed: T[]): T | undefined => {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !allowed.includes(v as T)) { problem(`elasticsearch.${key}`, `must be one of ${allowed.join(", ")} (got ${JSON.stringify(v)})`); return undefined; }
    return v as T;
  };
  const retentionMode = oneOf("retentionMode", ["auto", "ilm", "lifecycle", "none"]);
  if (retentionMode) assets.retentionMode = retentionMode;
  const geoip = oneOf("geoip", ["auto", "off", "required"]);
  if (geoip) assets.geoip = geoip;
  const capabilities = value.capabilities === undefined ? undefined : readPinnedCapabilities(value.capabilities, problem);
  if (value.keepTemplatesWithData !== undefined && typeof value.keepTemplatesWithData !== "boolean") problem("elasticsearch.keepTemplatesWithData", "must be true or false");
  const writerKey = readWriterKey(value.writerKey, problem);
  return {
    url: String(url),
    caCert: typeof caCert === "string" ? caCert : undefined,
    allowInsecureHttp,
    assets,
    capabilities,
    keepTemplatesWithData: value.keepTemplatesWithData === true,
    writerKey,
    kibana: readKibanaConfig(kibana, problem, assets.namespace, context),
  };
}

const CAPABILITIES_SHAPE = "{ ilm: bool, constantKeyword: bool, ingestProcessors: [names], logsdb?: bool, implicitLogsdb?: bool, serverless?: bool }";

/**
 * Pinned capabilities, each key read (none silently dropped). `serverless: true` is Serverless's own set
 * (SERVERLESS_CAPABILITIES: logsdb, no ILM) with the given constantKeyword and processors, so a pinned plan is the
 * one detection would make; `ilm: true` next to it is refused, as Serverless has no ILM.
 */
function readPinnedCapabilities(caps: unknown, problem: Report): ClusterCapabilities | undefined {
  const optionalFlags = ["logsdb", "implicitLogsdb", "serverless"] as const;
  if (!isObject(caps) || typeof caps.ilm !== "boolean" || typeof caps.constantKeyword !== "boolean" ||
    !Array.isArray(caps.ingestProcessors) || !caps.ingestProcessors.every((p) => typeof p === "string") ||
    optionalFlags.some((flag) => caps[flag] !== undefined && typeof caps[flag] !== "boolean")) {
    problem("elasticsearch.capabilities", `must be ${CAPABILITIES_SHAPE}, or left out to ask the cluster`);
    return undefined;
  }
  const unknown = Object.keys(caps).filter((key) => !["ilm", "constantKeyword", "ingestProcessors", ...optionalFlags].includes(key));
  if (unknown.length) {
    problem("elasticsearch.capabilities", `has no key ${unknown.join(", ")}: it is ${CAPABILITIES_SHAPE}`);
    return undefined;
  }
  const given = { constantKeyword: caps.constantKeyword, ingestProcessors: caps.ingestProcessors as string[] };
  if (caps.serverless === true) {
    if (caps.ilm) {
      problem("elasticsearch.capabilities", "ilm: true with serverless: true: Elastic Cloud Serverless has no ILM; set ilm: false");
      return undefined;
    }
    if (caps.logsdb === false || caps.implicitLogsdb === false) {
      problem("elasticsearch.capabilities", "logsdb/implicitLogsdb false with serverless: true: Serverless makes every logs-*-* stream logsdb; leave them out");
      return undefined;
    }
    return { ...SERVERLESS_CAPABILITIES, ...given };
  }
  return {
    ilm: caps.ilm, ...given,
    ...(typeof caps.logsdb === "boolean" ? { logsdb: caps.logsdb } : {}),
    ...(typeof caps.implicitLogsdb === "boolean" ? { implicitLogsdb: caps.implicitLogsdb } : {}),
  };
}

function readWriterKey(value: unknown, problem: Report): ElasticSettings["writerKey"] {
  if (value === undefined) return { dedupeAcrossBackingIndices: false };
  if (!isObject(value)) { problem("elasticsearch.writerKey", "must be an object { expiration?, rotation?, dedupeAcrossBackingIndices?, name?, external? }"); return { dedupeAcrossBackingIndices: false }; }
  reportUnknownKeys(value, WRITER_KEYS, "elasticsearch.writerKey.", problem, "a writer-key setting");
  const text = (key: string): string | undefined => {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !v.trim()) { problem(`elasticsearch.writerKey.${key}`, "must be a non-empty string"); return undefined; }
    return v;
  };
  const expiration = text("expiration");
  if (expiration !== undefined && !/^[1-9]\d*(d|h|m|s)$/.test(expiration)) {
    problem("elasticsearch.writerKey.expiration", `must be a duration like "90d" (got ${JSON.stringify(expiration)}); leave it out for a key that never expires`);
  }
  if (value.dedupeAcrossBackingIndices !== undefined && typeof value.dedupeAcrossBackingIndices !== "boolean") {
    problem("elasticsearch.writerKey.dedupeAcrossBackingIndices", "must be true or false (true adds the `read` privilege the sink's dedupeAcrossBackingIndices needs)");
  }
  if (value.external !== undefined && typeof value.external !== "boolean") {
    problem("elasticsearch.writerKey.external", "must be true or false (true: you make the writer key, e.g. on Elastic Cloud Serverless, and give it as the secret collectorEsApiKey)");
  }
  const external = value.external === true;
  // A key made by hand is minted with its name and lifetime by that person: settings here would change nothing.
  for (const key of external ? ["name", "expiration", "rotation"] : []) {
    if (value[key] !== undefined) {
      problem(`elasticsearch.writerKey.${key}`, `applies only to a key this stack mints, and writerKey.external says you make it: give it its ${key} when you ` +
        `create it, and remove this (\`pulumi config rm --path elasticsearch.writerKey.${key}\`)`);
    }
  }
  return { name: text("name"), expiration, rotation: text("rotation"), dedupeAcrossBackingIndices: value.dedupeAcrossBackingIndices === true, ...(external ? { external: true as const } : {}) };
}

export interface ElasticSecrets {
  /** Plain config `elasticsearchUsername` (a name is not a secret). */
  username?: string;
  /** Secret `elasticsearchPassword`. */
  password?: pulumi.Input<string>;
  /** Secret `elasticsearchApiKey`: enough for the index assets, not for minting the writer key. */
  apiKey?: pulumi.Input<string>;
  /** Secret `collectorEsApiKey`: with `writerKey.external`, the writer key itself. */
  collectorEsApiKey?: pulumi.Input<string>;
  kibana?: KibanaSecrets;
}

/** The FlowlogsElastic arguments from validated settings and the secret config values. */
export function flowlogsElasticArgs(settings: ElasticSettings, secrets: ElasticSecrets): FlowlogsElasticArgs {
  const hasBasic = Boolean(secrets.username && secrets.password);
  const external = settings.writerKey.external === true;
  if (!hasBasic && !secrets.apiKey) {
    throw new Error(external
      ? "Elasticsearch credentials are missing: `pulumi config set --secret elasticsearchApiKey <encoded key>` (an API key that may put index templates)"
      : "Elasticsearch credentials are missing: `pulumi config set elasticsearchUsername <user>` and " +
        "`pulumi config set --secret elasticsearchPassword <password>` (the writer key must be minted by a user, not an API key)");
  }
  if (!hasBasic && !external) {
    throw new Error("elasticsearchApiKey alone cannot mint the collector's writer key (a key made with an API key gets no privileges): " +
      "also set elasticsearchUsername and the secret elasticsearchPassword for a user with manage_own_api_key, " +
      "or make the key yourself and set elasticsearch.writerKey.external: true with the secret collectorEsApiKey (infra/README.md)");
  }
  const base = { url: settings.url, caCert: settings.caCert, allowInsecureHttp: settings.allowInsecureHttp || undefined };
  const userConnection = hasBasic
    ? pulumi.secret(pulumi.output({ ...base, username: secrets.username, password: secrets.password }) as pulumi.Output<ElasticsearchConnection>)
    : undefined;
  // Admin operations prefer the API key when one is given; a minted writer key always uses the user.
  const adminConnection = secrets.apiKey
    ? pulumi.secret(pulumi.output({ ...base, apiKey: secrets.apiKey }) as pulumi.Output<ElasticsearchConnection>)
    : userConnection!;
  return {
    connection: adminConnection,
    writerConnection: external ? undefined : userConnection,
    externalWriterApiKey: external ? secrets.collectorEsApiKey : undefined,
    assets: settings.assets,
    capabilities: settings.capabilities,
    keepTemplatesWithData: settings.keepTemplatesWithData,
    writerKey: settings.writerKey,
    kibana: settings.kibana && {
      ...flowlogsKibanaArgs(settings.kibana, secrets.kibana ?? {}),
      url: settings.kibana.url,
      space: settings.kibana.space,
    },
  };
}
