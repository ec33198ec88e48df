// Fetches one artifact from Maven Central with the machine's own `mvn` into a cache outside git. The download
// lands in a scratch folder first and is renamed into place, so a killed run never leaves a half file behind.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** `${XDG_CACHE_HOME:-~/.cache}/flowlogs-to-elastic`, created on demand. */
export function cacheDir(): string {
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "flowlogs-to-elastic");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
  packaging: string;
}

/** Path of the cached artifact, downloading it first when it is not cached yet. */
export async function fetchArtifact(artifact: MavenArtifact, log: (line: string) => void = () => {}): Promise<string> {
  const dir = cacheDir();
  const file = join(dir, `${artifact.artifactId}-${artifact.version}.${artifact.packaging}`);
  if (existsSync(file)) return file;
  const coordinates = `${artifact.groupId}:${artifact.artifactId}:${artifact.version}:${artifact.packaging}`;
  log(`downloading ${coordinates} from Maven Central into ${dir}`);
  const scratch = mkdtempSync(join(dir, ".download-"));
  try {
    await run("mvn", ["-q", "-B", "dependency:copy", `-Dartifact=${coordinates}`, `-DoutputDirectory=${scratch}`]);
    const [downloaded] = readdirSync(scratch);
    if (!downloaded) throw new Error(`mvn reported success but wrote nothing for ${coordinates}`);
    renameSync(join(scratch, downloaded), file);
    return file;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => { output += String(chunk); });
    child.stderr.on("data", (chunk) => { output += String(chunk); });
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "ENOENT"
        ? new Error(`\`${command}\` is not installed: install Maven (e.g. \`apt-get install maven\`) to fetch Elasticsearch, or set ES_URL to a running cluster`)
        : error);
    });
    child.once("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} failed (exit ${code}):\n${output.trim().slice(-2000)}`));
    });
  });
}
