// Where a --cpu-prof profile's samples fall within a time window, by source (a package, a file of the collector,
// node's own code, GC): for a long-running child whose start-up and warm-up must be left out. V8 stamps samples with
// the monotonic clock process.hrtime reads (Linux), so the window is given in the caller's hrtime microseconds.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self-time shares (0–1) of each source within [fromUs, toUs], largest first, with the sampled µs in all. */
export function profileShares(file: string, fromUs: number, toUs: number): { totalUs: number; shares: Array<[string, number]> } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const sourceOf = new Map(profile.nodes.map((node) => [node.id, sourceName(node.callFrame)]));
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

/** `@azure/core-rest-pipeline`, `collector/dist/source/blobReader.js`, `node:internal/...` or `(garbage collector)`. */
function sourceName(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : `(native) ${functionName}`;
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inPackage) return inPackage[1]!;
  const inCollector = /collector\/dist\/(.+)$/.exec(url);
  if (inCollector) return `collector/${inCollector[1]}`;
  if (url.startsWith("node:")) return url.split("/").slice(0, 3).join("/");
  return url;
}
