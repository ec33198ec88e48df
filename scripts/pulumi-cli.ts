// Builds the Pulumi CLI (the engine) from the Go module proxy, once per machine, into
// `${XDG_CACHE_HOME:-~/.cache}/flowlogs-to-elastic/pulumi-<version>/bin/pulumi` (the layout the Automation API's
// `PulumiCommand.get({ root })` expects), and reuses it on every later run.
// The version is the one of the pinned npm @pulumi/pulumi (read from package-lock.json), so the engine and the SDK
// the program runs on always agree. No CLI can be downloaded on the project's machines, and `go install` refuses
// pulumi's module (it carries a replace directive), so the build goes through a throwaway wrapper module.
//
//   node --import tsx scripts/pulumi-cli.ts     prints the binary's path (building it first when it is missing)
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..");

/** The version of @pulumi/pulumi that package-lock.json pins; the CLI is built at the same version. */
export function pinnedPulumiVersion(lockFile = join(root, "package-lock.json")): string {
  const lock = JSON.parse(readFileSync(lockFile, "utf8")) as { packages?: Record<string, { version?: string }> };
  const version = lock.packages?.["node_modules/@pulumi/pulumi"]?.version;
  if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`package-lock.json pins no plain version of @pulumi/pulumi (found ${version ?? "none"}): run npm install`);
  }
  return version;
}

export function pulumiCliDir(version = pinnedPulumiVersion()): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "flowlogs-to-elastic", `pulumi-${version}`);
}

export interface PulumiCliOptions {
  version?: string;
  /** Progress lines while building (stages, and a line every `progressEveryMs` during the long compile). */
  log?: (line: string) => void;
  progressEveryMs?: number;
}

/** Path of the cached `pulumi` binary, building it first when this machine has none of that version. */
export async function ensurePulumiCli(options: PulumiCliOptions = {}): Promise<string> {
  const version = options.version ?? pinnedPulumiVersion();
  const log = options.log ?? (() => {});
  const dir = pulumiCliDir(version);
  const binary = join(dir, "bin", "pulumi");
  if (existsSync(binary)) return binary;

  const cache = resolve(dir, "..");
  mkdirSync(cache, { recursive: true });
  // Everything goes to scratch folders: the binary is renamed into place only once it runs, so a killed build never
  // leaves a half-built CLI that later runs would trust; the Go caches (up to 3.5 GB) are deleted whatever happens.
  const staging = mkdtempSync(join(cache, `.pulumi-${version}-build-`));
  const goWork = mkdtempSync(join(tmpdir(), "flowlogs-pulumi-go-"));
  const started = Date.now();
  // An interrupted run (Ctrl-C: the runner exits from its signal handler) skips `finally`; 'exit' still runs.
  const removeScratch = (): void => {
    rmSync(staging, { recursive: true, force: true });
    rmSync(goWork, { recursive: true, force: true });
  };
  process.once("exit", removeScratch);
  try {
    mkdirSync(join(staging, "bin"));
    const wrapper = join(goWork, "wrapper");
    mkdirSync(wrapper);
    writeWrapperModule(wrapper, version);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GOMODCACHE: join(goWork, "mod"),
      GOCACHE: join(goWork, "build"),
      GOPATH: join(goWork, "path"),
      // -p=2: two compile jobs on a shared 2-core machine; -modcacherw so the module cache can be deleted afterwards.
      GOFLAGS: "-p=2 -modcacherw -buildvcs=false",
      GOTOOLCHAIN: "local",
      CGO_ENABLED: "0",
    };
    log(`building the Pulumi CLI v${version} from the Go module proxy into ${dir} (once per machine: 6 to 15 minutes on 2 cores, up to 2 GB of memory and 3.5 GB of scratch disk)`);
    log("resolving modules (go mod tidy)");
    await runGo(["mod", "tidy"], wrapper, env, () => {});
    let compiled = 0;
    const ticker = setInterval(() => {
      log(`compiling: ${compiled} packages done, ${Math.round((Date.now() - started) / 1000)} s elapsed`);
    }, options.progressEveryMs ?? 20_000);
    try {
      await runGo([
        "build", "-v", "-ldflags",
        // Without the version stamp `pulumi version` prints an empty line (and the engine reports no version).
        `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${version}`,
        "-o", join(staging, "bin", "pulumi"), "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
      ], wrapper, env, () => { compiled += 1; });
    } finally {
      clearInterval(ticker);
    }
    const printed = (await capture(join(staging, "bin", "pulumi"), ["version"])).trim();
    if (printed !== `v${version}`) throw new Error(`the built CLI reports version "${printed}", expected v${version}`);
    chmodSync(staging, 0o755); // mkdtemp made it private
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another run finished the same build first: keep its binary.
      if (!existsSync(binary)) throw error;
    }
    log(`built the Pulumi CLI v${version} in ${Math.round((Date.now() - started) / 1000)} s: ${binary}`);
    return binary;
  } finally {
    process.off("exit", removeScratch);
    log("deleting the temporary Go caches (a minute or two)");
    removeScratch();
  }
}

function writeWrapperModule(dir: string, version: string): void {
  writeFileSync(join(dir, "go.mod"), [
    "module flowlogs-to-elastic/pulumi-cli",
    "",
    "go 1.24",
    "",
    "require (",
    `\tgithub.com/pulumi/pulumi/pkg/v3 v${version}`,
    `\tgithub.com/pulumi/pulumi/sdk/v3 v${version}`,
    ")",
    "",
    // The same replace pulumi's own pkg/go.mod carries; replaces do not travel with a dependency.
    "replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e",
    "",
  ].join("\n"));
  writeFileSync(join(dir, "tools.go"), [
    "//go:build tools",
    "",
    "package tools",
    "",
    `import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"`,
    "",
  ].join("\n"));
}

function runGo(args: string[], cwd: string, env: NodeJS.ProcessEnv, onLine: (line: string) => void): Promise<void> {
  return new Promise((done, fail) => {
    let tail = "";
    const child = spawn("go", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const collect = (chunk: Buffer): void => {
      const text = String(chunk);
      tail = (tail + text).slice(-4000);
      for (const line of text.split("\n")) if (line.trim()) onLine(line);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", (error: NodeJS.ErrnoException) => {
      fail(error.code === "ENOENT"
        ? new Error("`go` is not installed: the tests build the Pulumi CLI from the Go module proxy and need Go 1.24 or newer (https://go.dev/dl), or put a pulumi binary of the pinned version on PULUMI_CLI")
        : error);
    });
    child.once("exit", (code, signal) => {
      if (code === 0) done();
      else fail(new Error(`go ${args.slice(0, 2).join(" ")} failed (${signal ?? `exit ${code}`}):\n${tail.trim()}`));
    });
  });
}

function capture(command: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    let out = "";
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "1" } });
    child.stdout.on("data", (chunk) => { out += String(chunk); });
    child.once("error", fail);
    child.once("exit", () => done(out));
  });
}

if (require.main === module) {
  ensurePulumiCli({ log: (line) => console.error(`pulumi cli: ${line}`) }).then(
    (binary) => console.log(binary),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
