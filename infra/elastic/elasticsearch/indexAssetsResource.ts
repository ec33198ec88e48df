// ElasticsearchIndexAssets: the whole set `planIndexAssets` (dashboards/src) plans for one namespace — component
// templates, the two index templates, the optional GeoIP pipeline, the ILM policy (or the data stream lifecycle
// inside the index templates) — as ONE resource with per-asset read-back and diff.
// Why one resource: the set is not fixed (it depends on what the cluster can do and on the options), its members
// must be put in order (components before the templates using them) and removed in reverse, and the plan is the
// single source of truth; one resource per kind would re-derive that set and order in the program.
import * as pulumi from "@pulumi/pulumi";
import { detectCapabilities } from "../../../dashboards/src/applyIndexAssets";
import {
  ALERTS_INDEX_TEMPLATE, ClusterCapabilities, IndexAssetKind, IndexAssetOptions, planIndexAssets, streamLifecycleCalls,
} from "../../../dashboards/src/indexAssets";
import { sameJson } from "../kibana/compare";
import { deleteAsset, fingerprint, readAsset } from "./assets";
import { callElasticsearch, capabilityClient, checkConnection, ElasticsearchConnection, Failure, UNKNOWN } from "./client";

export interface IndexAssetsInputs {
  connection: ElasticsearchConnection;
  /** Namespace, retention, retentionMode, geoip: passed to planIndexAssets. */
  options: IndexAssetOptions;
  /** Pin what the cluster offers instead of asking it (`GET _ilm/status`, `GET _nodes/plugins,ingest`). */
  capabilities?: ClusterCapabilities;
  /**
   * On destroy, Elasticsearch refuses to delete an index template a data stream still uses. false (default): the
   * destroy fails naming the data streams, so data is never orphaned silently. true: the templates (and the
   * components they use) stay with the data, and the destroy succeeds.
   */
  keepTemplatesWithData?: boolean;
}

export interface AppliedAsset {
  kind: IndexAssetKind;
  name: string;
  path: string;
  /** The body put; after a refresh that found drift, the body Elasticsearch has now (or null when it is gone). */
  body: Record<string, unknown> | null;
  /** Fingerprint of the read-back right after the PUT. */
  observed: string;
  /** Set by a refresh: "missing" or "changed outside Pulumi". */
  drift?: string;
}

export interface IndexAssetsOutputs extends IndexAssetsInputs {
  assets: AppliedAsset[];
  skipped: Array<{ asset: string; reason: string }>;
  /** The capabilities the plan was made for (pinned or detected). */
  planned: ClusterCapabilities;
  dataStream: string;
  deadLetterDataStream: string;
}

const OPTION_KEYS = ["namespace", "retention", "retentionMode", "geoip"];

function checkInputs(news: IndexAssetsInputs): Failure[] {
  const failures = checkConnection(news.connection);
  const options = news.options;
  if ((options as unknown) === UNKNOWN) return failures;
  if (options === undefined || options === null || typeof options !== "object" || Array.isArray(options)) {
    failures.push({ property: "options", reason: "options must be an object { namespace?, retention?, retentionMode?, geoip? } ({} for the defaults)" });
    return failures;
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) failures.push({ property: `options.${key}`, reason: `is not an index-asset option; known: ${OPTION_KEYS.join(", ")}` });
  }
  const known = Object.values(options).every((v) => v !== UNKNOWN);
  if (known) {
    try {
      // The plan validates namespace, retention and modes with messages that name the fix.
      planIndexAssets(options, news.capabilities ?? { ilm: true, constantKeyword: true, ingestProcessors: ["geoip", "rename"] });
    } catch (error) {
      failures.push({ property: "options", reason: (error as Error).message });
    }
    if (options.retentionMode !== undefined && !["auto", "ilm", "lifecycle", "none"].includes(options.retentionMode)) {
      failures.push({ property: "options.retentionMode", reason: `"${options.retentionMode}" is not one of auto, ilm, lifecycle, none` });
    }
    if (options.geoip !== undefined && !["auto", "off", "required"].includes(options.geoip)) {
      failures.push({ property: "options.geoip", reason: `"${options.geoip}" is not one of auto, off, required` });
    }
  }
  const caps = news.capabilities;
  if (caps !== undefined && (caps as unknown) !== UNKNOWN &&
    (typeof caps !== "object" || caps === null || typeof caps.ilm !== "boolean" || typeof caps.constantKeyword !== "boolean" || !Array.isArray(caps.ingestProcessors))) {
    failures.push({ property: "capabilities", reason: "capabilities must be { ilm: boolean, constantKeyword: boolean, ingestProcessors: string[] }, or omitted to ask the cluster" });
  }
  return failures;
}

