// The Elasticsearch `_bulk` request body for documents: a `create` action (so an existing id is a 409, never an
// overwrite) followed by the document source, one JSON object per line, ending with a newline as _bulk requires.
import type { IdentifiedDocument } from "../model";

export function toBulkNdjson(documents: IdentifiedDocument[], index: string): string {
  let body = "";
  for (const { id, source } of documents) body += `${createAction(index, id)}${source}\n`;
  return body;
}

/** The action line (newline included) creating `id` in `index`: JSON.stringify({create: {_index, _id}}), without the objects. */
export function createAction(index: string, id: string): string {
  return `{"create":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(id)}}}\n`;
}
