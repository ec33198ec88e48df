// `collector.threatListFile`: a threat list (collector/README.md, Threat list) shipped with the deployment. The
// program reads the file when it runs, checks it with the collector's own parser (a bad line is a config problem
// here, before anything is deployed, rather than a warning in the container's log), and the container group mounts
// it read-only from a secret volume (the only file volume ACI offers without a storage account key, which this
// project never uses). Its content travels in the container group's ARM request, whose body Azure caps at 4 MB, so
// lists are bounded well below that.
import { readFileSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parseThreatList } from "../collector/src/enrich/threatList";
import type { Report } from "./configKeys";

export const THREAT_LIST_MAX_BYTES = 1 << 20;
const KEY = "collector.threatListFile";
/** Shown per problem; the count says how many more. */
const BAD_LINES_SHOWN = 5;

export interface ThreatListDeployment {
  /** The list's file name in the container (and `threat.enrichments.indicator.provider` in documents). */
  fileName: string;
  content: string;
}

/** The list named by `collector.threatListFile` (a path relative to the Pulumi project directory, or absolute). */
export function readThreatListFile(value: unknown, problem: Report): ThreatListDeployment | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "") {
    problem(KEY, `must be the path of a threat list file (relative to the Pulumi project directory), got ${JSON.stringify(value)}`);
    return undefined;
  }
  const path = resolve(value);
  const fileName = basename(path);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(fileName)) {
    problem(KEY, `the file name ${JSON.stringify(fileName)} must be 1-100 of A-Z, a-z, 0-9, ., _ and - (it names the file in the container): rename the file`);
    return undefined;
  }
  let size: number;
  try {
    const info = statSync(path);
    if (!info.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
    size = info.size;
  } catch {
    problem(KEY, `${JSON.stringify(value)} is not a readable file (resolved to ${path}; relative paths start at the Pulumi project directory)`);
    return undefined;
  }
  if (size > THREAT_LIST_MAX_BYTES) {
    problem(KEY, `${JSON.stringify(value)} is ${size} bytes; lists deployed by this program are limited to ${THREAT_LIST_MAX_BYTES} bytes (Azure caps a container group's request at 4 MB): shorten the list`);
    return undefined;
  }
  let content: string;
  try {
    content = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path));
  } catch {
    problem(KEY, `${JSON.stringify(value)} is not UTF-8 text`);
    return undefined;
  }
  const { list, badLines } = parseThreatList(content, fileName);
  if (badLines.length > 0) {
    const shown = badLines.slice(0, BAD_LINES_SHOWN).map((bad) => `line ${bad.line}: ${bad.reason}`).join("; ");
    const more = badLines.length > BAD_LINES_SHOWN ? ` (and ${badLines.length - BAD_LINES_SHOWN} more)` : "";
    problem(KEY, `${JSON.stringify(value)} has lines that are not an address or CIDR: ${shown}${more}; fix or remove them (comments start with # or ;)`);
    return undefined;
  }
  if (list.entries === 0) {
    problem(KEY, `${JSON.stringify(value)} lists no address or CIDR: add entries, or remove the key to run without a threat list`);
    return undefined;
  }
  return { fileName, content };
}
