// parse_tuples_per_s and parse_vs_json_parse: the collector's pure pipeline (parse + map + serialize to bulk NDJSON)
// on one core, against bare JSON.parse of the same bytes, both timed in this run. serialize_only_vs_json_parse is
// one ceiling for that ratio: JSON.stringify of the finished documents alone (no parsing, mapping or hashing), which
// any collector emitting these documents has to pay; hashes_only_vs_json_parse is another: the two hashes each
// document needs (its sha256 _id and its sha1 Community ID) and nothing else.
import { parseFlowLogText } from "../../collector/src/format";
import { communityId, documentId, toBulkNdjson } from "../../collector/src/ecs";
import type { ParsedFlow } from "../../collector/src/format";
import { NSG_CATEGORY, walkNsgRecord } from "../../collector/src/format/nsg";
import { walkVnetRecord } from "../../collector/src/format/vnet";
import type { IdentifiedDocument } from "../../collector/src/model";
import { FlowLogBlobWriter, type FlowLogKind } from "../../test/support/flowLogWriter";
import { memoryContainer } from "./memoryBlobs";
import { medianOf, progress, report } from "./stats";

const REPETITIONS = 5;

async function flowLogText(kind: FlowLogKind, minutes: number, seed: number): Promise<{ text: string; tuples: number }> {
  const { container, blobs } = memoryContainer();
  const writer = new FlowLogBlobWriter(container, { kind, hour: new Date("2026-11-20T10:00:00Z"), seed });
  for (let m = 0; m < minutes; m++) await writer.appendMinute({ records: 4, tuplesPerRecord: 50 });
  return { text: blobs.get(writer.blobName)!.text(), tuples: writer.tuples };
}

function pipelineSeconds(text: string): number {
  const started = process.hrtime.bigint();
  const { documents } = parseFlowLogText(text);
  // Serialized in bulk-request-sized batches, as the sink does.
  for (let i = 0; i < documents.length; i += 2000) toBulkNdjson(documents.slice(i, i + 2000), "logs-azure.flowlogs-default");
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function serializeOnlySeconds(documents: IdentifiedDocument[]): number {
  const started = process.hrtime.bigint();
  for (const { doc } of documents) JSON.stringify(doc);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function hashesOnlySeconds(flows: ParsedFlow[]): number {
  const started = process.hrtime.bigint();
  for (const flow of flows) {
    documentId(flow);
    communityId(flow.tuple);
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The parser's intermediate tuples of a document, to time the hashing on exactly what the pipeline hashes. */
function parsedFlows(text: string): ParsedFlow[] {
  const flows: ParsedFlow[] = [];
  const sink = { flow: (flow: ParsedFlow) => flows.push(flow), reject: () => undefined };
  for (const record of (JSON.parse(text) as { records: Array<Record<string, unknown>> }).records) {
    if (record.category === NSG_CATEGORY) walkNsgRecord(record, sink);
    else walkVnetRecord(record, sink);
  }
  return flows;
}

function jsonParseSeconds(text: string): number {
  const started = process.hrtime.bigint();
  JSON.parse(text);
  return Number(process.hrtime.bigint() - started) / 1e9;
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
  for (const { text } of inputs) { pipelineSeconds(text); jsonParseSeconds(text); }
  const pipeline = medianOf(REPETITIONS, () => inputs.reduce((s, i) => s + pipelineSeconds(i.text), 0));
  const documents = inputs.map((i) => parseFlowLogText(i.text).documents);
  const serializeOnly = medianOf(REPETITIONS, () => documents.reduce((s, d) => s + serializeOnlySeconds(d), 0));
  const flows = inputs.map((i) => parsedFlows(i.text));
  const hashesOnly = medianOf(REPETITIONS, () => flows.reduce((s, f) => s + hashesOnlySeconds(f), 0));
  const jsonParse = medianOf(REPETITIONS, () => inputs.reduce((s, i) => s + jsonParseSeconds(i.text), 0));
  report("parse_tuples_per_s", tuples / pipeline, 0);
  report("parse_vs_json_parse", (bytes / pipeline) / (bytes / jsonParse), 3,
    `pipeline ${(bytes / pipeline / 1e6).toFixed(1)} MB/s vs JSON.parse ${(bytes / jsonParse / 1e6).toFixed(1)} MB/s`);
  report("serialize_only_vs_json_parse", jsonParse / serializeOnly, 3,
    `JSON.stringify of the output documents alone; the pipeline is at ${(serializeOnly / pipeline * 100).toFixed(0)}% of this ceiling`);
  report("hashes_only_vs_json_parse", jsonParse / hashesOnly, 3, "the sha256 _id and sha1 Community ID of each document, nothing else");
}
