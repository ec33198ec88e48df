// The index side of dashboards/ as data: reads the JSON under dashboards/elasticsearch/ (the one source of truth;
// the Pulumi resources apply the same plan) and turns it into the exact requests for one namespace, given what
// the target cluster can do. Pure: no I/O besides reading those files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEAD_LETTER_DATASET, DEFAULT_NAMESPACE, FLOW_DATASET, checkNamespace, deadLetterDataStream, flowDataStream,
} from "../../collector/src/sink/dataStreams";
import { serverlessSettings } from "./serverlessSettings";

export const ASSETS_DIR = join(__dirname, "..", "elasticsearch");

/** What the cluster offers that the assets can use. Missing features are left out in a stated way, never faked. */
export interface ClusterCapabilities {
  /** Index lifecycle management (`_ilm`), an x-pack module. */
  ilm: boolean;
  /** The `constant_keyword` field type, an x-pack module. */
  constantKeyword: boolean;
  /** Ingest processor types available on every ingest node. */
  ingestProcessors: string[];
  /**
   * Which engine: OpenSearch (a 7.10 fork) has data streams and composable templates but neither ILM nor the data
   * stream lifecycle (`template.lifecycle` is an unknown field there); its retention is the ISM plugin's. Absent
   * means Elasticsearch.
   */
  distribution?: "elasticsearch" | "opensearch";
  /**
   * `index.mode: logsdb` (Elasticsearch 8.17+, where it is generally available). Absent means not known to exist
   * (e.g. capabilities pinned before this field), so the plan stays on the standard mode.
   */
  logsdb?: boolean;
  /**
   * Elasticsearch 8.16+, where the x-pack logsdb plugin makes a `logs-*-*` data stream logsdb by itself when
   * `cluster.logsdb.enabled` is on (the default of a 9.x cluster that had no `logs-*-*` data streams on 8.x) and its
   * template names no `index.mode` (LogsdbIndexModeSettingsProvider). Where this or `logsdb` is true, a stream planned
   * standard gets an explicit `index.mode: standard`, which the plugin leaves alone. Absent: not known, so nothing
   * is stated (Elasticsearch before 8.5 and OpenSearch refuse `index.mode` as an unknown setting).
   */
  implicitLogsdb?: boolean;
  /**
   * Elastic Cloud Serverless (`GET /` answers `version.build_flavor: "serverless"`): no ILM (the data stream
   * lifecycle only), and only the index settings it publishes may be set (./serverlessSettings.ts), so the plan
   * leaves the others out. Absent: not Serverless, and the plan is what it always was.
   */
  serverless?: boolean;
  /**
   * The `_data_stream` REST endpoints (the data-streams module, in every distribution but Elasticsearch's test one),
   * through which a stream made before is given a changed lifecycle. Absent: taken to be there.
   */
  dataStreamApi?: boolean;
  /**
   * The geoip processor's `continent_code` property (Elasticsearch 8.15+, elastic/elasticsearch#108780): older nodes
   * refuse the whole pipeline for it. Absent: taken to be there.
   */
  geoipContinentCode?: boolean;
}

/**
 * Elastic Cloud Serverless as detected. ILM is "not available, in favor of data stream lifecycle" and LogsDB is on
 * by default for logs (elastic/docs-content, differences-from-other-elasticsearch-offerings.md). `_nodes` is
 * internal there (RestNodesInfoAction is `@ServerlessScope(Scope.INTERNAL)`), so modules and processors cannot be
 * listed: constant_keyword, geoip and rename are taken to be there, as on Elastic Cloud (an assumption, not checked:
 * dashboards/elasticsearch/README.md, Elastic Cloud Serverless).
 */
export const SERVERLESS_CAPABILITIES: ClusterCapabilities = {
  ilm: false, constantKeyword: true, ingestProcessors: ["geoip", "rename"], logsdb: true, implicitLogsdb: true, serverless: true,
};

/** A full Elastic stack (default distribution, Elastic Cloud): what a plan made without a cluster assumes. */
export const FULL_CAPABILITIES: ClusterCapabilities = {
  ilm: true, constantKeyword: true, ingestProcessors: ["geoip", "rename"], logsdb: true, implicitLogsdb: true,
};

