// Unknown config keys are errors, never ignored (a misspelt key would silently fall back to a default), and the
// message suggests the closest known key. Shared by infra/config.ts and the elasticsearch/kibana blocks.

export type Report = (key: string, text: string) => void;

/** Reports every key of `value` not in `known`; `prefix` is the block's path with its trailing dot ("storage."). */
export function reportUnknownKeys(
  value: Record<string, unknown>,
  known: readonly string[],
  prefix: string,
  problem: Report,
  what = "a setting of this project",
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const hint = closest(key, known);
    problem(`${prefix}${key}`, `is not ${what}${hint ? ` (did you mean "${prefix}${hint}"?)` : ""}; known: ${known.join(", ")}`);
  }
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
