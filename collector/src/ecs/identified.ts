// IdentifiedDocument values. The parser's carry only the JSON text and make the object on first use, so the hot
// path (parse -> bulk body) never builds one; documents made from an object (tests, tools) serialize it once.
import type { FlowDocument, FlowEnrichment, IdentifiedDocument } from "../model";
import type { ParsedFlow } from "../format/flow";
import { documentId } from "./documentId";
import { flowDocumentJson } from "./documentJson";

class SerializedDocument implements IdentifiedDocument {
  // Declared, not defined: with ES2022 class fields each instance would run a define per field, a measurable cost at
  // hundreds of thousands of documents a second; plain assignments in the constructor are what V8 makes cheapest.
  declare readonly id: string;
  declare readonly source: string;

  constructor(id: string, source: string) {
    (this as { id: string }).id = id;
    (this as { source: string }).source = source;
  }

  /** Parsed on each use (only Logz.io's lines and tests ask): nothing more is kept per document. */
  get doc(): FlowDocument {
    return JSON.parse(this.source) as FlowDocument;
  }
}

/** The document and id of one parsed tuple (the id never depends on the enrichment). */
export function identifiedFlow(flow: ParsedFlow, enrichment?: FlowEnrichment): IdentifiedDocument {
  return new SerializedDocument(documentId(flow), flowDocumentJson(flow, enrichment));
}

/** A document given as an object (tests, tools), with its JSON text. */
export function identifiedDocument(id: string, doc: FlowDocument): IdentifiedDocument {
  return { id, doc, source: JSON.stringify(doc) };
}
