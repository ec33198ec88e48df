// A region whose Network Watcher does not exist (Azure's automatic creation switched off, or the watcher deleted),
// under the REAL Pulumi engine against the ARM contract double (test/engine/standInProviders/armRules.ts): the lookup
// fails in an output of the component, and what the user reads must be the program's message naming the keys that
// fix it, for preview and for up, with nothing created in Azure. The engine shows it after "error serializing property
// "outputs":", once per output that carries the lookup (support/programRejections.ts: the same error reaching this process).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pulumiCli } from "../support/env";
import type { EngineStack } from "./support/engineStack";
import { armState, configureNorthEurope, foundationStack } from "./support/foundationStack";
import { keepProgramRejections, type ProgramRejections } from "../support/programRejections";

const TIMEOUT = 180_000;

describe("a missing Network Watcher, on the real engine against the ARM contract double", { timeout: TIMEOUT * 3 }, () => {
  let engine: EngineStack;
  let scratch: string;
  let armFile: string;
  let rejections: ProgramRejections | undefined;

  before(async () => {
    rejections = keepProgramRejections();
    pulumiCli(); // fails first, and clearly, outside `npm test`
    scratch = mkdtempSync(join(tmpdir(), "flowlogs-watcher-missing-"));
    armFile = join(scratch, "arm.json");
    engine = await foundationStack({ stackName: "nowatcher", armFile });
    await configureNorthEurope(engine, "flowlogsnowatch01");
  });

  after(async () => {
    await engine?.close();
    rejections?.restore();
    rmSync(scratch, { recursive: true, force: true });
  });

  for (const operation of ["preview", "up"] as const) {
    test(`contract: ${operation} fails with the program's message: the watcher, its group, and the keys that fix it`, { timeout: TIMEOUT }, async () => {
      const error = await engine.stack[operation]({ signal: engine.signal }).then(() => undefined, (e: unknown) => String(e));
      assert.ok(error, `${operation} must fail`);
      assert.match(error, /networkWatcher: the Network Watcher "NetworkWatcher_northeurope" in resource group "NetworkWatcherRG" does not exist/, error);
      assert.match(error, /networkWatcher\.create: true/);
      assert.match(error, /Azure answered: .*ResourceNotFound|Azure answered: .*was not found/);
      assert.match(error, /error serializing property "outputs": networkWatcher: /, "how the engine shows an error in a component's outputs");
      for (const reason of rejections!.take()) assert.match(reason, /networkWatcher: the Network Watcher "NetworkWatcher_northeurope"/, "no other error in the program");
      const { resources } = armState(armFile);
      assert.deepEqual(Object.values(resources).filter((r) => /NetworkWatcher|FlowLog/i.test(r.type)), [], "no watcher or flow log made");
    });
  }
});
