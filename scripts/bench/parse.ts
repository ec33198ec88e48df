// parse_tuples_per_s and parse_vs_serialize_only: the collector's pure pipeline (parse + map + bulk lines written
// into request buffers, record by record as the collector does) on one core, on the cost dataset (costDataset.ts), against JSON.stringify of the finished documents alone
// (no parsing, mapping or hashing), which any collector emitting these documents has to pay. In the same run,
// parse_tuples_per_s_baseline is the recipe before #12 (a document object per tuple, JSON.stringify-ed into the bulk
// body; it shares today's tuple parser, so the ratio leaves out what the parser itself gained), and
// parse_vs_baseline their ratio. Rates are tuples per CPU second of the process (GC threads included), measured
// in alternation so both sides see the same machine load. Also timed: serialize_only_vs_json_parse (that ceiling
// against bare JSON.parse of the same bytes) and hashes_only_vs_json_parse (the two hashes each document needs,
// its sha256 _id and sha1 Community ID, alone). parse_tuples_per_s_enriched is the same pipeline with the geo
// and AS enrichment the collector runs by default (shipped country database and ASN tables), timed in the same alternation; enrichment_cost_ratio is its CPU cost.
import { parseFlowLogText, parseRecords, type ParsedFlow } from "../../collector/src/format";
import { BulkRequestWriter, type RequestSizeHint } from "../../collector/src/sink/bulkRequest";
import { BULK_REQUEST_LIMITS } from "../../collector/src/sink/dataStreamBulkSink";
import { walkRecord } from "../../collector/src/format/parse";
import { communityId, documentId, toFlowDocument } from "../../collector/src/ecs";
import type { FlowDocument } from "../../collector/src/model";
import { DEFAULT_GEOIP_CACHE_ENTRIES, openGeoIp } from "../../collector/src/enrich/geoIp";
import type { AddressEnrichment } from "../../collector/src/ecs";
import type { CostDataset } from "./costDataset";
import { median, medianOf, progress, report } from "./stats";

const REPETITIONS = 5;

// The collector's defaults: documents per sink write (FLOWLOGS_BATCH_DOCUMENTS) and the Elasticsearch sink's request
// limits (DataStreamBulkSink), whose writers share one size hint so a new request is allocated at about its size.
const WRITE_DOCUMENTS = 2000;
const requestSize: RequestSizeHint = { bytes: 0 };
const requestWriter = () => new BulkRequestWriter(
  BULK_REQUEST_LIMITS.maxBatchDocuments, BULK_REQUEST_LIMITS.maxBatchBytes, undefined, "logs-azure.flowlogs-default", requestSize);

/**
 * The pipeline as the collector runs it (service/delivery.ts, sink/dataStreamBulkSink.ts): records parsed one at a
 * time, each document's bulk lines written into its request's buffer as it comes, so no document waits as a string;
 * requests of the sink's size, written into the memory of requests already delivered.
 */
function pipeline(text: string, enrichment?: AddressEnrichment): void {
  const records = (JSON.parse(text) as { records: unknown[] }).records;
  let writer = requestWriter();
  for (let i = 0; i < records.length; i++) {
    const { documents } = parseRecords([records[i]], i, enrichment && { addresses: enrichment });
    records[i] = undefined;
    for (const document of documents) {
      writer.addDocument(document);
      if (writer.length >= WRITE_DOCUMENTS) { sent(writer); writer = requestWriter(); }
    }
  }
  sent(writer);
}

/** The requests' memory goes back for reuse once they are delivered (here: at once), as the sink gives it back. */
function sent(writer: BulkRequestWriter): void {
  for (const request of writer.finish()) request.release();
}

/** The recipe before #12: an object per document, built by the mapper and JSON.stringify-ed into the bulk body. */
function baselinePipeline(text: string): void {
  const documents: Array<{ id: string; doc: FlowDocument }> = [];
  const sink = { flow: (flow: ParsedFlow) => documents.push({ id: documentId(flow), doc: toFlowDocument(flow) }), reject: () => undefined };
  for (const record of (JSON.parse(text) as { records: unknown[] }).records) walkRecord(record, sink);
  const index = JSON.stringify("logs-azure.flowlogs-default");
  for (let i = 0; i < documents.length; i += 2000) {
    let body = "";
    for (const { id, doc } of documents.slice(i, i + 2000)) body += `{"create":{"_index":${index},"_id":${JSON.stringify(id)}}}\n${JSON.stringify(doc)}\n`;
  }
}

