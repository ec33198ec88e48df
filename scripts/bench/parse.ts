// parse_tuples_per_s and parse_vs_json_parse: the collector's pure pipeline (parse + map + serialize to bulk NDJSON)
// on one core, against bare JSON.parse of the same bytes, both timed in this run. serialize_only_vs_json_parse is
// one ceiling for that ratio: JSON.stringify of the finished documents alone (no parsing, mapping or hashing), which
// any collector emitting these documents has to pay; hashes_only_vs_json_parse is another: the two hashes each
// document needs (its sha256 _id and its sha1 Community ID) and nothing else.
import { parseFlowLogText, type ParsedFlow } from "../../collector/src/format";
import { walkRecord } from "../../collector/src/format/parse";
import { communityId, documentId, toBulkNdjson } from "../../collector/src/ecs";
import { FlowLogBlobWriter, type FlowLogKind } from "../../test/support/flowLogWriter";
import { memoryContainer } from "./memoryBlobs";
import { medianOf, progress, report, secondsOf } from "./stats";

const REPETITIONS = 5;

async function flowLogText(kind: FlowLogKind, minutes: number, seed: number): Promise<{ text: string; tuples: number }> {
  const { container, blobs } = memoryContainer();
  const writer = new FlowLogBlobWriter(container, { kind, hour: new Date("2026-11-20T10:00:00Z"), seed });
  for (let m = 0; m < minutes; m++) await writer.appendMinute({ records: 4, tuplesPerRecord: 50 });
  return { text: blobs.get(writer.blobName)!.text(), tuples: writer.tuples };
}

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

export async function benchParse(): Promise<void> {
  const inputs = await Promise.all([
    flowLogText("vnet-v4", 60, 1),
    flowLogText("nsg-v2", 60, 2),
    flowLogText("nsg-v1", 60, 3),
  ]);
  const tuples = inputs.reduce((n, i) => n + i.tuples, 0);
  const bytes = inputs.reduce((n, i) => n + Buffer.byteLength(i.text), 0);
  progress(`parse: ${tuples} tuples, ${(bytes / 1e6).toFixed(1)} MB of VNet v4, NSG v2 and NSG v1 PT1H.json, ${REPETITIONS} repetitions`);
  // One warm-up so both sides are measured with optimized code.
  for (const { text } of inputs) { pipeline(text); JSON.parse(text); }
  const pipelineTime = medianOf(REPETITIONS, () => secondsOf(() => inputs.forEach((i) => pipeline(i.text))));
  const documents = inputs.flatMap((i) => parseFlowLogText(i.text).documents);
  const serializeOnly = medianOf(REPETITIONS, () => secondsOf(() => documents.forEach(({ doc }) => JSON.stringify(doc))));
  const flows = inputs.flatMap((i) => parsedFlows(i.text));
  const hashesOnly = medianOf(REPETITIONS, () => secondsOf(() => flows.forEach((flow) => { documentId(flow); communityId(flow.tuple); })));
  const jsonParse = medianOf(REPETITIONS, () => secondsOf(() => inputs.forEach((i) => JSON.parse(i.text))));
  report("parse_tuples_per_s", tuples / pipelineTime, 0);
  report("parse_vs_json_parse", (bytes / pipelineTime) / (bytes / jsonParse), 3,
    `pipeline ${(bytes / pipelineTime / 1e6).toFixed(1)} MB/s vs JSON.parse ${(bytes / jsonParse / 1e6).toFixed(1)} MB/s`);
  report("serialize_only_vs_json_parse", jsonParse / serializeOnly, 3,
    `JSON.stringify of the output documents alone; the pipeline is at ${(serializeOnly / pipelineTime * 100).toFixed(0)}% of this ceiling`);
  report("hashes_only_vs_json_parse", jsonParse / hashesOnly, 3, "the sha256 _id and sha1 Community ID of each document, nothing else");
}
