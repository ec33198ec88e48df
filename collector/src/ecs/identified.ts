// IdentifiedDocument values. The parser's carry only the JSON text and make the object on first use, so the hot
// path (parse -> bulk body) never builds one; documents made from an object (tests, tools) serialize it once.
import type { FlowDocument, IdentifiedDocument } from "../model";
import type { ParsedFlow } from "../format/flow";
import { documentId } from "./documentId";
import { flowDocumentJson } from "./documentJson";
import type { AddressEnrichment } from "./enrichment";

class SerializedDocument implements IdentifiedDocument {
  constructor(readonly id: string, readonly source: string) {}

  /** Parsed on each use (only Logz.io's lines and tests ask): nothing more is kept per document. */
  get doc(): FlowDocument {
    return JSON.parse(this.source) as FlowDocument;
  }
}

/** The document and id of one parsed tuple (the id never depends on the enrichment). */
export function identifiedFlow(flow: ParsedFlow, enrichment?: AddressEnrichment): IdentifiedDocument {
  return new SerializedDocument(documentId(flow), flowDocumentJson(flow, enrichment));
}

/** A document given as an object (tests, tools), with its JSON text. */
export function identifiedDocument(id: string, doc: FlowDocument): IdentifiedDocument {
  return { id, doc, source: JSON.stringify(doc) };
}
