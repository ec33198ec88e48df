// The collector's pure parser: flow-log records in, one identified ECS document per tuple plus rejects out.
// No I/O, no clock, no randomness. Bad tuples and bad records become rejects; the good data around them is kept.
import type { FlowEnrichment, IdentifiedDocument, ParseResult, Reject } from "../model";
import { identifiedFlow } from "../ecs/identified";
import { NSG_CATEGORY, walkNsgRecord } from "./nsg";
import { VNET_CATEGORY, walkVnetRecord } from "./vnet";
import { quote } from "../safeText";
import { describe, excerpt, isObject, type RecordSink } from "./walk";

/** The input is not a flow-log document at all (as opposed to a document with some bad parts). */
export class FlowLogFormatError extends Error {
  override name = "FlowLogFormatError";
}

/**
 * Parses the `records` of a flow-log document (or of a newly read chunk of one). Never throws on bad input.
 * `firstRecordIndex` offsets the record numbers in rejects, so a chunk's rejects point into the whole blob.
 * `enrichment`: lookups the documents consult (geo/AS of public endpoints, a threat list), loaded by the caller:
 * pure here.
 */
export function parseRecords(records: readonly unknown[], firstRecordIndex = 0, enrichment?: FlowEnrichment): ParseResult {
  const documents: IdentifiedDocument[] = [];
  const rejects: Reject[] = [];
  for (let i = 0; i < records.length; i++) walkRecord(records[i], recordOutput(firstRecordIndex + i, documents, rejects, enrichment).sink);
  return { documents, rejects };
}

/**
 * A sink collecting one record's documents and rejects (numbered `recordIndex`) into the given lists: the one
 * definition of parse output, shared by the whole-record path and the streamed one (recordStream.ts).
 */
export function recordOutput(
  recordIndex: number, documents: IdentifiedDocument[] = [], rejects: Reject[] = [], enrichment?: FlowEnrichment,
): { sink: RecordSink; documents: IdentifiedDocument[]; rejects: Reject[] } {
  const sink: RecordSink = {
    flow(flow) {
      documents.push(identifiedFlow(flow, enrichment));
    },
    reject(reason, raw, tuple) {
      const entry: Reject = { record: recordIndex, reason };
      if (tuple !== undefined) entry.tuple = tuple;
      const text = excerpt(raw);
      if (text !== undefined) entry.raw = text;
      rejects.push(entry);
    },
  };
  return { sink, documents, rejects };
}

/** Walks one record of either family into `sink` (tuples and rejects); an unknown category is one reject. */
export function walkRecord(record: unknown, sink: RecordSink): void {
  if (!isObject(record)) {
    sink.reject(`record is ${describe(record)}, expected an object`, record);
    return;
  }
  const category = record.category;
  if (category === NSG_CATEGORY) walkNsgRecord(record, sink);
  else if (category === VNET_CATEGORY) walkVnetRecord(record, sink);
  else {
    sink.reject(
      `record category ${quote(category)} is not a flow-log category (${NSG_CATEGORY} or ${VNET_CATEGORY})`,
      record,
    );
  }
}

/** Whether a record is of a category and version this parser reads (its contents may still be partly bad). */
function isKnownRecord(record: unknown): boolean {
  if (!isObject(record)) return false;
  if (record.category === NSG_CATEGORY) {
    const version = isObject(record.properties) ? record.properties.Version : undefined;
    return version === 1 || version === 2;
  }
  return record.category === VNET_CATEGORY && record.flowLogVersion === 4;
}

/**
 * Parses a whole flow-log document `{"records": [...]}` (a PT1H.json blob). Throws FlowLogFormatError when the
 * text is not one at all: not JSON, no `records` array, or records of which none has a known category/version.
 * An empty `records` array is a valid document with nothing in it.
 */
export function parseFlowLogText(text: string, enrichment?: FlowEnrichment): ParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new FlowLogFormatError(`input is not JSON (${detail}); expected a flow-log document {"records": [...]}`);
  }
  const records = isObject(parsed) ? parsed.records : undefined;
  if (!Array.isArray(records)) {
    throw new FlowLogFormatError(
      `input has no "records" array (top level is ${describe(parsed)}${isObject(parsed) ? `, records is ${describe(records)}` : ""}); expected a flow-log document {"records": [...]}`,
    );
  }
  if (records.length > 0 && !records.some(isKnownRecord)) {
    throw new FlowLogFormatError(
      `none of the ${records.length} records is a known flow log (NSG ${NSG_CATEGORY} version 1/2, or VNet ${VNET_CATEGORY} flowLogVersion 4)`,
    );
  }
  return parseRecords(records, 0, enrichment);
}