export interface IndexAssetOptions {
  /** Data stream namespace; default "default". */
  namespace?: string;
  /** How long flow documents and dead letters are kept, e.g. "30d"; default "30d". */
  retention?: string;
  /** "auto": ILM where the cluster has it, else the data stream lifecycle. "none": keep forever. */
  retentionMode?: "auto" | "ilm" | "lifecycle" | "none";
  /**
   * The optional ingest-side GeoIP/ASN pipeline. "off" (default): none, the collector enriches; "auto": where the
   * cluster has geoip+rename; "required": fail without. The geo/as mappings are installed in every case.
   */
  geoip?: "auto" | "off" | "required";
  /** "auto": `logsdb` where the cluster has it, else standard; "logsdb": fail without it; "standard": never logsdb. */
  indexMode?: "auto" | "logsdb" | "standard";
}

export type IndexAssetKind = "component_template" | "index_template" | "ingest_pipeline" | "ilm_policy";

export interface IndexAssetRequest {
  kind: IndexAssetKind;
  name: string;
  /** The REST path to PUT `body` to. */
  path: string;
  body: Record<string, unknown>;
}

export interface IndexAssetPlan {
  requests: IndexAssetRequest[];
  /** Assets left out and why (a feature the cluster lacks, or an option). */
  skipped: Array<{ asset: string; reason: string }>;
  dataStream: string;
  deadLetterDataStream: string;
  /** The flow data stream's index mode and why it was chosen. */
  indexMode: { mode: "logsdb" | "standard"; reason: string };
  /** The dead-letter data stream's index mode (standard but on Serverless) and whether the template states it. */
  deadLetterIndexMode: { mode: "logsdb" | "standard"; reason: string };
  /** What the data streams that already exist are to be given (streamLifecycleCalls): their lifecycle is not the template's. */
  streamLifecycle: StreamLifecycle;
}

/**
 * A data stream takes its template's lifecycle once, when it is made; a later template changes no existing stream
 * (Elastic, "Update the lifecycle of a data stream"). So a changed retention, or a switch to or from the lifecycle,
 * reaches the streams only through `_data_stream/<name>/_lifecycle`. "set": that retention; "remove": none (kept
 * until deleted); "leave": ILM's templates (the next backing index follows ILM, older ones keep what they had).
 */
export type StreamLifecycle = { action: "set"; body: Record<string, unknown> } | { action: "remove" } | { action: "leave" };

/** The calls that give existing data streams the plan's lifecycle; each may answer 404 (no such stream yet). */
export function streamLifecycleCalls(plan: IndexAssetPlan): Array<{ method: "PUT" | "DELETE"; path: string; body?: Record<string, unknown> }> {
  const { streamLifecycle } = plan;
  if (streamLifecycle.action === "leave") return [];
  return [plan.dataStream, plan.deadLetterDataStream].map((stream) => ({
    method: streamLifecycle.action === "set" ? "PUT" as const : "DELETE" as const,
    path: `/_data_stream/${encodeURIComponent(stream)}/_lifecycle`,
    ...(streamLifecycle.action === "set" ? { body: streamLifecycle.body } : {}),
  }));
}

const GEOIP_PROCESSORS = ["geoip", "rename"];

/**
 * The index template of the alert documents the Kibana rules write: one per cluster, not per namespace, so every
 * namespace's stack puts the same one and only the last one destroyed removes it.
 */
export const ALERTS_INDEX_TEMPLATE = "flowlogs-alerts";