/** CPU seconds of the whole process (main thread and GC helpers) `work` takes. */
function cpuSecondsOf(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

/** The parser's intermediate tuples of a document, to time the hashing on exactly what the pipeline hashes. */
function parsedFlows(text: string): ParsedFlow[] {
  const flows: ParsedFlow[] = [];
  const sink = { flow: (flow: ParsedFlow) => flows.push(flow), reject: () => undefined };
  for (const record of (JSON.parse(text) as { records: unknown[] }).records) walkRecord(record, sink);
  return flows;
}

/** The pipeline's CPU per tuple with the collector's default enrichment, for the end-to-end floor (ingestCost.ts). */
export interface ParseFigures {
  enrichedCpuUsPerTuple: number;
}

export async function benchParse(dataset: CostDataset): Promise<ParseFigures> {
  const inputs = dataset.blobs.map((blob) => ({ text: blob.blob.text(), tuples: blob.tuples }));
  const { tuples, bytes } = dataset;
  progress(`parse: ${tuples} tuples, ${(bytes / 1e6).toFixed(1)} MB of VNet v4 PT1H.json, ${REPETITIONS} repetitions`);
  // Enrichment as the collector runs it by default: the shipped country database and ASN tables, the default cache size.
  const enrichment = openGeoIp({ enabled: true, cacheEntries: DEFAULT_GEOIP_CACHE_ENTRIES })!;
  // One warm-up so both sides are measured with optimized code.
  for (const { text } of inputs) { pipeline(text); pipeline(text, enrichment); baselinePipeline(text); JSON.parse(text); }
  const pipelineTimes: number[] = [];
  const enrichedTimes: number[] = [];
  const baselineTimes: number[] = [];
  for (let r = 0; r < REPETITIONS; r++) {
    baselineTimes.push(cpuSecondsOf(() => inputs.forEach((i) => baselinePipeline(i.text))));
    pipelineTimes.push(cpuSecondsOf(() => inputs.forEach((i) => pipeline(i.text))));
    enrichedTimes.push(cpuSecondsOf(() => inputs.forEach((i) => pipeline(i.text, enrichment))));
  }
  const pipelineTime = median(pipelineTimes);
  const enrichedTime = median(enrichedTimes);
  const baselineTime = median(baselineTimes);
  // The figure means something only if the dataset's public addresses are ones the database knows.
  let publicEndpoints = 0;
  let knownEndpoints = 0;
  let asEndpoints = 0;
  for (const document of parseFlowLogText(inputs[0]!.text, { addresses: enrichment }).documents) {
    const { source, destination, azure } = document.doc;
    if (azure.flowlog.source_address_class === "public") { publicEndpoints++; if (source.geo) knownEndpoints++; if (source.as) asEndpoints++; }
    if (azure.flowlog.destination_address_class === "public") { publicEndpoints++; if (destination.geo) knownEndpoints++; if (destination.as) asEndpoints++; }
  }
  // The objects made once up front (a parsed document's `doc` is read back from its JSON text on each use).
  const objects = inputs.flatMap((i) => parseFlowLogText(i.text).documents.map((document) => document.doc));
  const serializeOnly = medianOf(REPETITIONS, () => cpuSecondsOf(() => objects.forEach((doc) => JSON.stringify(doc))));
  objects.length = 0;
  const flows = inputs.flatMap((i) => parsedFlows(i.text));
  const hashesOnly = medianOf(REPETITIONS, () => cpuSecondsOf(() => flows.forEach((flow) => { documentId(flow); communityId(flow.tuple); })));
  flows.length = 0;
  const jsonParse = medianOf(REPETITIONS, () => cpuSecondsOf(() => inputs.forEach((i) => JSON.parse(i.text))));
  report("parse_tuples_per_s", tuples / pipelineTime, 0, "per CPU second");
  report("parse_tuples_per_s_enriched", tuples / enrichedTime, 0, "geo and AS enrichment on (shipped country database and ASN tables, default cache), same run");
  report("enrichment_cost_ratio", enrichedTime / pipelineTime, 3,
    `CPU time with enrichment over without, target <= 1.15; ${knownEndpoints} of ${publicEndpoints} public endpoints of the first blob with geo, ${asEndpoints} with AS`);
  report("parse_tuples_per_s_baseline", tuples / baselineTime, 0, "the object + JSON.stringify recipe before #12, same run, same parser");
  report("parse_vs_baseline", baselineTime / pipelineTime, 3, "target >= 2");
  report("parse_vs_serialize_only", serializeOnly / pipelineTime, 3,
    `pipeline ${(tuples / pipelineTime).toFixed(0)} tuples/s vs JSON.stringify of the same documents alone ${(tuples / serializeOnly).toFixed(0)}/s`);
  report("serialize_only_vs_json_parse", jsonParse / serializeOnly, 3, `JSON.parse of the input ${(bytes / jsonParse / 1e6).toFixed(1)} MB/s`);
  report("hashes_only_vs_json_parse", jsonParse / hashesOnly, 3, "the sha256 _id and sha1 Community ID of each document, nothing else");
  return { enrichedCpuUsPerTuple: enrichedTime * 1e6 / tuples };
}
