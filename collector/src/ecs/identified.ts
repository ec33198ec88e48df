// IdentifiedDocument values. The parser's keep the parsed flow and write their JSON only where it goes: as bytes
// straight into a bulk request's body (writeSource), or as text for sinks and tools that ask for `source`. The hot
// path (parse -> bulk body) builds neither an object nor a string per document; documents made from an object
// (tests, tools) serialize it once.
import type { ByteOut, FlowDocument, FlowEnrichment, IdentifiedDocument } from "../model";
import type { ParsedFlow } from "../format/flow";
import { documentId } from "./documentId";
import { flowDocumentJson, writeFlowDocument } from "./documentJson";

class ParsedFlowDocument implements IdentifiedDocument {
  // Declared, not defined: with ES2022 class fields each instance would run a define per field, a measurable cost at
  // hundreds of thousands of documents a second; plain assignments in the constructor are what V8 makes cheapest.
  declare readonly id: string;
  declare private readonly flow: ParsedFlow;
  declare private readonly enrichment: FlowEnrichment | undefined;

  constructor(flow: ParsedFlow, enrichment: FlowEnrichment | undefined) {
    (this as { id: string }).id = documentId(flow);
    (this as unknown as { flow: ParsedFlow }).flow = flow;
    (this as unknown as { enrichment?: FlowEnrichment }).enrichment = enrichment;
  }

  /** Written on each use (sinks that send text, dead letters, tests): nothing but the flow is kept per document. */
  get source(): string {
    return flowDocumentJson(this.flow, this.enrichment);
  }

  /** Parsed from `source` on each use (only Logz.io's lines and tests ask). */
  get doc(): FlowDocument {
    return JSON.parse(this.source) as FlowDocument;
  }

  writeSource(out: ByteOut): void {
    writeFlowDocument(out, this.flow, this.enrichment);
  }
}

/**
 * The document and id of one parsed tuple (the id never depends on the enrichment). Its text is written when it is
 * used, with the enrichment as it is then: a threat list reloaded in between tags it by the new list.
 */
export function identifiedFlow(flow: ParsedFlow, enrichment?: FlowEnrichment): IdentifiedDocument {
  return new ParsedFlowDocument(flow, enrichment);
}

/** A document given as an object (tests, tools), with its JSON text. */
export function identifiedDocument(id: string, doc: FlowDocument): IdentifiedDocument {
  return { id, doc, source: JSON.stringify(doc) };
}
