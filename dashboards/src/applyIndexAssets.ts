// Puts the planned index assets into a cluster: detects what the cluster can do first, then PUTs every request in
// order (components before the index templates that use them). Idempotent: PUT overwrites.
import type { Client } from "@elastic/elasticsearch";
import { type ClusterCapabilities, type IndexAssetOptions, type IndexAssetPlan, planIndexAssets } from "./indexAssets";

export interface AppliedIndexAssets extends IndexAssetPlan {
  capabilities: ClusterCapabilities;
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
  return { ...plan, capabilities };
}

/** Asks the cluster which optional features it has. A node listing we may not read counts as a full stack. */
export async function detectCapabilities(client: Client): Promise<ClusterCapabilities> {
  const ilm = await client.ilm.getStatus().then(() => true, (error: unknown) => {
    if (statusOf(error) === 400 || statusOf(error) === 404 || statusOf(error) === 410) return false; // no such endpoint
    throw new Error(`could not ask the cluster whether it has ILM: ${describe(error)}`);
  });
  let constantKeyword = true;
  let ingestProcessors = ["geoip", "rename"];
  try {
    const nodes = await client.nodes.info({ metric: ["plugins", "ingest"] });
    const all = Object.values(nodes.nodes);
    constantKeyword = all.every((node) => [...(node.modules ?? []), ...(node.plugins ?? [])]
      .some((plugin) => plugin.name === "constant-keyword" || /constantkeyword/i.test(plugin.classname ?? "")));
    const perNode = all.map((node) => new Set((node.ingest?.processors ?? []).map((processor) => processor.type)));
    ingestProcessors = [...(perNode[0] ?? [])].filter((type) => perNode.every((set) => set.has(type))).sort();
  } catch (error) {
    if (statusOf(error) !== 403 && statusOf(error) !== 404 && statusOf(error) !== 410) {
      throw new Error(`could not list the cluster's modules: ${describe(error)}`);
    }
  }
  return { ilm, constantKeyword, ingestProcessors };
}

function statusOf(error: unknown): number | undefined {
  return (error as { meta?: { statusCode?: number } }).meta?.statusCode;
}

function describe(error: unknown): string {
  const body = (error as { meta?: { body?: { error?: { reason?: string; type?: string } } } }).meta?.body;
  if (body?.error) return `${body.error.type}: ${body.error.reason}`;
  return error instanceof Error ? error.message : String(error);
}
