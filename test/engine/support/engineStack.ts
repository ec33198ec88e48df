// One stack on the REAL Pulumi engine (the CLI test/run.ts built), driven through the Automation API with an inline
// program, so no Node.js language host is needed (none can be had here). Everything lives in a fresh temp folder:
// PULUMI_HOME, a file:// backend and the workspace; secrets use the passphrase provider. A killed `pulumi` leaves a
// lock in its backend, so nothing is ever shared between stacks. Node caches the program module a stack imports:
// ONE stack per process.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation";
import { pulumiCli } from "../../support/env";

const root = resolve(__dirname, "..", "..", "..");
/** Holds `pulumi-resource-pulumi-nodejs`, the host of dynamic providers, which must be on PATH beside `pulumi`. */
const dynamicProviderHost = join(root, "node_modules", "@pulumi", "pulumi");
/** The stand-in `pulumi-resource-azure-native` and `pulumi-resource-docker` (see that folder's README). */
export const STAND_IN_PROVIDERS = join(root, "test", "engine", "standInProviders", "bin");

export interface EngineStackOptions {
  projectName: string;
  stackName: string;
  program: PulumiFn;
  /** Files copied into the workspace before the stack is made: { "Pulumi.yaml": "<path>", ... }. */
  copyIn?: Record<string, string>;
  /** Folders put on PATH ahead of everything else, e.g. STAND_IN_PROVIDERS. */
  pathDirs?: string[];
  /** More environment for the CLI and the plugins it starts, e.g. the stand-in's STAND_IN_ARM_STATE. */
  env?: Record<string, string>;
}

export interface EngineStack {
  stack: Stack;
  /** Passed to every operation: `close()` aborts what still runs (the CLI gets SIGINT). */
  signal: AbortSignal;
  /** The raw checkpoint the file backend wrote for this stack. */
  stateFile(): string;
  /** Aborts running operations and deletes the temp folder. */
  close(): Promise<void>;
}

export const PASSPHRASE = "engine-test-passphrase";

export async function engineStack(options: EngineStackOptions): Promise<EngineStack> {
  const cli = pulumiCli();
  const base = mkdtempSync(join(tmpdir(), "flowlogs-engine-"));
  const [home, state, work] = ["home", "state", "work"].map((name) => join(base, name));
  for (const dir of [home, state, work]) mkdirSync(dir);
  for (const [name, source] of Object.entries(options.copyIn ?? {})) copyFileSync(source, join(work, name));
  const aborter = new AbortController();
  const envVars: Record<string, string> = {
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // The provider host resolves @pulumi/pulumi (and the serialized providers their requires) from its working
    // directory, the temp workspace: point Node at the project's packages.
    NODE_PATH: join(root, "node_modules"),
    PATH: [...(options.pathDirs ?? []), dirname(cli), dynamicProviderHost, process.env.PATH ?? ""].join(":"),
    ...options.env,
  };
  try {
    // PulumiCommand.get expects <root>/bin/pulumi, the layout scripts/pulumi-cli.ts installs.
    const pulumiCommand = await PulumiCommand.get({ root: dirname(dirname(cli)) });
    const stack = await LocalWorkspace.createOrSelectStack(
      { projectName: options.projectName, stackName: options.stackName, program: options.program },
      { workDir: work, envVars, pulumiCommand, secretsProvider: "passphrase" },
    );
    return {
      stack,
      signal: aborter.signal,
      stateFile: () => findStateFile(state, options.stackName),
      close: async () => {
        aborter.abort();
        rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(base, { recursive: true, force: true });
    throw error;
  }
}

function findStateFile(state: string, stackName: string): string {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === `${stackName}.json`) found.push(path);
    }
  };
  const stacks = join(state, ".pulumi", "stacks");
  if (existsSync(stacks)) walk(stacks);
  if (found.length !== 1) throw new Error(`expected one checkpoint for stack ${stackName} under ${stacks}, found ${found.length}`);
  return found[0]!;
}
