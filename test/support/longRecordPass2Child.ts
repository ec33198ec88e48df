// Child process for test/collector/delivery.pass2Memory.test.ts: delivers one long record (pass 1 as the scan feeds
// it, then pass 2 over 4 MiB windows, the collector's defaults) whose only flowTuples list holds MIB MiB of `0`
// elements, to a sink that only counts; prints {"deadLetters":N,"peakHeapMiB":M}. Run under a capped heap.
import { deliver, LongRecordPass1 } from "../../collector/src/service/delivery";
import { parseRecords } from "../../collector/src/format/parse";
import type { ReadChunk } from "../../collector/src/source/blobReader";

const MIB = 1 << 20;
const WINDOW = 4 * MIB;
const mib = Number(process.argv[2]);
const head = '{"time":"2026-11-20T10:00:00Z","category":"FlowLogFlowEvent","flowLogVersion":4,"macAddress":"00224871C205",' +
  '"flowRecords":{"flows":[{"aclID":"a","flowGroups":[{"rule":"r","flowTuples":[';
const elements = Math.floor((mib * MIB) / 2);
const record = Buffer.concat([Buffer.from(head), Buffer.alloc(elements * 2 - 1, "0,"), Buffer.from("]}]}]}}")]);
const START = 12; // after {"records":[

async function main(): Promise<void> {
  const pass1 = new LongRecordPass1(MIB);
  for (let at = 0; at < record.length; at += WINDOW) pass1.push(record.subarray(at, at + WINDOW));
  let deadLetters = 0;
  let peak = 0;
  const sample = (): void => { peak = Math.max(peak, process.memoryUsage().heapUsed); };
  const context = {
    sink: {
      write: async (documents: unknown[]) => ({ indexed: documents.length, duplicates: 0, deadLettered: 0, retries: 0 }),
      deadLetter: async (batch: unknown[]) => { deadLetters += batch.length; sample(); },
    },
    parse: parseRecords,
    metrics: { rejects: 0, tuples: 0, indexed: 0, duplicates: 0, deadLettered: 0, retries: 0, malformedBlocks: 0 },
    windowBytes: WINDOW, recordBytes: MIB, batchDocuments: 2000,
  };
  const chunk: ReadChunk<LongRecordPass1> = {
    blob: { container: "c", name: "PT1H.json" }, start: START, end: START + record.length, records: [], firstRecord: 0, malformed: [],
    large: {
      index: 0, start: START, end: START + record.length, head: record.subarray(0, 2000), observer: pass1,
      read: async (from, to) => { sample(); return record.subarray(from - START, to - START); }, readBytes: WINDOW,
    },
  };
  await deliver(chunk, context as never);
  sample();
  console.log(JSON.stringify({ deadLetters, elements, peakHeapMiB: peak / MIB }));
}

void main();
