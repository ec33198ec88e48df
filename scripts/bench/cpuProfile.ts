// Where a --cpu-prof profile's samples fall within a time window, by source (a package, a file of the collector,
// node's own code, GC): for a long-running child whose start-up and warm-up must be left out. V8 stamps samples with
// the monotonic clock process.hrtime reads (Linux), so the window is given in the caller's hrtime microseconds.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Areas a sample is charged to: walking its stack from the running frame outwards, the first frame that belongs to
 * an area decides (GC first). The Azure SDK's requests are its packages and node's http client, which only it uses
 * here (Elasticsearch's client runs on undici); node's own helpers (crypto, buffers) belong to whoever called them,
 * so the document ids' hashes count as parse + map and request signing as the Azure SDK. Stacks start at the
 * callback that resumed them, so the area is where the work happened, not which job awaited it.
 */
const AREAS: Array<[area: string, test: RegExp]> = [
  ["garbage collector", /^\(garbage collector\)$/],
  ["Azure SDK requests (@azure/*, node http client, XML, request signing)", /@azure\/|@typespec\/|fast-xml-parser|node:_http_/],
  ["Elasticsearch client (undici, @elastic/*)", /undici|@elastic\//],
  ["parse + map (collector/format, ecs, enrich)", /collector\/(format|ecs|enrich)\//],
  ["reader (collector/source)", /collector\/source\//],
  ["checkpoints (collector/checkpoint)", /collector\/checkpoint\//],
  ["sink (collector/sink)", /collector\/sink\//],
  ["scheduler, jobs, logs (collector/service)", /collector\/service\//],
];

/** Self-time shares (0–1) of each source within [fromUs, toUs], largest first, with the sampled µs in all; `byArea`: by AREAS. */
export function profileShares(file: string, dist: string, fromUs: number, toUs: number, byArea = false): { totalUs: number; shares: Array<[string, number]> } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  // The collector's files as `collector/<dir>/<file>.js`, whichever build ran (collector/dist or a --dist).
  for (const node of profile.nodes) node.callFrame.url = node.callFrame.url.replace(pathToFileURL(dist).href + "/", "collector/");
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const nodeOf = new Map(profile.nodes.map((node) => [node.id, node]));
  const areaOf = (id: number): string => {
    const stack: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = nodeOf.get(at)!.callFrame;
      stack.push(frame.url || frame.functionName);
    }
    for (const frame of stack) {
      const area = AREAS.find(([, test]) => test.test(frame));
      if (area) return area[0];
    }
    return `other: ${sourceName(nodeOf.get(id)!.callFrame)}`;
  };
  const sourceOf = new Map(profile.nodes.map((node) => [node.id, sourceName(node.callFrame) === "(idle)" ? "(idle)" : byArea ? areaOf(node.id) : sourceName(node.callFrame)]));
  const byName = new Map<string, number>();
  let at = profile.startTime;
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs) continue;
    const name = sourceOf.get(profile.samples[i]!) ?? "(unknown)";
    if (name === "(idle)") continue;
    byName.set(name, (byName.get(name) ?? 0) + delta);
    totalUs += delta;
  }
  const shares = [...byName].map(([name, us]): [string, number] => [name, us / totalUs]).sort((a, b) => b[1] - a[1]);
  return { totalUs, shares };
}

/** `@azure/core-rest-pipeline`, `collector/source/blobReader.js`, `node:internal/...` or `(garbage collector)`. */
function sourceName(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : `(native) ${functionName}`;
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inPackage) return inPackage[1]!;
  if (url.startsWith("node:")) return url.split("/").slice(0, 3).join("/");
  return url;
}
