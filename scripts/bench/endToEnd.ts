// e2e_docs_per_s and collector_cpu_share: Azurite -> shipped collector -> one Elasticsearch node. The CPU share is
// the collector's CPU seconds ÷ Elasticsearch's over the same run, so we know which side is the limit.
import { readFileSync, readdirSync } from "node:fs";
import { BlobServiceClient } from "@azure/storage-blob";
import { Client } from "@elastic/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { FlowLogBlobWriter, flowLogContainer, type FlowLogKind } from "../../test/support/flowLogWriter";
import { collectOnceInChild } from "./imageRuntime";
import { progress, report } from "./stats";

const NAMESPACE = "bench";

/** CPU seconds used so far by a process and all its descendants (Linux /proc). */
function treeCpuSeconds(pid: number): number {
  const ticks = 100; // USER_HZ on Linux
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch { /* exited */ }
  }
  let total = 0;
  const visit = (p: number): void => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime
    } catch { /* exited */ }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return total;
}

export async function benchEndToEnd(connectionString: string, esUrl: string, esPid: number | undefined): Promise<void> {
  const client = new Client({ node: esUrl });
  await applyIndexAssets(client, { namespace: NAMESPACE });
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const kinds: FlowLogKind[] = ["vnet-v4", "vnet-v4", "nsg-v2", "nsg-v2", "nsg-v1"];
  let tuples = 0;
  for (const [i, kind] of kinds.entries()) {
    const container = service.getContainerClient(`bench-e2e-${flowLogContainer(kind)}`.slice(0, 63));
    await container.createIfNotExists();
    const writer = new FlowLogBlobWriter(container, { kind, hour: new Date("2026-11-20T13:00:00Z"), seed: 100 + i, mac: `000D3AF880${10 + i}` });
    for (let m = 0; m < 60; m++) await writer.appendMinute({ records: 4, tuplesPerRecord: 60 });
    tuples += writer.tuples;
  }
  const containers = [...new Set(kinds.map((k) => `bench-e2e-${flowLogContainer(k)}`.slice(0, 63)))];
  progress(`end to end: ${tuples} tuples in ${kinds.length} blobs; collecting into logs-azure.flowlogs-${NAMESPACE}`);
  const esCpuBefore = esPid ? treeCpuSeconds(esPid) : NaN;
  const result = await collectOnceInChild({
    FLOWLOGS_STORAGE_CONNECTION_STRING: connectionString,
    FLOWLOGS_CONTAINERS: containers.join(","),
    FLOWLOGS_CHECKPOINT_CONTAINER: "bench-e2e-checkpoints",
    FLOWLOGS_SINK: "elasticsearch",
    FLOWLOGS_ES_URL: esUrl,
    FLOWLOGS_ES_NAMESPACE: NAMESPACE,
  }, "elasticsearch");
  const esCpu = esPid ? treeCpuSeconds(esPid) - esCpuBefore : NaN;
  await client.indices.refresh({ index: `logs-azure.flowlogs-${NAMESPACE}` });
  const { count } = await client.count({ index: `logs-azure.flowlogs-${NAMESPACE}` });
  if (count !== tuples) throw new Error(`Elasticsearch holds ${count} documents, ${tuples} tuples were written`);
  report("e2e_docs_per_s", count / result.seconds, 0, `${count} documents in ${result.seconds.toFixed(1)} s`);
  if (esPid) {
    report("collector_cpu_share", result.cpuSeconds / esCpu, 3, `collector ${result.cpuSeconds.toFixed(1)} CPU s, Elasticsearch ${esCpu.toFixed(1)} CPU s`);
  } else {
    progress("collector_cpu_share needs the Elasticsearch started here (ES_URL points elsewhere): not measured");
  }
  for (const name of [...containers, "bench-e2e-checkpoints"]) await service.getContainerClient(name).deleteIfExists();
  await client.close();
}
