// Which Node.js the collector's tests and the bench run on comes from collector/Dockerfile's FROM lines: one full
// version in every stage, or a clear error naming the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkVersion, imageNodeVersion } from "../../scripts/image-node";
import { scratchDir } from "../support/scratchDir";

test("the image's Node.js version is the one full version every FROM pins", (t) => {
  const dir = scratchDir(t, "image-node-");
  const dockerfile = (name: string, ...froms: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, `${froms.map((from, i) => `FROM ${from}${i < froms.length - 1 ? ` AS stage${i}` : ""}\nRUN true\n`).join("")}`);
    return path;
  };
  assert.equal(imageNodeVersion(dockerfile("pinned", "node:22.23.2-bookworm-slim", "node:22.23.2-bookworm-slim")), "22.23.2");
  assert.match(imageNodeVersion(), /^22\.\d+\.\d+$/, "collector/Dockerfile itself");
  const fix = /every FROM must name one full Node\.js version, e\.g\. node:22\.23\.2-bookworm-slim/;
  assert.throws(() => imageNodeVersion(dockerfile("floating", "node:22-bookworm-slim")), fix, "a floating major is refused");
  assert.throws(() => imageNodeVersion(dockerfile("mixed", "node:22.23.2-bookworm-slim", "node:22.23.1-bookworm-slim")), fix, "stages on two versions");
  assert.throws(() => imageNodeVersion(dockerfile("other", "debian:bookworm-slim")), fix);
  assert.throws(() => imageNodeVersion(dockerfile("empty")), /found no FROM/);
});

test("a binary of another version is refused, naming both", () => {
  assert.throws(() => checkVersion(process.execPath, "0.0.1"), new RegExp(`is Node\\.js ${process.version.replace(/\./g, "\\.")}, not v0\\.0\\.1`));
  assert.doesNotThrow(() => checkVersion(process.execPath, process.version.slice(1)));
});