async function capabilitiesFor(inputs: IndexAssetsInputs): Promise<ClusterCapabilities> {
  return inputs.capabilities ?? detectCapabilities(capabilityClient(inputs.connection));
}

/** PUTs the planned requests in order and reads each back. `previous` is what to remove when it left the plan. */
async function apply(inputs: IndexAssetsInputs, previous: AppliedAsset[]): Promise<IndexAssetsOutputs> {
  const planned = await capabilitiesFor(inputs);
  const plan = planIndexAssets(inputs.options, planned);
  const assets: AppliedAsset[] = [];
  for (const request of plan.requests) {
    try {
      await callElasticsearch(inputs.connection, { method: "PUT", path: request.path, json: request.body });
    } catch (error) {
      let rolledBack = "";
      if (previous.length === 0 && assets.length) {
        // A failed create leaves nothing behind (what others still use stays, see removeAssets).
        await removeAssets(inputs.connection, [...assets].reverse(), true);
        rolledBack = ` (the ${assets.length} asset(s) put before it were removed again)`;
      }
      throw new Error(`could not put ${request.kind} ${request.name}${rolledBack}: ${(error as Error).message}`);
    }
    const live = await readAsset(inputs.connection, request.kind, request.name, request.path);
    if (!live) throw new Error(`${request.kind} ${request.name} was accepted but cannot be read back from ${request.path}`);
    assets.push({ kind: request.kind, name: request.name, path: request.path, body: request.body, observed: fingerprint(live) });
  }
  // Assets the new plan no longer has (e.g. the ILM policy after switching to the lifecycle): delete, reverse order.
  const kept = new Set(assets.map((a) => a.path));
  const gone = previous.filter((a) => !kept.has(a.path)).reverse();
  const problems = await removeAssets(inputs.connection, gone, true);
  if (problems.length) throw new Error(`the new index assets are in place, but the old ones could not be removed:\n  ${problems.join("\n  ")}`);
  // Data streams made before (an earlier retention) take the new one only this way; 404: not made yet.
  for (const call of streamLifecycleCalls(plan)) {
    try {
      await callElasticsearch(inputs.connection, { method: call.method, path: call.path, json: call.body, accept: [404] });
    } catch (error) {
      throw new Error(`the index assets are in place, but an existing data stream could not be brought to the retention (${call.method} ${call.path}): ${(error as Error).message}`);
    }
  }
  return {
    ...inputs,
    assets,
    skipped: plan.skipped,
    planned,
    dataStream: plan.dataStream,
    deadLetterDataStream: plan.deadLetterDataStream,
  };
}

/**
 * Deletes assets (given in deletion order). What something else still uses is left in place: a shared component
 * another namespace's template uses is simply not ours to remove; an index template a data stream uses is
 * returned as a problem unless `keepInUse`.
 */
async function removeAssets(connection: ElasticsearchConnection, assets: AppliedAsset[], keepInUse: boolean): Promise<string[]> {
  const problems: string[] = [];
  for (const asset of assets) {
    const outcome = await deleteAsset(connection, asset.path);
    if (outcome.deleted) continue;
    if (asset.kind === "index_template" && !keepInUse) {
      problems.push(`${asset.kind} ${asset.name} is kept: ${outcome.inUseBy}`);
    }
  }
  return problems;
}

/**
 * Whether another namespace's stack has its flow-log templates on the cluster (dev and prod side by side): its Kibana
 * rules still write to the alerts index, so the shared alerts template is not this destroy's to remove. Elasticsearch
 * answers a wildcard that matches nothing with a 404 whose body is the empty list.
 */
async function otherNamespaceOnCluster(connection: ElasticsearchConnection, ours: AppliedAsset[]): Promise<boolean> {
  const answer = await callElasticsearch(connection, { method: "GET", path: "/_index_template/azure-flowlogs-*", accept: [404] });
  const own = new Set(ours.map((a) => a.name));
  return ((answer.body?.index_templates ?? []) as Array<{ name: string }>).some((t) => !own.has(t.name));
}

/** Planned requests keyed by path, for the per-asset comparison. */
function byPath(requests: Array<{ path: string; body: unknown }>): Map<string, unknown> {
  return new Map(requests.map((r) => [r.path, r.body]));
}

