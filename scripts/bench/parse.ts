// parse_tuples_per_s and parse_vs_serialize_only: the collector's pure pipeline (parse + map + serialize to bulk
// NDJSON) on one core, on the cost dataset (costDataset.ts), against JSON.stringify of the finished documents alone
// (no parsing, mapping or hashing), which any collector emitting these documents has to pay. Also timed in this run:
// serialize_only_vs_json_parse (that ceiling against bare JSON.parse of the same bytes) and
// hashes_only_vs_json_parse (the two hashes each document needs, its sha256 _id and sha1 Community ID, alone).
import { parseFlowLogText, type ParsedFlow } from "../../collector/src/format";
import { walkRecord } from "../../collector/src/format/parse";
import { communityId, documentId, toBulkNdjson } from "../../collector/src/ecs";
import type { CostDataset } from "./costDataset";
import { medianOf, progress, report, secondsOf } from "./stats";

const REPETITIONS = 5;

function pipeline(text: string): void {
  const { documents } = parseFlowLogText(text);
  // Serialized in bulk-request-sized batches, as the sink does.
  for (let i = 0; i < documents.length; i += 2000) toBulkNdjson(documents.slice(i, i + 2000), "logs-azure.flowlogs-default");
}

/** The parser's intermediate tuples of a document, to time the hashing on exactly what the pipeline hashes. */
function parsedFlows(text: string): ParsedFlow[] {
  const flows: ParsedFlow[] = [];
  const sink = { flow: (flow: ParsedFlow) => flows.push(flow), reject: () => undefined };
  for (const record of (JSON.parse(text) as { records: unknown[] }).records) walkRecord(record, sink);
  return flows;
}

export async function benchParse(dataset: CostDataset): Promise<void> {
  const inputs = dataset.blobs.map((blob) => ({ text: blob.blob.text(), tuples: blob.tuples }));
  const { tuples, bytes } = dataset;
  progress(`parse: ${tuples} tuples, ${(bytes / 1e6).toFixed(1)} MB of VNet v4 PT1H.json, ${REPETITIONS} repetitions`);
  // One warm-up so both sides are measured with optimized code.
  for (const { text } of inputs) { pipeline(text); JSON.parse(text); }
  const pipelineTime = medianOf(REPETITIONS, () => secondsOf(() => inputs.forEach((i) => pipeline(i.text))));
  const documents = inputs.flatMap((i) => parseFlowLogText(i.text).documents);
  const serializeOnly = medianOf(REPETITIONS, () => secondsOf(() => documents.forEach(({ doc }) => JSON.stringify(doc))));
  documents.length = 0;
  const flows = inputs.flatMap((i) => parsedFlows(i.text));
  const hashesOnly = medianOf(REPETITIONS, () => secondsOf(() => flows.forEach((flow) => { documentId(flow); communityId(flow.tuple); })));
  flows.length = 0;
  const jsonParse = medianOf(REPETITIONS, () => secondsOf(() => inputs.forEach((i) => JSON.parse(i.text))));
  report("parse_tuples_per_s", tuples / pipelineTime, 0);
  report("parse_vs_serialize_only", serializeOnly / pipelineTime, 3,
    `pipeline ${(tuples / pipelineTime).toFixed(0)} tuples/s vs JSON.stringify of the same documents alone ${(tuples / serializeOnly).toFixed(0)}/s`);
  report("serialize_only_vs_json_parse", jsonParse / serializeOnly, 3, `JSON.parse of the input ${(bytes / jsonParse / 1e6).toFixed(1)} MB/s`);
  report("hashes_only_vs_json_parse", jsonParse / hashesOnly, 3, "the sha256 _id and sha1 Community ID of each document, nothing else");
}
