// scripts/bench/heapPerJob.ts --dist: its figures describe what ships only if the measured process runs the built
// JavaScript on the image's Node.js with no tsx loader on its heap, and a directory without a build is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { imageNodeVersion } from "../../scripts/image-node";
import { imageMemoryEnvironment, imageNodeFlags } from "../../scripts/bench/imageRuntime";
import { scratchDir } from "../support/scratchDir";

const ROOT = resolve(__dirname, "..", "..");
const SOURCES = join(ROOT, "collector", "src");
const heapPerJob = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "bench", "heapPerJob.ts"), ...args], { cwd: ROOT, encoding: "utf8" });

/** The collector's sources as CommonJS, file by file, as its build emits them (without the type check: seconds, not ten). */
function transpileCollector(outDir: string): void {
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []);
  for (const file of walk(SOURCES)) {
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: file,
    });
    const out = join(outDir, relative(SOURCES, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
}

test("--dist runs the poll loop of the built collector on the image's Node.js without tsx", (t) => {
  // In the checkout (its ignored .cache), so the build's requires find the project's node_modules.
  const dist = scratchDir(t, "heap-dist-", join(ROOT, ".cache"));
  transpileCollector(dist);
  const run = heapPerJob("--mode", "append", "--blobs", "1", "--rounds", "4", "--dist", dist);
  assert.equal(run.status, 0, run.stderr);
  const measured = /bench: measured process: (.*)/.exec(run.stderr)?.[1];
  assert.ok(measured, run.stderr);
  assert.ok(measured.startsWith(`Node.js v${imageNodeVersion()} ${[...imageNodeFlags(), "--expose-gc"].join(" ")} NODE_OPTIONS=${imageMemoryEnvironment().NODE_OPTIONS} `), measured);
  assert.doesNotMatch(measured, /tsx/);
  assert.ok(measured.endsWith(`modules ${dist}`), measured);
  assert.match(run.stdout, /^jobs: 4$/m);
  assert.match(run.stdout, /^heap_used_kib_by_quarter: 0 {2}# 0: \d+, 1: \d+, 2: \d+, 3: \d+, 4: \d+$/m);
});

test("--dist naming a directory without a build is refused before anything starts, with the command that builds one", (t) => {
  const run = heapPerJob("--dist", scratchDir(t, "heap-nodist-"));
  assert.equal(run.status, 2);
  assert.match(run.stderr, /--dist .* holds no built collector \(service\/collector\.js\): build it with `npm run build --workspace collector`/);
  assert.doesNotMatch(run.stderr, /bench: /, "no Azurite, no measured process");
});
