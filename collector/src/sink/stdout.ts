// Prints documents as bulk-API NDJSON (an action line, then the document) for `--once` demos and backfills: the
// output can be sent to `_bulk` as it is. Dead letters are printed the same way, into the dead-letter data stream,
// so nothing set aside disappears. Honours back-pressure of the stream it writes to.
import type { Writable } from "node:stream";
import type { DeadLetter, IdentifiedDocument, Sink, SinkResult, SourcePosition } from "../model";
import { createAction } from "../ecs/bulk";
import { DEFAULT_NAMESPACE, deadLetterDataStream, flowDataStream } from "./dataStreams";
import { deadLetterDocument, deadLetterId } from "./deadLetterDocument";

export interface StdoutSinkOptions {
  namespace?: string;
  /** Where to write; default process.stdout. */
  out?: Writable;
  /** Clock for dead-letter timestamps (tests). */
  now?: () => Date;
}

export class StdoutSink implements Sink {
  private readonly out: Writable;
  private readonly index: string;
  private readonly deadLetterIndex: string;
  private readonly now: () => Date;

  constructor(options: StdoutSinkOptions = {}) {
    this.out = options.out ?? process.stdout;
    this.index = flowDataStream(options.namespace ?? DEFAULT_NAMESPACE);
    this.deadLetterIndex = deadLetterDataStream(options.namespace ?? DEFAULT_NAMESPACE);
    this.now = options.now ?? (() => new Date());
  }

  async write(documents: IdentifiedDocument[], _position?: SourcePosition): Promise<SinkResult> {
    for (const { id, source } of documents) await this.print(`${createAction(this.index, id)}${source}\n`);
    return { indexed: documents.length, duplicates: 0, deadLettered: 0, retries: 0 };
  }

  async deadLetter(entries: DeadLetter[]): Promise<void> {
    const timestamp = this.now().toISOString();
    for (const entry of entries) {
      const doc = deadLetterDocument(entry, timestamp);
      await this.print(`${createAction(this.deadLetterIndex, deadLetterId(entry))}${JSON.stringify(doc)}\n`);
    }
  }

  async close(): Promise<void> {
    // process.stdout must stay open; other streams are ended by their owner.
  }

  private print(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.write(text, (error) => (error ? reject(error) : resolve()));
    });
  }
}
