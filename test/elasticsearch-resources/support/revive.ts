// A provider as Pulumi runs it at deploy time: closure-serialized into the state, then evaluated from that text.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";

export async function reviveProvider<T extends object>(provider: T): Promise<T> {
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  assert.equal(serialized.containsSecrets, false, "the serialized provider carries no secret");
  const module = { exports: {} as Record<string, () => T> };
  new Function("module", "exports", "require", serialized.text)(module, module.exports, require);
  return module.exports[serialized.exportName]!();
}
