// An in-memory Sink standing in for Elasticsearch in the collector tests: documents keyed by id (a second write of
// an id counts as a duplicate, as a 409 on `create` would), dead letters kept, optional failure after N documents.
import type { DeadLetter, IdentifiedDocument, Sink, SinkResult, SourcePosition } from "../../collector/src/model";
import { parseFlowLogText } from "../../collector/src/format";
import type { FlowLogBlobWriter } from "../support/flowLogWriter";

/** The ids the written blobs should end up as: their full text parsed in one go, as a reference for the reader. */
export async function expectedIds(writers: FlowLogBlobWriter[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const writer of writers) {
    for (const d of parseFlowLogText((await writer.blob.downloadToBuffer()).toString("utf8")).documents) ids.add(d.id);
  }
  return ids;
}

export class RecordingSink implements Sink {
  readonly documents = new Map<string, IdentifiedDocument>();
  readonly deadLetters: DeadLetter[] = [];
  writes = 0;
  duplicates = 0;
  accepted = 0;
  closed = false;
  /** Accept this many documents in total, then fail (a crash mid-batch: part of the batch is already stored). */
  failAfter?: number;
  onWrite?: (documents: IdentifiedDocument[], position?: SourcePosition) => Promise<void> | void;

  constructor(shared?: RecordingSink) {
    if (shared) {
      this.documents = shared.documents;
      this.deadLetters = shared.deadLetters;
    }
  }

  async write(documents: IdentifiedDocument[], position?: SourcePosition): Promise<SinkResult> {
    this.writes++;
    await this.onWrite?.(documents, position);
    let indexed = 0;
    let duplicates = 0;
    for (const document of documents) {
      if (this.failAfter !== undefined && this.accepted >= this.failAfter) {
        throw new Error(`recording sink: failing after ${this.failAfter} documents as told`);
      }
      this.accepted++;
      if (this.documents.has(document.id)) duplicates++;
      else {
        this.documents.set(document.id, document);
        indexed++;
      }
    }
    this.duplicates += duplicates;
    return { indexed, duplicates, deadLettered: 0, retries: 0 };
  }

  async deadLetter(entries: DeadLetter[]): Promise<void> {
    this.deadLetters.push(...entries);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
