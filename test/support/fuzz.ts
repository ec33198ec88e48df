// Seeded mutation of flow-log records and JSON text, for the fuzz tests: the same seed gives the same cases.
import { mulberry32 } from "./flowLogWriter";

export class Mutator {
  constructor(readonly next: () => number) {}

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)]!;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  /** Characters inserted, deleted or replaced: tuple separators, digits, flags, quotes, escapes, non-ASCII. */
  text(value: string): string {
    let text = value;
    for (let n = 1 + this.int(3); n > 0; n--) {
      const at = this.int(text.length + 1);
      const c = this.pick([...",0123456789.:ABCDEFTUIONX-abf \"\\\u00e9", "\u{1F600}"]);
      const kind = this.next();
      text = kind < 0.33 ? text.slice(0, at) + c + text.slice(at)
        : kind < 0.66 ? text.slice(0, at) + text.slice(at + 1)
        : text.slice(0, at) + c + text.slice(at + 1);
    }
    return text;
  }

  value(depth = 0): unknown {
    const kind = this.next();
    if (kind < 0.15) return null;
    if (kind < 0.3) return this.next() < 0.5;
    if (kind < 0.45) return this.pick([0, -1, 1.5, 1e21, 4, 2, 1, 65536, Number.MAX_SAFE_INTEGER]);
    if (kind < 0.7) return this.text(this.pick(["", "1,2", "NetworkSecurityGroupFlowEvent", "FlowLogFlowEvent", "2022-09-14T09:00:52.5625085Z"]));
    if (depth < 4) return this.next() < 0.6 ? [this.value(depth + 1), this.value(depth + 1)] : { a: this.value(depth + 1) };
    return "z";
  }

  /** A copy of `record` with 1-3 changes anywhere in its tree: values edited or replaced, keys dropped or renamed, elements repeated. */
  record(record: unknown): unknown {
    const copy = structuredClone(record);
    for (let n = 1 + this.int(3); n > 0; n--) {
      const places = slots(copy);
      if (places.length === 0) break;
      const { parent, key } = this.pick(places);
      const value = parent[key];
      const kind = this.next();
      if (typeof value === "string" && kind < 0.6) parent[key] = this.text(value);
      else if (kind < 0.75) parent[key] = this.value();
      else if (!Array.isArray(parent) && kind < 0.85) delete parent[key];
      else if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(value));
      else parent[this.text(String(key))] = structuredClone(value);
    }
    return copy;
  }

  /** `text` with 1-3 edits that mostly break JSON: brackets, quotes, escapes, cut literals, a second tuple-list key. */
  json(text: string): string {
    let out = text;
    for (let n = 1 + this.int(3); n > 0; n--) {
      const at = this.int(out.length + 1);
      const c = this.pick([..."[]{}\",:\\ 0a\u0000\n", "\\u00", "\\ud800", "tru", "1e", "-", "\"flowTuples\":[", "]]", "}}"]);
      const kind = this.next();
      out = kind < 0.4 ? out.slice(0, at) + c + out.slice(at)
        : kind < 0.7 ? out.slice(0, at) + out.slice(at + 1 + this.int(5))
        : out.slice(0, at) + c + out.slice(at + c.length);
    }
    return out;
  }
}

function slots(value: unknown, out: Array<{ parent: any; key: string | number }> = []): Array<{ parent: any; key: string | number }> {
  if (Array.isArray(value)) value.forEach((item, i) => { out.push({ parent: value, key: i }); slots(item, out); });
  else if (typeof value === "object" && value !== null) for (const key of Object.keys(value)) { out.push({ parent: value, key }); slots((value as any)[key], out); }
  return out;
}

/** `perSeed` cases of each seed, in order: each with the seed's mutator and a label naming the case. */
export function* cases(seeds: readonly number[], perSeed: number): Generator<{ mutate: Mutator; label: string }> {
  for (const seed of seeds) {
    const mutate = new Mutator(mulberry32(seed));
    for (let i = 0; i < perSeed; i++) yield { mutate, label: `seed ${seed} case ${i}` };
  }
}
