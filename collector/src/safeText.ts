// Showing untrusted text safely. Every place that quotes input (reject reasons and excerpts, dead-letter raw text,
// CLI lines, config errors, logs) goes through these: bounded, never recursive on the input (a 5,000-deep value
// must not exhaust the stack), no control characters on a terminal, no credentials from a URL-like setting.

/**
 * A JSON rendering of `value` cut to `limit` characters (then ending in "…"). Walks with an explicit stack and stops
 * as soon as the limit is passed, so neither depth nor size of the input matters. `undefined` is "missing".
 */
export function quote(value: unknown, limit = 100): string {
  if (value === undefined) return "missing";
  interface Frame { array?: unknown[]; object?: Record<string, unknown>; keys?: string[]; index: number }
  const stack: Frame[] = [];
  let out = "";
  let next: { value: unknown } | undefined = { value };
  while (out.length <= limit) {
    if (next) {
      const current = asJson(next.value);
      next = undefined;
      if (Array.isArray(current)) {
        out += "[";
        stack.push({ array: current, index: 0 });
      } else if (typeof current === "object" && current !== null) {
        out += "{";
        stack.push({ object: current as Record<string, unknown>, keys: Object.keys(current), index: 0 });
      } else {
        out += scalar(current, limit);
      }
      continue;
    }
    const top = stack.at(-1);
    if (!top) break;
    const length = top.array ? top.array.length : top.keys!.length;
    if (top.index >= length) {
      out += top.array ? "]" : "}";
      stack.pop();
      continue;
    }
    if (top.index > 0) out += ",";
    if (top.array) {
      next = { value: top.array[top.index] };
    } else {
      const key = top.keys![top.index];
      out += `${scalar(key, limit)}:`;
      next = { value: top.object![key] };
    }
    top.index++;
  }
  return out.length > limit ? `${out.slice(0, limit)}…` : out;
}

/**
 * What JSON.stringify would write for `value`: its toJSON() result where it has one (a streamed tuple list stands in
 * for an array; JSON.parse never makes a function, so input data is never called).
 */
export function asJson(value: unknown): unknown {
  const toJSON = typeof value === "object" && value !== null ? (value as { toJSON?: unknown }).toJSON : undefined;
  return typeof toJSON === "function" ? (toJSON as () => unknown).call(value) : value;
}

function scalar(value: unknown, limit: number): string {
  if (typeof value === "string") return JSON.stringify(value.length > limit ? value.slice(0, limit + 1) : value);
  if (typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  if (value === null || value === undefined) return "null";
  return String(value).slice(0, limit + 1); // bigint, symbol, function: never from JSON.parse
}

// C0 and C1 controls, DEL, the Unicode line/paragraph separators and the bidi overrides that reorder a line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `text` with control characters written as escapes (`\n`, `\x1b`, `\u2028`), for one human-readable line. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`);
  });
}

/**
 * A URL-like setting as it may be shown, valid or not: user info (`user:password@`), query string (SAS, `?token=`)
 * and fragment are replaced, the rest (scheme, host, port, path) kept so the mistake can still be found. Works on
 * text that does not parse as a URL too, and errs toward hiding more: everything up to the last "@" goes.
 */
export function redactUrlText(text: string): string {
  const schemeEnd = text.indexOf("://");
  const start = schemeEnd >= 0 ? schemeEnd + 3 : 0;
  const at = text.lastIndexOf("@");
  let shown = at >= start ? `${text.slice(0, start)}(redacted)@${text.slice(at + 1)}` : text;
  const query = shown.search(/[?#]/);
  if (query >= 0) shown = `${shown.slice(0, query)}?(redacted)`;
  return shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
}
