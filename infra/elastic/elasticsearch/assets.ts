// Per-asset read-back for the index assets: where each kind is read and deleted, which part of the answer is the
// asset, and a fingerprint of it that ignores bookkeeping Elasticsearch adds on every PUT (dates, ILM's version).
import type { IndexAssetKind } from "../../../dashboards/src/indexAssets";
import { callElasticsearch, ElasticsearchConnection } from "./client";
import { sha256, stableJson } from "../kibana/compare";

/** What Elasticsearch stamps on an asset itself; a re-PUT of the same body changes them, so they are not drift. */
const BOOKKEEPING = ["created_date", "created_date_millis", "modified_date", "modified_date_millis"];

/** The asset as Elasticsearch has it now, or undefined when it does not exist. */
export async function readAsset(connection: ElasticsearchConnection, kind: IndexAssetKind, name: string, path: string): Promise<Record<string, unknown> | undefined> {
  const answer = await callElasticsearch(connection, { method: "GET", path, accept: [404] });
  if (answer.status === 404) return undefined;
  const body = answer.body ?? {};
  let live: unknown;
  switch (kind) {
    case "component_template":
      live = (body.component_templates ?? []).find((t: any) => t.name === name)?.component_template;
      break;
    case "index_template":
      live = (body.index_templates ?? []).find((t: any) => t.name === name)?.index_template;
      break;
    case "ilm_policy":
      // `version` and `modified_date` sit beside `policy` and change on every PUT.
      live = body[name]?.policy === undefined ? undefined : { policy: body[name].policy };
      break;
    case "ingest_pipeline":
      live = body[name];
      break;
  }
  if (!live || typeof live !== "object") return undefined;
  const copy = { ...(live as Record<string, unknown>) };
  for (const key of BOOKKEEPING) delete copy[key];
  return copy;
}

export function fingerprint(live: Record<string, unknown>): string {
  return sha256(stableJson(live));
}

export type DeleteOutcome = { deleted: true } | { deleted: false; inUseBy: string };

/**
 * Deletes one asset; a 404 counts as deleted. A refusal because something still uses it (a data stream using an
 * index template, an index template using a component, indices using a policy or pipeline) is returned, not thrown.
 */
export async function deleteAsset(connection: ElasticsearchConnection, path: string): Promise<DeleteOutcome> {
  const answer = await callElasticsearch(connection, { method: "DELETE", path, accept: [404, 400, 409] });
  if (answer.status < 300 || answer.status === 404) return { deleted: true };
  const reason = String(answer.body?.error?.reason ?? JSON.stringify(answer.body ?? "")).slice(0, 500);
  if (/in use|still in use|cannot be deleted because|default pipeline|final pipeline/i.test(reason)) return { deleted: false, inUseBy: reason };
  throw new Error(`DELETE ${path} failed with HTTP ${answer.status}: ${reason}`);
}
