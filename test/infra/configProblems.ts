// What the config check says about a raw config: every problem (it must reject), or the single one naming `key`.
import assert from "node:assert/strict";
import { ConfigError, parseConfig, type ParseContext } from "../../infra/config";

export const CONTEXT: ParseContext = { project: "flowlogs-to-elastic", stack: "dev" };

export function problems(raw: Record<string, unknown>, context: ParseContext = CONTEXT): string[] {
  try {
    parseConfig(raw, context);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail("expected the config to be rejected");
}

export function only(raw: Record<string, unknown>, key: string, context?: ParseContext): string {
  const found = problems(raw, context);
  assert.equal(found.length, 1, `expected one problem, got:\n${found.join("\n")}`);
  assert.ok(found[0]!.startsWith(`${key}: `), `problem should name ${key}: ${found[0]}`);
  return found[0]!;
}
