// Where a flow's bytes go on disk, field by field, for the shipped template and for variants of it (#12 item 1).
// Loads the cost dataset (scripts/bench/costDataset.ts, 316,800 tuples) into a real Elasticsearch once per variant,
// each into its own data stream, force-merges it to one segment and prints `_disk_usage` per field in bytes per tuple.
// A variant is the shipped plan with extra index settings and mapping parameters in the index template (which wins
// over the components); a setting the cluster refuses is reported as refused, not measured.
//   node --import tsx scripts/bench/diskUsage.ts [--skipper-flag] [variant ...]
// No names: every variant. ES_URL: use that cluster instead of starting one (a scratch one: each variant leaves its
// data stream `logs-azure.flowlogs-disk<variant><run>` and its component templates behind). --skipper-flag: start a
// node with the doc-values-skipper feature flag (see main). Prints numbers, not a verdict; the README's disk tables
// (dashboards/elasticsearch/README.md, Disk) quote them.
import { Client } from "@elastic/elasticsearch";
import { detectCapabilities } from "../../dashboards/src/applyIndexAssets";
import { planIndexAssets } from "../../dashboards/src/indexAssets";
import { toBulkNdjson } from "../../collector/src/ecs/bulk";
import type { IdentifiedDocument } from "../../collector/src/model";
import { startElasticsearch } from "../../test/support/elasticsearch";
import { costDataset, costDocuments } from "./costDataset";
import { progress } from "./stats";

interface Variant {
  /** Flattened index settings added to the index template, e.g. `{"index.sort.field": [...]}`. */
  settings?: Record<string, unknown>;
  /** Mapping properties merged into the index template's own mappings (parameters of existing fields). */
  properties?: Record<string, unknown>;
}

/** `{ a: { properties: { b: mapping } } }` for "a.b". */
const field = (path: string, mapping: Record<string, unknown>): Record<string, unknown> => {
  const parts = path.split(".");
  let node: Record<string, unknown> = mapping;
  for (const part of parts.slice(1).reverse()) node = { properties: { [part]: node } };
  return { [parts[0]!]: node };
};
const sort = (fields: string[], orders: string[]): Record<string, unknown> => ({ "index.sort.field": fields, "index.sort.order": orders });

/** The six flow counters and source.port indexed again (points), as the shared mapping has them. */
const long = { type: "long" };
const pointsOn: Record<string, unknown> = {
  source: { properties: { port: long, packets: long, bytes: long } },
  destination: { properties: { packets: long, bytes: long } },
  network: { properties: { packets: long, bytes: long } },
};

const VARIANTS: Record<string, Variant> = {
  shipped: {},
  // What the template was before #12 item 1 was finished, and each half of the change alone.
  former: { settings: sort(["azure.flowlog.mac", "@timestamp"], ["asc", "desc"]), properties: pointsOn },
  formerSort: { settings: sort(["azure.flowlog.mac", "@timestamp"], ["asc", "desc"]) },
  countersIndexed: { properties: pointsOn },
  // What the logsdb plugin falls back to below an Enterprise licence (README, Disk: what each licence gets).
  storedSource: { settings: { "index.mapping.source.mode": "stored" } },
  // Tried and not adopted (README, Disk): other sorts, related.ip without its index, a stored recovery source.
  sortMacSrcDst: { settings: sort(["azure.flowlog.mac", "source.ip", "destination.ip", "@timestamp"], ["asc", "asc", "asc", "desc"]) },
  sortMacDstSrc: { settings: sort(["azure.flowlog.mac", "destination.ip", "source.ip", "@timestamp"], ["asc", "asc", "asc", "desc"]) },
  sortMacCommunity: { settings: sort(["azure.flowlog.mac", "network.community_id", "@timestamp"], ["asc", "asc", "desc"]) },
  sortResourceMacSrc: { settings: sort(["azure.resource.id", "azure.flowlog.mac", "source.ip", "@timestamp"], ["asc", "asc", "asc", "desc"]) },
  relatedIpNoIndex: { properties: field("related.ip", { type: "ip", index: false }) },
  storedRecoverySource: { settings: { "index.recovery.use_synthetic_source": false } },
  // Refused by 9.2.4 unless the node runs with the feature flag (--skipper-flag), which also turns it on by default.
  skipper: { settings: { "index.mapping.use_doc_values_skipper": true } },
  noSkipper: { settings: { "index.mapping.use_doc_values_skipper": false } },
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // 9.2 registers index.mapping.use_doc_values_skipper only behind this feature flag (IndexSettings.DOC_VALUES_SKIPPER);
  // a later release turns it on by default for logsdb. With --skipper-flag a node of our own gets the flag.
  const skipperFlag = args.includes("--skipper-flag");
  const chosen = args.filter((arg) => arg !== "--skipper-flag");
  const names = chosen.length ? chosen : Object.keys(VARIANTS);
  for (const name of names) if (!VARIANTS[name]) throw new Error(`unknown variant ${name}: one of ${Object.keys(VARIANTS).join(", ")}`);
  const external = skipperFlag ? undefined : process.env.ES_URL;
  const es = external ? undefined : await startElasticsearch({
    heap: "1g", log: (line) => progress(line), jvmOptions: skipperFlag ? ["-Des.doc_values_skipper_feature_flag_enabled=true"] : [] });
  const client = new Client({ node: external ?? es!.url, requestTimeout: 900_000 });
  try {
    progress("building the cost dataset");
    const dataset = await costDataset();
    const documents = costDocuments(dataset);
    const capabilities = await detectCapabilities(client);
    const run = `${Date.now().toString(36)}`;
    for (const name of names) {
      const namespace = `disk${name.toLowerCase()}${run}`;
      const refused = await putVariant(client, namespace, name, VARIANTS[name]!, capabilities);
      if (refused) { process.stdout.write(`${name}: refused by the cluster: ${refused}\n`); continue; }
      const dataStream = `logs-azure.flowlogs-${namespace}`;
      progress(`${name}: loading ${documents.length} documents into ${dataStream}`);
      await load(client, documents, dataStream);
      await client.indices.forcemerge({ index: dataStream, max_num_segments: 1 });
      const store = (await client.indices.stats({ index: dataStream, metric: ["store"] }))._all.primaries!.store!.size_in_bytes;
      const usage = await client.transport.request<Record<string, DiskUsage>>({
        method: "POST", path: `/${encodeURIComponent(dataStream)}/_disk_usage`, querystring: { run_expensive_tasks: "true" } });
      printUsage(name, store, documents.length, usage);
    }
  } finally {
    await client.close();
    await es?.stop();
  }
}

