// Stands in for a flowTuples array in the skeleton of a record too long to parse whole (see recordStream.ts): the
// record walker binds it to its group's context and tuple numbering, and the tuples are then streamed through it.
import type { FlowContext } from "./flow";
import type { TupleLayout } from "./tuple";

export interface TupleGroupBinding {
  path: string;
  layout: TupleLayout;
  context: FlowContext;
  /** Record-wide number of the group's first tuple (`Reject.tuple`). */
  firstTuple: number;
}

export class StreamedTuples {
  binding: TupleGroupBinding | undefined;
  constructor(readonly ordinal: number, readonly count: number) {}

  /** In excerpts of record-level rejects, the streamed list shows as its size (its text is not kept). */
  toJSON(): string[] {
    return [`(${this.count} tuples, streamed)`];
  }
}
