// The JavaScript objects on this process's heap, counted by kind from a V8 heap snapshot, to name what a repeated
// piece of work leaves behind. V8's compiled code (the `code` nodes, with their deoptimization and relocation data)
// is left out: it grows while the JIT warms up and levels off (collector/PERFORMANCE.md, "Heap per job in a
// long-running service"), and says nothing about objects the program keeps.
import { readFileSync } from "node:fs";

export interface HeapKind {
  count: number;
  bytes: number;
}

/**
 * Objects by `type:name` (a constructor, or a string/array kind) in a snapshot file (v8.writeHeapSnapshot, which
 * collects garbage first). Read from files taken before any census: a census alive on the heap would be counted.
 */
export function heapCensus(file: string): Map<string, HeapKind> {
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [type, name, size] = ["type", "name", "self_size"].map((field) => fields.indexOf(field)) as [number, number, number];
  const census = new Map<string, HeapKind>();
  for (let at = 0; at < snapshot.nodes.length; at += fields.length) {
    const kind = types[snapshot.nodes[at + type]!]!;
    if (kind === "code") continue;
    // A string's name is its text: counted together, by kind.
    const label = /string|number/.test(kind) ? kind : `${kind}:${snapshot.strings[snapshot.nodes[at + name]!]}`;
    const entry = census.get(label) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[at + size]!;
    census.set(label, entry);
  }
  return census;
}

/** What grew from `before` to `after`, largest in bytes first. */
export function heapGrowth(before: Map<string, HeapKind>, after: Map<string, HeapKind>): Array<{ kind: string } & HeapKind> {
  const grown: Array<{ kind: string } & HeapKind> = [];
  for (const [kind, now] of after) {
    const then = before.get(kind) ?? { count: 0, bytes: 0 };
    if (now.count > then.count || now.bytes > then.bytes) grown.push({ kind, count: now.count - then.count, bytes: now.bytes - then.bytes });
  }
  return grown.sort((a, b) => b.bytes - a.bytes);
}
