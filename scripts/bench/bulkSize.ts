// Elasticsearch's CPU per document against the size of the bulk requests it gets, in the tailing pattern (issue #12:
// is the cost of tailing the small requests?). Each round is one minute of the cost dataset's 16 NICs (16 × 110
// documents, the collector's own bulk lines), sent as requests of `size` documents, 4 in flight at most (the
// collector's default job concurrency), then a pause as between polls. Sizes alternate in blocks of rounds so the
// node's drift (merges, JIT) falls on all of them; CPU comes from /proc, per block, pause included.
//   node --import tsx scripts/bench/bulkSize.ts [--sizes 110,440,1760] [--block 6] [--pause-ms 500] [--warm-up 40]
import { parseArgs } from "node:util";
import { Client } from "@elastic/elasticsearch";
import { applyIndexAssets } from "../../dashboards/src/applyIndexAssets";
import { parseFlowLogText } from "../../collector/src/format";
import { toBulkNdjson } from "../../collector/src/ecs";
import type { IdentifiedDocument } from "../../collector/src/model";
import { startElasticsearch } from "../../test/support/elasticsearch";
import { COST_HOURS, COST_NICS, RECORDS_PER_MINUTE, TUPLES_PER_RECORD, costDataset } from "./costDataset";
import { treeCpuSeconds } from "./processCpu";
import { median, progress, report } from "./stats";

const IN_FLIGHT = 4;
const PER_MINUTE = RECORDS_PER_MINUTE * TUPLES_PER_RECORD;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    sizes: { type: "string", default: "110,440,1760" }, block: { type: "string", default: "6" },
    "pause-ms": { type: "string", default: "500" }, "warm-up": { type: "string", default: "40" },
  } });
  const sizes = values.sizes!.split(",").map(Number);
  const block = Number(values.block);
  const pauseMs = Number(values["pause-ms"]);
  const warmUp = Number(values["warm-up"]);
  progress("building the cost dataset");
  const dataset = await costDataset();
  // rounds[r]: minute r of every NIC, in NIC order (the dataset's blobs are hour by hour, NIC by NIC).
  const rounds: IdentifiedDocument[][] = [];
  for (let hour = 0; hour < COST_HOURS; hour++) {
    const perNic = dataset.blobs.slice(hour * COST_NICS, (hour + 1) * COST_NICS).map((b) => parseFlowLogText(b.blob.text()).documents);
    for (let minute = 0; minute < 60; minute++) rounds.push(perNic.flatMap((docs) => docs.slice(minute * PER_MINUTE, (minute + 1) * PER_MINUTE)));
  }
  const es = await startElasticsearch({ log: (line) => progress(`elasticsearch: ${line}`) });
  const client = new Client({ node: es.url, requestTimeout: 600_000 });
  try {
    const { dataStream } = await applyIndexAssets(client, { namespace: "bulksize" });
    const send = async (documents: IdentifiedDocument[], size: number): Promise<number> => {
      const bodies: Buffer[] = [];
      for (let i = 0; i < documents.length; i += size) bodies.push(Buffer.from(toBulkNdjson(documents.slice(i, i + size), dataStream)));
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          const response = await client.transport.request<{ items: Array<Record<string, { status: number }>> }>(
            { method: "POST", path: "/_bulk", querystring: { require_data_stream: "true", filter_path: "items.*.status" }, bulkBody: body });
          const failed = response.items.find((item) => Object.values(item)[0]!.status !== 201);
          if (failed) throw new Error(`bulk item not created: ${JSON.stringify(failed)}`);
        }
      };
      await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, bodies.length) }, worker));
      return bodies.length;
    };
    const pause = () => new Promise((resolve) => setTimeout(resolve, pauseMs));
    let r = 0;
    progress(`${warmUp} warm-up rounds of ${sizes[0]} documents per request`);
    for (; r < warmUp; r++) {
      await send(rounds[r]!, sizes[0]!);
      await pause();
    }
    const perDoc = new Map<number, number[]>(sizes.map((s) => [s, []]));
    for (let cycle = 0; r + block * sizes.length <= rounds.length; cycle++) {
      for (const size of sizes) {
        const before = treeCpuSeconds(es.pid!);
        let documents = 0;
        for (let i = 0; i < block; i++, r++) {
          await send(rounds[r]!, size);
          documents += rounds[r]!.length;
          await pause();
        }
        const us = (treeCpuSeconds(es.pid!) - before) * 1e6 / documents;
        perDoc.get(size)!.push(us);
        progress(`cycle ${cycle + 1}: ${size} per request: ${us.toFixed(1)} µs per document`);
      }
    }
    await client.indices.refresh({ index: dataStream });
    const { count } = await client.count({ index: dataStream });
    const sent = rounds.slice(0, r).reduce((n, docs) => n + docs.length, 0);
    if (count !== sent) throw new Error(`${sent} documents sent, ${dataStream} holds ${count}`);
    for (const [size, values] of perDoc) {
      report(`es_cpu_us_per_doc_${size}_per_request`, median(values), 1, `median of ${values.length} blocks of ${block} rounds; ${values.map((v) => v.toFixed(0)).join(", ")}`);
    }
  } finally {
    await client.close();
    await es.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
