// Child-process entry (one stack per process: Node caches the program module): previews the WHOLE program
// (infra/index.ts) on the real engine, with the stand-in azure-native and docker plugins on PATH, for one stack
// file, and prints one line `RESULT_MARKER <json>`: { resources: [{ type, name, parent, ops }] } or
// { error: "<the CLI's output>" } (the marker keeps it apart from anything the program itself prints).
//   node --import tsx test/engine/support/previewProgram.ts <stack> <Pulumi.<stack>.yaml>
import { join, resolve } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { loadStackConfigFiles } from "../../../infra/plan/stackFile";
import { withSecretStandIns } from "../../../infra/plan/mockRun";
import { engineStack, STAND_IN_PROVIDERS } from "./engineStack";

const root = resolve(__dirname, "..", "..", "..");

export const RESULT_MARKER = "ENGINE-PREVIEW-RESULT";

/** `ops`: every step the engine previewed for it, in order (an import can be followed by an update). */
export interface EngineResource { type: string; name: string; parent: string | null; ops: string[] }

async function main(): Promise<void> {
  const [stackName, configFile] = process.argv.slice(2);
  if (!stackName || !configFile) throw new Error("usage: previewProgram.ts <stack> <Pulumi.<stack>.yaml>");
  const settings = loadStackConfigFiles({ stack: stackName, dir: root, configFile: resolve(configFile) });
  const engine = await engineStack({
    projectName: settings.project,
    stackName,
    program: async () => ({ ...(await import(join(root, "infra", "index.ts"))) }),
    copyIn: { "Pulumi.yaml": join(root, "Pulumi.yaml"), [`Pulumi.${stackName}.yaml`]: resolve(configFile) },
    pathDirs: [STAND_IN_PROVIDERS],
    // The stand-in finds the config's flow log targets in the stack's region, unless the test put them elsewhere.
    env: { STAND_IN_REGION: process.env.STAND_IN_REGION ?? String(settings.config[`${settings.project}:location`] ?? "") },
  });
  // Stopped by the test (a timeout): stop the `pulumi` this process started before going.
  process.once("SIGTERM", () => void engine.close().finally(() => process.exit(143)));
  try {
    // Committed stack files hold no secrets; set the ones the config needs, as `npm run plan` stands them in.
    const { config } = withSecretStandIns(settings);
    for (const [key, value] of Object.entries(config)) {
      if (settings.config[key] === undefined) await engine.stack.setConfig(key, { value, secret: true });
    }
    const resources = new Map<string, EngineResource>();
    const onEvent = (event: EngineEvent): void => {
      const step = event.resourcePreEvent?.metadata;
      if (!step || step.type === "pulumi:pulumi:Stack" || step.type.startsWith("pulumi:providers:")) return;
      const parentUrn = step.new?.parent ?? step.old?.parent ?? "";
      const parentIsStack = !parentUrn || parentUrn.split("::")[2] === "pulumi:pulumi:Stack";
      const seen = resources.get(step.urn);
      resources.set(step.urn, {
        type: step.type,
        name: step.urn.slice(step.urn.lastIndexOf("::") + 2),
        parent: parentIsStack ? null : parentUrn.slice(parentUrn.lastIndexOf("::") + 2),
        ops: [...(seen?.ops ?? []), step.op],
      });
    };
    try {
      await engine.stack.preview({ onEvent, signal: engine.signal });
    } catch (error) {
      process.stdout.write(`${RESULT_MARKER} ${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
      return;
    }
    process.stdout.write(`${RESULT_MARKER} ${JSON.stringify({ resources: [...resources.values()] })}\n`);
  } finally {
    await engine.close();
  }
}

if (require.main === module) main().then(() => process.exit(0), (error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
