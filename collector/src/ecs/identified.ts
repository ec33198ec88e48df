// IdentifiedDocument values. The parser's keep the parsed flow and what the enrichment answered for it, and write
// their JSON only where it goes: as bytes straight into a bulk request's body (writeSource), or as text for sinks and
// tools that ask for `source`. The hot path (parse -> bulk body) builds neither an object nor a string per document;
// documents made from an object (tests, tools) serialize it once.
import type { ByteOut, FlowDocument, FlowEnrichment, IdentifiedDocument } from "../model";
import type { ParsedFlow } from "../format/flow";
import { documentDigest, idOfDigest, writeIdOfDigest } from "./documentId";
import { flowDocumentText, lookUpEnrichmentParts, writeFlowDocument, type EnrichmentParts } from "./documentJson";

class ParsedFlowDocument implements IdentifiedDocument, EnrichmentParts {
  // Declared, not defined: with ES2022 class fields each instance would run a define per field, a measurable cost at
  // hundreds of thousands of documents a second; plain assignments in the constructor are what V8 makes cheapest.
  /** What the id is made from: the id itself is written into the bulk body from it (writeId), made only when asked. */
  declare readonly digest: string;
  declare readonly flow: ParsedFlow;
  declare readonly sourceAnswer: Uint8Array;
  declare readonly destinationAnswer: Uint8Array;
  declare readonly threat: string;

  constructor(flow: ParsedFlow, enrichment: FlowEnrichment | undefined) {
    const self = this as { -readonly [K in keyof ParsedFlowDocument]: ParsedFlowDocument[K] };
    self.digest = documentDigest(flow);
    self.flow = flow;
    // Looked up now (documentJson.ts, EnrichmentParts: why): the document itself is written later.
    lookUpEnrichmentParts(self, flow.tuple, enrichment);
  }

  get id(): string {
    return idOfDigest(this.flow.tuple.timestampMs, this.digest);
  }

  writeId(out: Uint8Array, at: number): number {
    return writeIdOfDigest(out, at, this.flow.tuple.timestampMs, this.digest);
  }

  /** Written on each use (sinks that send text, dead letters, tests): no text is kept per document. */
  get source(): string {
    return flowDocumentText(this.flow, this);
  }

  /** Parsed from `source` on each use (only Logz.io's lines and tests ask). */
  get doc(): FlowDocument {
    return JSON.parse(this.source) as FlowDocument;
  }

  writeSource(out: ByteOut): void {
    writeFlowDocument(out, this.flow, this);
  }
}

/** The document and id of one parsed tuple (the id never depends on the enrichment). */
export function identifiedFlow(flow: ParsedFlow, enrichment?: FlowEnrichment): IdentifiedDocument {
  return new ParsedFlowDocument(flow, enrichment);
}

/** A document given as an object (tests, tools), with its JSON text. */
export function identifiedDocument(id: string, doc: FlowDocument): IdentifiedDocument {
  return { id, doc, source: JSON.stringify(doc) };
}
