// The Node.js the collector image runs, for tests and benchmarks: the version pinned in collector/Dockerfile's FROM
// lines, fetched once per machine from the npm registry (the `node-<platform>-<arch>` packages carry the nodejs.org
// builds) into `${XDG_CACHE_HOME:-~/.cache}/flowlogs-to-elastic/node-<version>-<platform>-<arch>/bin/node`.
// Memory and CPU figures, and the image's own steps, are only what ships when they run on what ships: V8's heap and
// garbage collector differ between Node majors (the image's memory settings were tuned on Node 20 and peaked 8 %
// higher on Node 22, #12).
//
//   node --import tsx scripts/image-node.ts     prints the binary's path (fetching it first when it is missing)
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { cacheDir } from "../test/support/maven";

const root = resolve(__dirname, "..");

/**
 * The Node.js version of collector/Dockerfile's base images (`FROM node:22.23.2-bookworm-slim`): every stage must pin
 * the same full version, so the image is rebuilt on the runtime it was measured on, not on whatever `node:22` is that day.
 */
export function imageNodeVersion(dockerfile = join(root, "collector", "Dockerfile")): string {
  const bases = readFileSync(dockerfile, "utf8").split("\n").filter((line) => /^FROM\s/i.test(line)).map((line) => line.trim().split(/\s+/)[1]!);
  const versions = new Set(bases.map((base) => /^node:(\d+\.\d+\.\d+)-/.exec(base)?.[1] ?? `unpinned ${base}`));
  const [version] = versions;
  if (versions.size !== 1 || !version || version.startsWith("unpinned")) {
    throw new Error(`${dockerfile}: every FROM must name one full Node.js version, e.g. node:22.23.2-bookworm-slim (found ${bases.join(", ") || "no FROM"})`);
  }
  return version;
}

/**
 * Path of a `node` binary of the image's version: IMAGE_NODE when set (checked), this process's own when it is that
 * version, else the cached one.
 */
export async function ensureImageNode(options: { version?: string; log?: (line: string) => void } = {}): Promise<string> {
  const version = options.version ?? imageNodeVersion();
  if (process.env.IMAGE_NODE) {
    checkVersion(process.env.IMAGE_NODE, version);
    return process.env.IMAGE_NODE;
  }
  if (process.version === `v${version}`) return process.execPath;
  const pkg = `node-${process.platform}-${process.arch}`;
  const cache = cacheDir();
  const dir = join(cache, `node-${version}-${process.platform}-${process.arch}`);
  const binary = join(dir, "bin", "node");
  if (!existsSync(binary)) {
    options.log?.(`fetching ${pkg}@${version} from the npm registry into ${dir}`);
    // Unpacked in a scratch folder and renamed into place once it runs, so a killed fetch leaves nothing later runs trust.
    const scratch = mkdtempSync(join(cache, `.node-${version}-`));
    try {
      await run("npm", ["pack", `${pkg}@${version}`, "--pack-destination", scratch, "--silent"], scratch,
        `no ${pkg}@${version} on the npm registry: set IMAGE_NODE to a Node.js ${version} binary`);
      const tarball = readdirSync(scratch).find((name) => name.endsWith(".tgz"));
      if (!tarball) throw new Error(`npm pack ${pkg}@${version} wrote no tarball`);
      await run("tar", ["-xzf", tarball], scratch, "`tar` is needed to unpack it");
      const unpacked = join(scratch, "package");
      checkVersion(join(unpacked, "bin", "node"), version);
      // Only the binary is used: the C headers and docs (60 MB) are not kept.
      for (const unused of ["include", "share"]) rmSync(join(unpacked, unused), { recursive: true, force: true });
      try {
        renameSync(unpacked, dir);
      } catch (error) {
        if (!existsSync(binary)) throw error; // another run put the same version in place meanwhile
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return binary;
}

/** Throws unless `binary` runs and is Node.js `version`. */
export function checkVersion(binary: string, version: string): void {
  const actual = execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
  if (actual !== `v${version}`) throw new Error(`${binary} is Node.js ${actual}, not v${version} as collector/Dockerfile pins`);
}

function run(command: string, args: string[], cwd: string, hint: string): Promise<void> {
  return new Promise((done, fail) => {
    let output = "";
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => { output += String(chunk); });
    child.stderr.on("data", (chunk) => { output += String(chunk); });
    child.once("error", (error) => fail(new Error(`${command} ${args.join(" ")}: ${error.message} (${hint})`)));
    child.once("exit", (code) => code === 0 ? done() : fail(new Error(`${command} ${args.join(" ")} failed (exit ${code}; ${hint}):\n${output.trim().slice(-2000)}`)));
  });
}

if (require.main === module) {
  ensureImageNode({ log: (line) => console.error(line) }).then((path) => console.log(path), (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
