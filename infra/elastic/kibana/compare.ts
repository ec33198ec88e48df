// Comparison helpers the providers' `diff` uses, so equal inputs written differently (key order, JSON whitespace)
// never produce an update.

/** JSON with object keys sorted at every level (arrays keep their order: it is meaningful). */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) sorted[key] = sortKeys(item);
    }
    return sorted;
  }
  return value;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

export function sha256(text: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash }: typeof import("node:crypto") = require("node:crypto");
  return createHash("sha256").update(text).digest("hex");
}

/** The connection minus what does not change where objects live (used to decide update vs replace). */
export function spaceKey(connection: { space?: string } | undefined): string {
  return connection?.space && connection.space !== "default" ? connection.space : "default";
}

/** Same Kibana, same credentials, same space ("default" written or omitted is the same space). */
export function sameConnection(a: { space?: string } | undefined, b: { space?: string } | undefined): boolean {
  // During a preview a connection may still be unknown (a placeholder string): that is "may change".
  if (typeof a !== "object" || typeof b !== "object" || !a || !b) return a === b;
  return sameJson({ ...a, space: spaceKey(a) }, { ...b, space: spaceKey(b) });
}