/** Reads one asset file, substituting `{{namespace}}`, `{{dataset}}` and `{{retention}}`. */
export function loadAsset(relativePath: string, values: Record<string, string> = {}): Record<string, unknown> {
  const text = readFileSync(join(ASSETS_DIR, relativePath), "utf8").replace(/\{\{(\w+)\}\}/g, (token, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${relativePath}: no value for ${token}`);
    return value;
  });
  return JSON.parse(text) as Record<string, unknown>;
}

export function planIndexAssets(options: IndexAssetOptions = {}, capabilities: ClusterCapabilities = FULL_CAPABILITIES): IndexAssetPlan {
  const namespace = checkNamespace(options.namespace ?? DEFAULT_NAMESPACE);
  const retention = checkRetention(options.retention ?? "30d");
  checkChoice("retentionMode", options.retentionMode, ["auto", "ilm", "lifecycle", "none"]);
  checkChoice("geoip", options.geoip, ["auto", "off", "required"]);
  checkChoice("indexMode", options.indexMode, ["auto", "logsdb", "standard"]);
  const requests: IndexAssetRequest[] = [];
  const skipped: IndexAssetPlan["skipped"] = [];
  const component = (name: string, file: string, values: Record<string, string> = {}): string => {
    requests.push({ kind: "component_template", name, path: `/_component_template/${name}`, body: loadAsset(file, values) });
    return name;
  };

  // The geo/as fields are mapped always: the collector writes them itself (FLOWLOGS_GEOIP, on by default).
  const flowComponents = [
    component("azure-flowlogs-mappings", "component-templates/azure-flowlogs-mappings.json"),
    component("azure-flowlogs-geo-mappings", "component-templates/azure-flowlogs-geo-mappings.json"),
  ];
  const indexMode = chooseIndexMode(options.indexMode ?? "auto", capabilities);
  const statedStandard: Record<string, unknown> = statesStandardMode(capabilities) ? { "index.mode": "standard" } : {};
  if (indexMode.mode === "logsdb") {
    flowComponents.push(component("azure-flowlogs-logsdb-settings", "component-templates/azure-flowlogs-logsdb-settings.json"));
  }
  if (capabilities.constantKeyword) {
    flowComponents.push(component(`azure-flowlogs-data-stream-${namespace}`,
      "component-templates/azure-flowlogs-data-stream-mappings.json", { dataset: FLOW_DATASET, namespace }));
  } else {
    skipped.push({ asset: "data_stream.* constant_keyword fields", reason: "the cluster has no constant_keyword type (x-pack mapper-constant-keyword)" });
  }

  let pipeline: string | undefined;
  // Off unless asked: the collector enriches already, and a geoip processor that finds an address replaces the
  // collector's whole source/destination.geo object (double work, and a second database's answer).
  const geoip = options.geoip ?? "off";
  const missing = GEOIP_PROCESSORS.filter((type) => !capabilities.ingestProcessors.includes(type));
  if (geoip === "off") {
    skipped.push({ asset: "ingest pipeline azure-flowlogs-geoip", reason: "geoip: off (the default: the collector adds geo/as itself)" });
  } else if (missing.length) {
    if (geoip === "required") {
      throw new Error(`geoip: "required" but the cluster lacks the ingest processors ${missing.join(", ")} ` +
        `(modules ingest-geoip / ingest-common): install them or use geoip: "auto"`);
    }
    skipped.push({ asset: "ingest pipeline azure-flowlogs-geoip", reason: `the cluster lacks the ingest processors ${missing.join(", ")}` });
  } else {
    pipeline = "azure-flowlogs-geoip";
    const body = loadAsset("ingest-pipelines/azure-flowlogs-geoip.json");
    // OpenSearch parses pipelines as Elasticsearch 7.10 did: `_meta` is refused ("doesn't support one or more
    // provided configuration parameters [_meta]").
    if (capabilities.distribution === "opensearch") delete body._meta;
    if (capabilities.geoipContinentCode === false) {
      for (const processor of body.processors as Array<{ geoip?: { properties?: string[] } }>) {
        if (processor.geoip?.properties) processor.geoip.properties = processor.geoip.properties.filter((p) => p !== "continent_code");
      }
      skipped.push({
        asset: "continent_code in ingest pipeline azure-flowlogs-geoip",
        reason: capabilities.distribution === "opensearch"
          ? "OpenSearch's geoip processor has no continent_code property (it refuses the pipeline for it)"
          : "the geoip processor has it from Elasticsearch 8.15 (older nodes refuse the pipeline for it)",
      });
    }
    requests.push({ kind: "ingest_pipeline", name: pipeline, path: `/_ingest/pipeline/${pipeline}`, body });
  }

  const deadLetterComponents = [component("azure-flowlogs-deadletter-mappings", "component-templates/azure-flowlogs-deadletter-mappings.json")];

  // Retention: one mechanism per template; ILM wins on stacks that have it (Elastic's own default for logs-*-*).
  const mode = options.retentionMode ?? "auto";
  const openSearch = capabilities.distribution === "opensearch";
  if (openSearch && (mode === "ilm" || mode === "lifecycle")) {
    throw new Error(`retentionMode "${mode}" but the cluster is OpenSearch, which has neither ILM nor the data stream lifecycle: ` +
      `use "auto" or "none" and keep the retention with an ISM policy (dashboards/elasticsearch/README.md, OpenSearch)`);
  }
  if (mode === "ilm" && !capabilities.ilm) {
    const why = capabilities.serverless ? "the cluster is Elastic Cloud Serverless, which has no ILM" : "the cluster has no ILM (x-pack ilm module)";
    throw new Error(`retentionMode "ilm" but ${why}: use "lifecycle" or "auto"`);
  }
  const retentionTemplate: Record<string, unknown> = {};
  const retentionSettings: Record<string, unknown> = {};
  let streamLifecycle: StreamLifecycle = { action: "leave" };
  if (mode === "none") {
    if (!openSearch) streamLifecycle = { action: "remove" };
    skipped.push({ asset: "retention", reason: "retentionMode: none (data is kept until deleted by hand)" });
  } else if (mode === "ilm" || (mode === "auto" && capabilities.ilm)) {
    const policy = `azure-flowlogs-${namespace}`;
    requests.push({ kind: "ilm_policy", name: policy, path: `/_ilm/policy/${policy}`, body: loadAsset("retention/ilm-policy.json", { retention }) });
    retentionSettings["index.lifecycle.name"] = policy;
  } else if (openSearch) {
    skipped.push({ asset: "retention", reason: `OpenSearch has no ILM and no data stream lifecycle: data is kept until an ISM policy ` +
      `(index-management plugin) deletes it; attach one with ism_template.index_patterns ["${flowDataStream(namespace)}", ` +
      `"${deadLetterDataStream(namespace)}"] (the data streams' names: ISM matches backing indices by them; see dashboards/elasticsearch/README.md)` });
  } else {
    const noIlm = capabilities.serverless ? "Elastic Cloud Serverless has no ILM" : "the cluster has no ILM";
    if (mode === "auto") skipped.push({ asset: "ILM policy", reason: `${noIlm}: the data stream lifecycle keeps the retention instead` });
    retentionTemplate.lifecycle = loadAsset("retention/data-stream-lifecycle.json", { retention });
    streamLifecycle = { action: "set", body: retentionTemplate.lifecycle as Record<string, unknown> };
  }
  if (streamLifecycle.action !== "leave" && capabilities.dataStreamApi === false) {
    streamLifecycle = { action: "leave" };
    skipped.push({ asset: "lifecycle of existing data streams", reason: "the cluster has no _data_stream endpoints (data-streams module): a stream made before keeps the lifecycle it was made with" });
  }

  const indexTemplate = (name: string, file: string, dataset: string, composedOf: string[], extraSettings: Record<string, unknown>): void => {
    const body = loadAsset(file, { dataset, namespace });
    const template = { ...(body.template as Record<string, unknown> | undefined) };
    const settings = { ...(template.settings as Record<string, unknown> | undefined), ...retentionSettings, ...extraSettings };
    body.template = { ...template, settings, ...retentionTemplate };
    body.composed_of = composedOf;
    requests.push({ kind: "index_template", name, path: `/_index_template/${name}`, body });
  };
  indexTemplate(`azure-flowlogs-${namespace}`, "index-templates/azure-flowlogs.json", FLOW_DATASET, flowComponents,
    { ...(pipeline ? { "index.default_pipeline": pipeline } : {}), ...(indexMode.mode === "standard" ? statedStandard : {}) });
  // Dead letters stay standard: stored _source gives back the bytes set aside as they were sent, where logsdb's
  // synthetic _source rebuilds them (keys reordered), and they are too few for logsdb's savings to matter. Not on
  // Serverless, which makes every logs-*-* stream logsdb: a stated standard there risks a refused template (a first
  // up that fails) for the sake of key order.
  indexTemplate(`azure-flowlogs-deadletter-${namespace}`, "index-templates/azure-flowlogs-deadletter.json", DEAD_LETTER_DATASET,
    deadLetterComponents, capabilities.serverless ? {} : statedStandard);
  // The alert documents the Kibana rules write (an index, not a data stream: the .index connector bulk-indexes).
  // OpenSearch has no Kibana, so nothing would ever write there.
  if (openSearch) {
    skipped.push({ asset: `index template ${ALERTS_INDEX_TEMPLATE}`, reason: "OpenSearch has no Kibana rules to write alerts" });
  } else {
    requests.push({ kind: "index_template", name: ALERTS_INDEX_TEMPLATE, path: `/_index_template/${ALERTS_INDEX_TEMPLATE}`, body: loadAsset("index-templates/flowlogs-alerts.json") });
  }

  if (capabilities.serverless) leaveOutServerlessRefusedSettings(requests, skipped);

  const deadLetterIndexMode: IndexAssetPlan["deadLetterIndexMode"] = capabilities.serverless
    ? { mode: "logsdb", reason: "Elastic Cloud Serverless makes every logs-*-* data stream logsdb; not stated standard there, so a project that keeps logsdb on does not refuse the template (a dead letter's fields come back reordered, their values as sent)" }
    : { mode: "standard", reason: `dead letters come back as they were sent (stored _source)${standardNote(capabilities)}` };
  return {
    requests, skipped, dataStream: flowDataStream(namespace), deadLetterDataStream: deadLetterDataStream(namespace), indexMode, deadLetterIndexMode, streamLifecycle,
  };
}

/**
 * Serverless refuses a whole template for one setting it does not publish (`index.number_of_shards`: it places
 * shards itself), so those settings are left out of every template, each named once in `skipped`.
 */
function leaveOutServerlessRefusedSettings(requests: IndexAssetRequest[], skipped: IndexAssetPlan["skipped"]): void {
  const droppedFrom = new Map<string, string[]>();
  for (const request of requests) {
    if (request.kind !== "component_template" && request.kind !== "index_template") continue;
    const template = request.body.template as Record<string, unknown> | undefined;
    if (!template?.settings) continue;
    const { settings, dropped } = serverlessSettings(template.settings as Record<string, unknown>);
    if (dropped.length === 0) continue;
    // Rebuilt in the same key order; no `settings` at all when nothing is left.
    const entries = Object.entries(template).flatMap(([key, value]): Array<[string, unknown]> =>
      key !== "settings" ? [[key, value]] : Object.keys(settings).length > 0 ? [[key, settings]] : []);
    request.body = { ...request.body, template: Object.fromEntries(entries) };
    for (const key of dropped) droppedFrom.set(key, [...(droppedFrom.get(key) ?? []), request.name]);
  }
  for (const [key, names] of droppedFrom) {
    skipped.push({ asset: `${key} in ${names.join(", ")}`, reason: "Elastic Cloud Serverless refuses it (not one of its published index settings): it manages shards and replicas itself" });
  }
}

/** logsdb roughly halves the bytes per tuple (dashboards/elasticsearch/README.md, Disk); standard where it is absent. */
function chooseIndexMode(wanted: "auto" | "logsdb" | "standard", capabilities: ClusterCapabilities): IndexAssetPlan["indexMode"] {
  if (wanted === "standard") return { mode: "standard", reason: `indexMode: standard${standardNote(capabilities)}` };
  const why = capabilities.distribution === "opensearch" ? "OpenSearch has no index.mode logsdb"
    : capabilities.logsdb === undefined ? "the capabilities do not say whether the cluster has index.mode logsdb (Elasticsearch 8.17+)"
    : "the cluster has no index.mode logsdb (it needs Elasticsearch 8.17+ on every node)";
  const has = capabilities.logsdb === true && capabilities.distribution !== "opensearch";
  if (!has && wanted === "logsdb") throw new Error(`indexMode "logsdb" but ${why}: use indexMode "auto" or "standard"`);
  if (!has) return { mode: "standard", reason: `${why}${standardNote(capabilities)}` };
  return { mode: "logsdb", reason: wanted === "logsdb" ? "indexMode: logsdb" : "the cluster has index.mode logsdb (Elasticsearch 8.17+)" };
}

/** Where the cluster may make a `logs-*-*` stream logsdb by itself, and accepts the setting that stops it. */
function statesStandardMode(capabilities: ClusterCapabilities): boolean {
  return capabilities.distribution !== "opensearch" && (capabilities.implicitLogsdb === true || capabilities.logsdb === true);
}

/** What a standard reason adds: that the template states the mode, or that it cannot and what may happen then. */
function standardNote(capabilities: ClusterCapabilities): string {
  if (capabilities.serverless) {
    return "; stated as index.mode: standard, which Elastic Cloud Serverless (logsdb on every logs-*-* stream) may refuse: not checked on a real project";
  }
  if (statesStandardMode(capabilities)) {
    return "; stated as index.mode: standard, so the logsdb plugin (cluster.logsdb.enabled, the Elasticsearch 9.x default) leaves it standard";
  }
  if (capabilities.distribution !== "opensearch" && capabilities.implicitLogsdb === undefined) {
    return "; index.mode is not stated (the capabilities do not say whether the cluster accepts it), so on Elasticsearch 8.16+ " +
      "with cluster.logsdb.enabled (the 9.x default) the data stream becomes logsdb all the same";
  }
  return "";
}

function checkRetention(retention: string): string {
  if (!/^[1-9]\d*(d|h|m|s)$/.test(retention)) {
    throw new Error(`invalid retention ${JSON.stringify(retention)}: use a whole number and a unit d/h/m/s, e.g. "30d"`);
  }
  return retention;
}

/** Options arrive from config files and command lines too, where the type system does not reach. */
function checkChoice(name: string, value: string | undefined, allowed: string[]): void {
  if (value !== undefined && !allowed.includes(value)) {
    throw new Error(`invalid ${name} ${JSON.stringify(value)}: use one of ${allowed.join(", ")}`);
  }
}
