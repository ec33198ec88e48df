// Reading `_bulk` answers. Almost every answer the collector gets says that each document was created, and with the
// sink's filter_path it says so in exactly one way: {"items":[{"create":{"status":201}},...]}. Parsed as JSON, that
// is two objects per document that all outlive the request's young garbage collection (a 2,000-item answer arrives
// while the next request is written), about a quarter of what the collector's scavenges copied (#12). An answer of
// exactly that text is read here without parsing: its items are one shared, frozen item. Any other text (a status
// other than 201, an error, whitespace, another order) is parsed as the client always did.
import { Serializer } from "@elastic/elasticsearch";

const HEAD = '{"items":[';
const TAIL = "]}";
const CREATED_TEXT = '{"create":{"status":201}}';
const CREATED_ITEM = Object.freeze({ create: Object.freeze({ status: 201 }) });

/**
 * The items of an answer that created every document, or undefined when `json` is not exactly the filtered text of
 * one. `JSON.parse(json).items` equals the result whenever it is defined.
 */
export function allCreatedItems(json: string): ReadonlyArray<typeof CREATED_ITEM> | undefined {
  // HEAD, n items joined by commas, TAIL: n * (CREATED_TEXT + 1) - 1 characters between them.
  const between = json.length - HEAD.length - TAIL.length + 1;
  if (between <= 0 || between % (CREATED_TEXT.length + 1) !== 0) return undefined;
  if (!json.startsWith(HEAD) || !json.endsWith(TAIL)) return undefined;
  const count = between / (CREATED_TEXT.length + 1);
  let at = HEAD.length;
  for (let i = 0; i < count; i++) {
    if (!json.startsWith(CREATED_TEXT, at)) return undefined;
    at += CREATED_TEXT.length;
    if (i < count - 1 && json.charCodeAt(at++) !== 0x2c) return undefined; // ,
  }
  return new Array<typeof CREATED_ITEM>(count).fill(CREATED_ITEM);
}

/** The client's serializer, with all-created `_bulk` answers read by allCreatedItems (other bodies as before). */
export class BulkAnswerSerializer extends Serializer {
  override deserialize<T = unknown>(json: string): T {
    const items = allCreatedItems(json);
    return (items ? { items } : super.deserialize(json)) as T;
  }
}
