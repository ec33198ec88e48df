// Puts the planned index assets into a cluster: detects what the cluster can do first, then PUTs every request in
// order (components before the index templates that use them). Idempotent: PUT overwrites.
import type { Client } from "@elastic/elasticsearch";
import { type ClusterCapabilities, type IndexAssetOptions, type IndexAssetPlan, planIndexAssets, SERVERLESS_CAPABILITIES, streamLifecycleCalls } from "./indexAssets";

export interface AppliedIndexAssets extends IndexAssetPlan {
  capabilities: ClusterCapabilities;
  /**
   * How the flow data stream's `_source` will be kept, as the cluster resolves the templates for a new backing index
   * (`_simulate_index`): under logsdb "synthetic" (rebuilt from doc values; Enterprise licence on a cluster with the
   * logsdb plugin) or "stored" (the plugin's fallback below Enterprise). Absent where it was not asked (OpenSearch).
   */
  source?: "synthetic" | "stored";
}

export async function applyIndexAssets(client: Client, options: IndexAssetOptions = {}): Promise<AppliedIndexAssets> {
  const capabilities = await detectCapabilities(client);
  const plan = planIndexAssets(options, capabilities);
  for (const request of plan.requests) {
    try {
      await client.transport.request({ method: "PUT", path: request.path, body: request.body });
    } catch (error) {
      throw new Error(`could not put ${request.kind} ${request.name}: ${describe(error)}`);
    }
  }
  for (const call of streamLifecycleCalls(plan)) {
    try {
      await client.transport.request({ method: call.method, path: call.path, ...(call.body ? { body: call.body } : {}) }, { ignore: [404] });
    } catch (error) {
      throw new Error(`could not bring an existing data stream to the retention (${call.method} ${call.path}): ${describe(error)}`);
    }
  }
  return { ...plan, capabilities, source: await resolvedSourceMode(client, plan) };
}

/** What the cluster will really do with `_source` for the next backing index, licence rules applied. */
async function resolvedSourceMode(client: Client, plan: IndexAssetPlan): Promise<"synthetic" | "stored"> {
  let settings: Record<string, unknown> = {};
  try {
    const simulated = await client.transport.request<{ template?: { settings?: { index?: Record<string, unknown> } } }>(
      { method: "POST", path: `/_index_template/_simulate_index/${encodeURIComponent(plan.dataStream)}` });
    settings = simulated.template?.settings?.index ?? {};
  } catch (error) {
    throw new Error(`could not ask the cluster how it will keep _source in ${plan.dataStream} (_simulate_index): ${describe(error)}`);
  }
  const mode = (settings.mapping as { source?: { mode?: string } } | undefined)?.source?.mode ?? (settings["mapping.source.mode"] as string | undefined);
  if (mode === "synthetic" || mode === "stored") return mode;
  // No explicit mode: the index mode's default (logsdb and time_series synthesize, standard stores).
  return (settings.mode ?? "standard") === "standard" ? "stored" : "synthetic";
}

/**
 * Asks the cluster which optional features it has. A node listing we may not read counts as a full stack.
 * Serverless first: it says so on `GET /`, and the calls after it are not available there.
 */
export async function detectCapabilities(client: Client): Promise<ClusterCapabilities> {
  if (await buildFlavor(client) === "serverless") return SERVERLESS_CAPABILITIES;
  const ilm = await client.ilm.getStatus().then(() => true, (error: unknown) => {
    // No such endpoint: 400, 404, 410 (Serverless), or 405 where the node has no ILM module (the 8.x test distribution).
    if (statusOf(error) === 400 || statusOf(error) === 404 || statusOf(error) === 405 || statusOf(error) === 410) return false;
    throw new Error(`could not ask the cluster whether it has ILM: ${describe(error)}`);
  });
  let constantKeyword = true;
  let ingestProcessors = ["geoip", "rename"];
  let logsdb = true;
  let implicitLogsdb = true;
  let dataStreamApi = true;
  let geoipContinentCode = true;
  try {
    const nodes = await client.nodes.info({ metric: ["plugins", "ingest"] });
    const all = Object.values(nodes.nodes);
    // logsdb is server code (not a module) and generally available from 8.17; the x-pack logsdb plugin only adds
    // the licence rules, which _simulate_index reports after the templates are put.
    logsdb = all.length > 0 && all.every((node) => atLeast(node.version, 8, 17));
    // From 8.16 the logsdb plugin may turn logs-*-* data streams logsdb unasked (ClusterCapabilities.implicitLogsdb);
    // counted by version, not by the plugin: a template that names its mode is right with or without it.
    implicitLogsdb = all.length > 0 && all.every((node) => atLeast(node.version, 8, 16));
    geoipContinentCode = all.every((node) => atLeast(node.version, 8, 15));
    constantKeyword = all.every((node) => [...(node.modules ?? []), ...(node.plugins ?? [])]
      .some((plugin) => plugin.name === "constant-keyword" || /constantkeyword/i.test(plugin.classname ?? "")));
    dataStreamApi = all.every((node) => (node.modules ?? []).some((module) => module.name === "data-streams"));
    const perNode = all.map((node) => new Set((node.ingest?.processors ?? []).map((processor) => processor.type)));
    ingestProcessors = [...(perNode[0] ?? [])].filter((type) => perNode.every((set) => set.has(type))).sort();
  } catch (error) {
    // Only Serverless answers api_not_available_exception (410): it is Serverless although GET / was refused.
    if (statusOf(error) === 410 && errorType(error) === "api_not_available_exception") return SERVERLESS_CAPABILITIES;
    if (statusOf(error) !== 403 && statusOf(error) !== 404 && statusOf(error) !== 410) {
      throw new Error(`could not list the cluster's modules: ${describe(error)}`);
    }
  }
  return {
    ilm, constantKeyword, ingestProcessors, logsdb, implicitLogsdb, ...(dataStreamApi ? {} : { dataStreamApi }), ...(geoipContinentCode ? {} : { geoipContinentCode }),
  };
}

/**
 * `version.build_flavor` of `GET /`: "serverless" on Elastic Cloud Serverless, the documented way to tell
 * (elastic/elasticsearch-specification specification/_global/info/RootNodeInfoRequest.ts); "default" elsewhere.
 * Undefined where GET / is refused (403: it needs the `monitor` cluster privilege) or not served (the rest-root
 * module is absent, as in the integ-test distribution the tests run, which answers 405): the 410 above still tells.
 */
async function buildFlavor(client: Client): Promise<string | undefined> {
  try {
    return (await client.info()).version?.build_flavor;
  } catch (error) {
    if ([400, 403, 404, 405].includes(statusOf(error) ?? 0)) return undefined;
    throw new Error(`could not ask the cluster what it is (GET /): ${describe(error)}`);
  }
}

function atLeast(version: string | undefined, major: number, minor: number): boolean {
  const [m, n] = (version ?? "").split(".").map(Number) as [number, number];
  return m > major || (m === major && n >= minor);
}

function statusOf(error: unknown): number | undefined {
  return (error as { meta?: { statusCode?: number } }).meta?.statusCode;
}

function errorType(error: unknown): string | undefined {
  return (error as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type;
}

function describe(error: unknown): string {
  const body = (error as { meta?: { body?: { error?: { reason?: string; type?: string } | string } } }).meta?.body;
  if (typeof body?.error === "string") return body.error; // RestController's "no handler found for uri [...]"
  if (body?.error) return `${body.error.type}: ${body.error.reason}`;
  return error instanceof Error ? error.message : String(error);
}
