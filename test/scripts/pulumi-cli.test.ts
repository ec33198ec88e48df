// scripts/pulumi-cli.ts without a build (the build itself runs once per machine, through test/run.ts, for the
// engine tests): which version it builds, that a built CLI is reused, and that a build that cannot run says why and
// leaves no scratch folders behind.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensurePulumiCli, pinnedPulumiVersion } from "../../scripts/pulumi-cli";

const root = resolve(__dirname, "..", "..");
let scratch: string;
const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, TMPDIR: process.env.TMPDIR, PATH: process.env.PATH };

before(() => {
  scratch = mkdtempSync(join(tmpdir(), "flowlogs-pulumi-cli-test-"));
  process.env.XDG_CACHE_HOME = join(scratch, "cache");
  process.env.TMPDIR = join(scratch, "tmp");
  mkdirSync(process.env.TMPDIR);
});
after(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(scratch, { recursive: true, force: true });
});

test("the CLI is built at the version of @pulumi/pulumi that package.json and the lockfile pin", () => {
  const installed = JSON.parse(readFileSync(join(root, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version;
  const declared = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];
  assert.equal(pinnedPulumiVersion(), installed);
  assert.equal(pinnedPulumiVersion(), declared);
  const lock = join(scratch, "package-lock.json");
  writeFileSync(lock, JSON.stringify({ packages: { "node_modules/@pulumi/pulumi": { version: "^3.0.0" } } }));
  assert.throws(() => pinnedPulumiVersion(lock), /pins no plain version of @pulumi\/pulumi \(found \^3\.0\.0\): run npm install/);
});

test("a CLI already built for the version is reused: no Go, no build", async () => {
  const bin = join(process.env.XDG_CACHE_HOME!, "flowlogs-to-elastic", "pulumi-9.9.9", "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "pulumi"), "#!/bin/sh\necho v9.9.9\n");
  chmodSync(join(bin, "pulumi"), 0o755);
  process.env.PATH = join(scratch, "no-go-here");
  const lines: string[] = [];
  try {
    assert.equal(await ensurePulumiCli({ version: "9.9.9", log: (line) => lines.push(line) }), join(bin, "pulumi"));
  } finally {
    process.env.PATH = saved.PATH;
  }
  assert.deepEqual(lines, []);
});

test("without Go the build fails with what to install, and leaves no scratch folder behind", async () => {
  process.env.PATH = join(scratch, "no-go-here");
  const lines: string[] = [];
  try {
    await assert.rejects(ensurePulumiCli({ version: "9.9.8", log: (line) => lines.push(line) }), /`go` is not installed: .*Go 1\.24 or newer/);
  } finally {
    process.env.PATH = saved.PATH;
  }
  assert.match(lines[0]!, /building the Pulumi CLI v9\.9\.8 from the Go module proxy/);
  const cache = join(process.env.XDG_CACHE_HOME!, "flowlogs-to-elastic");
  assert.deepEqual(readdirSync(cache).filter((name) => name.includes("9.9.8")), [], "no half-built CLI in the cache");
  assert.deepEqual(readdirSync(process.env.TMPDIR!), [], "the Go work folder is gone");
});