export const indexAssetsProvider: pulumi.dynamic.ResourceProvider<IndexAssetsInputs, IndexAssetsOutputs> = {
  async check(_olds, news) {
    return { inputs: news, failures: checkInputs(news) };
  },

  async diff(_id, olds, news) {
    // Never a replacement: a new URL is often the same cluster under another name, and a replacement's delete of
    // the old resource would then remove the templates just put. An update puts the assets at the new URL.
    const replaces: string[] = [];
    const unknown = (news.options as unknown) === UNKNOWN || Object.values(news.options ?? {}).includes(UNKNOWN);
    if (unknown) return { changes: true, replaces, deleteBeforeReplace: false };
    // Compare against the plan for the same cluster: capability changes are seen at the next create/update.
    const planned = planIndexAssets(news.options, news.capabilities ?? olds.planned);
    const wanted = byPath(planned.requests);
    const have = byPath((olds.assets ?? []).map((a) => ({ path: a.path, body: a.drift ? null : a.body })));
    const assetsChanged = wanted.size !== have.size || [...wanted].some(([path, body]) => !have.has(path) || !sameJson(body, have.get(path)));
    const changes = assetsChanged ||
      !sameJson(olds.connection, news.connection) || !sameJson(olds.capabilities ?? null, news.capabilities ?? null) ||
      Boolean(olds.keepTemplatesWithData) !== Boolean(news.keepTemplatesWithData);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const outs = await apply(inputs, []);
    return { id: `index-assets:${outs.dataStream}`, outs };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const assets: AppliedAsset[] = [];
    for (const asset of props.assets) {
      const live = await readAsset(props.connection, asset.kind, asset.name, asset.path);
      if (!live) {
        assets.push({ ...asset, body: null, drift: "missing" });
      } else if (fingerprint(live) !== asset.observed) {
        // Show what is there now; the next diff sees it differ from the plan and puts the planned body back.
        assets.push({ ...asset, body: live, drift: "changed outside Pulumi" });
      } else {
        const { drift: _previous, ...clean } = asset;
        assets.push(clean);
      }
    }
    return { id, props: { ...props, assets } };
  },

  async update(_id, olds, news) {
    return { outs: await apply(news, olds.assets ?? []) };
  },

  async delete(_id, props) {
    let assets = [...props.assets].reverse();
    if (assets.some((a) => a.name === ALERTS_INDEX_TEMPLATE) && await otherNamespaceOnCluster(props.connection, props.assets)) {
      assets = assets.filter((a) => a.name !== ALERTS_INDEX_TEMPLATE);
    }
    const problems = await removeAssets(props.connection, assets, Boolean(props.keepTemplatesWithData));
    if (problems.length) {
      throw new Error(`some index assets are still used by data streams, so Elasticsearch keeps them (the documents are untouched):\n  ${problems.join("\n  ")}\n` +
        "To drop the data too: DELETE /_data_stream/<name> for each data stream named above (this deletes its documents), then destroy again. " +
        "To keep the data and its templates: set keepTemplatesWithData: true (config elasticsearch.keepTemplatesWithData) and destroy again.");
    }
  },
};

export interface ElasticsearchIndexAssetsArgs {
  connection: pulumi.Input<ElasticsearchConnection>;
  options?: pulumi.Input<IndexAssetOptions>;
  capabilities?: pulumi.Input<ClusterCapabilities>;
  keepTemplatesWithData?: pulumi.Input<boolean>;
}

export class ElasticsearchIndexAssets extends pulumi.dynamic.Resource {
  declare readonly dataStream: pulumi.Output<string>;
  declare readonly deadLetterDataStream: pulumi.Output<string>;
  declare readonly assets: pulumi.Output<AppliedAsset[]>;
  declare readonly skipped: pulumi.Output<Array<{ asset: string; reason: string }>>;

  constructor(name: string, args: ElasticsearchIndexAssetsArgs, opts?: pulumi.CustomResourceOptions) {
    super(indexAssetsProvider, name, {
      connection: pulumi.secret(args.connection),
      options: args.options ?? {},
      capabilities: args.capabilities,
      keepTemplatesWithData: args.keepTemplatesWithData ?? false,
      assets: undefined,
      skipped: undefined,
      planned: undefined,
      dataStream: undefined,
      deadLetterDataStream: undefined,
    }, { ...opts, additionalSecretOutputs: ["connection"] }, "flowlogs", "elasticsearch:IndexAssets");
  }
}
