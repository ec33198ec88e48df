// A private temporary directory for one test, removed when the test ends (passed or failed), so repeated runs leave
// nothing behind in the machine's temp folder.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

/** `parent`: where to make it, e.g. inside the checkout for JavaScript that must resolve the project's node_modules. */
export function scratchDir(t: TestContext, prefix: string, parent = tmpdir()): string {
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
