// The dev and prod stack files as this repository ships them, kept here for the tests that check what those examples
// plan. The stack files at the top level are the user's: the README has them edited (account names, VNet ids,
// regions) and the deploy workflow runs `npm test` before `pulumi up`, so no test may depend on their values; those
// files are only checked to be valid (test/infra/project-files.test.ts).
import { join, resolve } from "node:path";
import { loadStackConfigFiles, type StackConfig } from "../../infra/plan/stackFile";

const ROOT = resolve(__dirname, "..", "..");

export type ExampleStack = "dev" | "prod";

/** The shipped example `Pulumi.<stack>.yaml`. */
export function exampleStackFile(stack: ExampleStack): string {
  return join(ROOT, "test", "fixtures", "stacks", `Pulumi.${stack}.yaml`);
}

/** The example's flat config, with the project's Pulumi.yaml defaults under it, as `npm run plan` reads it. */
export function loadExampleStack(stack: ExampleStack): StackConfig {
  return loadStackConfigFiles({ stack, dir: ROOT, configFile: exampleStackFile(stack) });
}

/** `--stack <stack> --config-file <the example>`, for `npm run plan` and `npm run writer-key`. */
export function exampleStackArgs(stack: ExampleStack): string[] {
  return ["--stack", stack, "--config-file", exampleStackFile(stack)];
}
