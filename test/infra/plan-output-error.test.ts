// The offline plan when the program fails inside an output (a lookup that throws, as the Network Watcher checks do):
// it used to wait for the output for ever, Node's loop drained, and `npm run plan` exited 0 printing nothing. And
// the program module as Node 24 can hand it over, with a self-referencing "module.exports" entry among its exports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { runProgramUnderMocks } from "../../infra/plan/mockRun";
import { keepProgramRejections } from "../support/programRejections";

test("a program failing inside an output rejects the plan with the program's error", async (t) => {
  // The program runs in this process: its output's rejection reaches node:test's hook too (support/programRejections.ts).
  const rejections = keepProgramRejections();
  t.after(() => rejections.restore());
  const plan = runProgramUnderMocks({
    project: "flowlogs-to-elastic", stack: "output-fails", config: {}, standInMissingSecrets: false,
    program: resolve(__dirname, "fixtures", "outputFailsProgram.ts"),
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    plan.then(() => "resolved", (error: unknown) => String(error)),
    new Promise<string>((done) => { timer = setTimeout(() => done("still waiting"), 10_000); }),
  ]);
  clearTimeout(timer);
  assert.match(outcome, /the lookup inside this output failed/);
  for (const reason of rejections.take()) assert.match(reason, /the lookup inside this output failed/);
});

test("a program module with Node 24's \"module.exports\" entry plans its named outputs only", async () => {
  const plan = await runProgramUnderMocks({
    project: "flowlogs-to-elastic", stack: "module-exports", config: {}, standInMissingSecrets: false,
    program: resolve(__dirname, "fixtures", "moduleExportsProgram.cjs"),
  });
  assert.deepEqual(plan.outputs, { region: "westeurope" });
});
