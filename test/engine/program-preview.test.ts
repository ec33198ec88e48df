// The whole program under the REAL Pulumi engine: `preview` of the shipped dev and prod examples with stand-in
// azure-native and docker plugins (test/engine/standInProviders), compared with the offline plan (`npm run plan`),
// which runs under Pulumi's mocks. So the plan that reviewers read is checked by the engine itself: same resources,
// same types, same parents; and a bad config fails the real CLI with the plan's own messages.
// Each preview runs in its own process (Node caches the program module, one stack per process).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { pulumiCli } from "../support/env";
import { RESULT_MARKER, type EngineResource } from "./support/previewProgram";
import { exampleStackFile } from "../support/exampleStacks";

const root = resolve(__dirname, "..", "..");
const TIMEOUT = 240_000;

interface Run { code: number | null; stdout: string; stderr: string }

/** Children still running (a timed-out test): stopped in `after`; each stops the `pulumi` it started on SIGTERM. */
const running = new Set<ChildProcess>();

function node(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: root, env: { ...process.env, PULUMI_CLI: pulumiCli(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => { stdout += String(chunk); });
    child.stderr.on("data", (chunk) => { stderr += String(chunk); });
    running.add(child);
    child.once("error", fail);
    child.once("exit", (code) => {
      running.delete(child);
      done({ code, stdout, stderr });
    });
  });
}

async function enginePreview(stack: string, configFile: string, env?: Record<string, string>): Promise<{ resources?: EngineResource[]; error?: string }> {
  const run = await node(["test/engine/support/previewProgram.ts", stack, configFile], env);
  const line = run.stdout.split("\n").find((l) => l.startsWith(`${RESULT_MARKER} `));
  assert.ok(line, `the engine preview printed no result (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  return JSON.parse(line.slice(RESULT_MARKER.length + 1));
}

async function offlinePlan(stack: string, configFile?: string): Promise<Run> {
  return node(["scripts/plan.ts", "--stack", stack, "--json", ...(configFile ? ["--config-file", configFile] : [])]);
}

const key = (r: { type: string; name: string; parent: string | null }) => `${r.type} ${r.name} <- ${r.parent ?? "(stack)"}`;

async function assertSameResources(stack: string, configFile: string): Promise<EngineResource[]> {
  const [engine, plan] = await Promise.all([enginePreview(stack, configFile), offlinePlan(stack, configFile)]);
  assert.equal(engine.error, undefined, `the real engine's preview of ${stack} failed:\n${engine.error}`);
  assert.equal(plan.code, 0, plan.stderr);
  const planned = (JSON.parse(plan.stdout) as EngineResource[]).map(key).sort();
  const previewed = engine.resources!.map(key).sort();
  assert.deepEqual(previewed, planned);
  return engine.resources!;
}

describe("the whole program under the real Pulumi engine (stand-in azure-native and docker plugins)", { timeout: TIMEOUT * 3 }, () => {
  let scratch: string;
  before(() => { scratch = mkdtempSync(join(tmpdir(), "flowlogs-engine-preview-")); });
  after(() => {
    for (const child of running) child.kill("SIGTERM");
    rmSync(scratch, { recursive: true, force: true });
  });

  test("preview of the dev stack lists exactly the resources `npm run plan` lists: types, names, parents", { timeout: TIMEOUT }, async () => {
    const resources = await assertSameResources("dev", exampleStackFile("dev"));
    assert.deepEqual(resources.filter((r) => r.ops.join() !== "create").map(key), [], "a new stack only creates");
  });

  test("preview of the prod stack lists exactly the resources `npm run plan` lists", { timeout: TIMEOUT }, async () => {
    const resources = await assertSameResources("prod", exampleStackFile("prod"));
    assert.deepEqual(resources.filter((r) => r.ops.join() !== "create").map(key), [], "a new stack only creates");
  });

  test("a stack adopting an existing NSG flow log (shared keys on, as adoption needs) previews it as an import", { timeout: TIMEOUT }, async () => {
    // Prod itself no longer adopts (its account has no keys, which NSG flow logs need to write); a variant does.
    const prod = parse(readFileSync(exampleStackFile("prod"), "utf8"));
    prod.config["flowlogs-to-elastic:storage"] = { ...prod.config["flowlogs-to-elastic:storage"], allowSharedKeyAccess: true };
    prod.config["flowlogs-to-elastic:flowLogs"].push({
      targetResourceId: "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-legacy-prod/providers/Microsoft.Network/networkSecurityGroups/nsg-legacy",
      adoptExisting: { flowLogName: "nsg-legacy-rg-legacy-prod-flowlog" },
    });
    const file = join(scratch, "Pulumi.adopting.yaml");
    writeFileSync(file, stringify(prod));
    const resources = await assertSameResources("adopting", file);
    const adopted = resources.filter((r) => r.name.startsWith("adopted-nsg-"));
    assert.equal(adopted.length, 1);
    // The engine imports first; an update may follow (Pulumi 3.276 imports resources whose inputs differ and then
    // updates them, and the stand-in's read knows no more of the existing flow log than its id).
    assert.equal(adopted[0]!.ops[0], "import");
    assert.deepEqual(resources.filter((r) => r !== adopted[0] && r.ops.join() !== "create").map(key), [], "everything else is created");
  });

  test("a flow log target outside the stack's region fails the real CLI's preview, naming its entry", { timeout: TIMEOUT }, async () => {
    // The stand-in "Azure" has the prod stack's VNets in westeurope; the stack's location is northeurope.
    const engine = await enginePreview("prod", exampleStackFile("prod"), { STAND_IN_REGION: "westeurope" });
    assert.ok(engine.error, "the preview must fail");
    assert.match(engine.error, /flowLogs\[0\]\.targetResourceId: \/subscriptions\/11111111-2222-3333-4444-555555555555\/resourceGroups\/rg-network-prod\/providers\/Microsoft\.Network\/virtualNetworks\/vnet-hub-prod is in westeurope, and this stack's location is northeurope/);
  });

  test("a config error fails the real CLI's preview with the same messages as the offline plan's", { timeout: TIMEOUT }, async () => {
    const dev = parse(readFileSync(exampleStackFile("dev"), "utf8"));
    dev.config["flowlogs-to-elastic:storage"] = { accountName: "Flow_Logs", colour: "blue" };
    dev.config["flowlogs-to-elastic:retentionDays"] = 400;
    const bad = join(scratch, "Pulumi.broken.yaml");
    writeFileSync(bad, stringify(dev));
    const [engine, plan] = await Promise.all([enginePreview("broken", bad), offlinePlan("broken", bad)]);
    assert.equal(plan.code, 1);
    const message = /plan failed: ([\s\S]*)$/.exec(plan.stderr.trim())?.[1];
    assert.ok(message, `the plan printed no config error:\n${plan.stderr}`);
    const problems = message.split("\n").map((line) => line.trim().replace(/^- /, "")).filter((line) => /^(storage|retentionDays)/.test(line));
    assert.ok(problems.length >= 3, `expected the plan to name each bad key:\n${message}`);
    assert.ok(engine.error, "the real engine's preview must fail");
    for (const problem of problems) assert.ok(engine.error.includes(problem), `the CLI's output lacks "${problem}":\n${engine.error}`);
  });
});
