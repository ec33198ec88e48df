// An optional capability of a sink: a write whose documents are handed over one by one and encoded at once, so the
// collector's outbox holds encoded bytes (off the JS heap) rather than document strings while a batch fills up and
// while it is sent. Sinks without it get the documents as one array (`write`).
import type { IdentifiedDocument, Sink, SinkResult, SourcePosition, WriteOptions } from "../model";

export interface SinkBatch {
  add(document: IdentifiedDocument): void;
  /** Documents added so far. */
  readonly length: number;
  /** Delivers every document added; resolves only when each is accounted for, as `Sink.write` does. */
  send(): Promise<SinkResult>;
  /**
   * After `send` rejected: what the destination had taken of the batch before it failed (written, found present,
   * the retries), so the caller's counts stay exact; those documents come back as duplicates when read again.
   * Sinks that cannot tell leave it out.
   */
  settled?(): SinkResult;
}

export interface EncodingSink extends Sink {
  batch(position?: SourcePosition, options?: WriteOptions): SinkBatch;
}

/** The sink's own encoding batch, or one that collects the documents and gives them to `write`. */
export function sinkBatch(sink: Sink, position?: SourcePosition, options?: WriteOptions): SinkBatch {
  if (typeof (sink as Partial<EncodingSink>).batch === "function") return (sink as EncodingSink).batch(position, options);
  const documents: IdentifiedDocument[] = [];
  return {
    add: (document) => { documents.push(document); },
    get length() {
      return documents.length;
    },
    send: () => sink.write(documents, position, options),
  };
}