/** Puts the shipped components under the variant's own names and an index template with the variant on top. */
async function putVariant(client: Client, namespace: string, name: string, variant: Variant,
  capabilities: Awaited<ReturnType<typeof detectCapabilities>>): Promise<string | undefined> {
  const plan = planIndexAssets({ namespace, retentionMode: "none" }, capabilities);
  const suffix = `-disk-${name.toLowerCase()}`;
  for (const request of plan.requests.filter((r) => r.kind === "component_template")) {
    await client.transport.request({ method: "PUT", path: `${request.path}${suffix}`, body: request.body });
  }
  const template = plan.requests.find((r) => r.kind === "index_template" && r.name === `azure-flowlogs-${namespace}`)!;
  const body = structuredClone(template.body) as { composed_of: string[]; template: Record<string, unknown> };
  body.composed_of = body.composed_of.map((component) => `${component}${suffix}`);
  const settings = { ...(body.template.settings as Record<string, unknown>), ...variant.settings };
  body.template = { ...body.template, settings, ...(variant.properties ? { mappings: { properties: variant.properties } } : {}) };
  try {
    await client.transport.request({ method: "PUT", path: template.path, body });
    return undefined;
  } catch (error) {
    const reason = (error as { meta?: { body?: { error?: { reason?: string } } } }).meta?.body?.error?.reason;
    return reason ?? String(error);
  }
}

async function load(client: Client, documents: IdentifiedDocument[], dataStream: string): Promise<void> {
  const perRequest = 2000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < documents.length) {
      const slice = documents.slice(next, next += perRequest);
      const response = await client.transport.request<{ errors: boolean; items: Array<Record<string, { status: number; error?: unknown }>> }>(
        { method: "POST", path: "/_bulk", querystring: { require_data_stream: "true" }, bulkBody: toBulkNdjson(slice, dataStream) });
      const failed = response.items.find((item) => Object.values(item)[0]!.status >= 300);
      if (failed) throw new Error(`bulk item refused: ${JSON.stringify(failed)}`);
    }
  };
  await Promise.all([worker(), worker()]);
  await client.indices.refresh({ index: dataStream });
  const { count } = await client.count({ index: dataStream });
  if (count !== documents.length) throw new Error(`${dataStream} holds ${count} documents, ${documents.length} were written`);
}

interface FieldUsage {
  total_in_bytes: number;
  inverted_index: { total_in_bytes: number };
  stored_fields_in_bytes: number;
  doc_values_in_bytes: number;
  points_in_bytes: number;
  norms_in_bytes: number;
}
interface DiskUsage {
  store_size_in_bytes: number;
  all_fields: FieldUsage;
  fields: Record<string, FieldUsage>;
}

function printUsage(name: string, store: number, documents: number, usage: Record<string, DiskUsage>): void {
  const perTuple = (bytes: number): string => (bytes / documents).toFixed(2).padStart(7);
  process.stdout.write(`\n${name}: ${(store / documents).toFixed(1)} B/tuple (store ${store} bytes, ${documents} documents)\n`);
  process.stdout.write(`  ${"field".padEnd(44)} ${"total".padStart(7)} ${"terms".padStart(7)} ${"stored".padStart(7)} ${"docval".padStart(7)} ${"points".padStart(7)}\n`);
  for (const [index, entry] of Object.entries(usage)) {
    if (!entry.fields) continue;
    const rows = Object.entries(entry.fields).sort((a, b) => b[1].total_in_bytes - a[1].total_in_bytes);
    for (const [fieldName, f] of rows) {
      if (f.total_in_bytes / documents < 0.05) continue;
      process.stdout.write(`  ${fieldName.padEnd(44)} ${perTuple(f.total_in_bytes)} ${perTuple(f.inverted_index.total_in_bytes)} ` +
        `${perTuple(f.stored_fields_in_bytes)} ${perTuple(f.doc_values_in_bytes)} ${perTuple(f.points_in_bytes)}\n`);
    }
    process.stdout.write(`  ${"(all fields)".padEnd(44)} ${perTuple(entry.all_fields.total_in_bytes)}  of index ${index}, store ${perTuple(entry.store_size_in_bytes)}\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
