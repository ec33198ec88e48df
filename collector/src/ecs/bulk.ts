// The Elasticsearch `_bulk` request body for documents: a `create` action (so an existing id is a 409, never an
// overwrite) followed by the document source, one JSON object per line, ending with a newline as _bulk requires.
import type { IdentifiedDocument } from "../model";

export function toBulkNdjson(documents: IdentifiedDocument[], index: string): string {
  const indexJson = JSON.stringify(index);
  let body = "";
  for (const { id, source } of documents) {
    body += `{"create":{"_index":${indexJson},"_id":${JSON.stringify(id)}}}\n${source}\n`;
  }
  return body;
}
