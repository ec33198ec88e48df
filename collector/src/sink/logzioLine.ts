// A Logz.io line: the document with its id as `event.id`, i.e. JSON.stringify({ ...doc, event: { ...doc.event, id } })
// written into the document's JSON text instead of parsing and stringifying it again. The text is scanned once for
// its top-level `event` object (strings and escapes skipped) and the id goes in before that object's closing brace,
// where the spread would put it. Anything else (no `event` object, or one that already has an `id`) takes the
// object path, which says what the line must be. About 12x cheaper than the object path on flow documents (0.7 against 8.5 µs).
import type { IdentifiedDocument } from "../model";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;

/** The Logz.io line of one document. */
export function logzioLine(document: Pick<IdentifiedDocument, "id" | "source" | "doc">): string {
  const { id, source } = document; // not `doc`: for parsed documents that getter parses the text again
  const end = eventObjectEnd(source);
  if (end !== undefined) {
    const empty = source.charCodeAt(end - 1) === OPEN;
    return `${source.slice(0, end)}${empty ? "" : ","}"id":${JSON.stringify(id)}${source.slice(end)}`;
  }
  const parsed = document.doc;
  return JSON.stringify({ ...parsed, event: { ...parsed.event, id } });
}

/**
 * The index of the `}` closing the top-level `"event":{...}` of a JSON object text, when that object has no key
 * `id` of its own; otherwise undefined. The scan stops there: the texts are JSON.stringify's or the same text
 * written directly (documentJson.ts), whose keys are unique, so no second `event` can follow.
 */
function eventObjectEnd(text: string): number | undefined {
  let depth = 0;
  let inEvent = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const close = stringEnd(text, i);
      if (close < 0) return undefined;
      if (text.charCodeAt(close + 1) === COLON) {
        if (!inEvent && depth === 1 && isKey(text, i, close, "event")) {
          if (text.charCodeAt(close + 2) !== OPEN) return undefined;
          inEvent = true;
          depth++;
          i = close + 2;
          continue;
        }
        if (inEvent && depth === 2 && isKey(text, i, close, "id")) return undefined;
      }
      i = close;
    } else if (c === OPEN || c === OPEN_ARRAY) {
      depth++;
    } else if (c === CLOSE || c === CLOSE_ARRAY) {
      depth--;
      if (inEvent && depth === 1) return i;
    }
  }
  return undefined;
}

function isKey(text: string, open: number, close: number, key: string): boolean {
  return close - open - 1 === key.length && text.startsWith(key, open + 1);
}

/** Index of the quote closing the string that opens at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return -1;
}
