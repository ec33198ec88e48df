// Helpers for infra tests: run the offline plan script in its own process (one Pulumi mock run per process) and
// write throw-away stack files.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import type { PlannedResource } from "../../infra/plan/mockRun";

export const ROOT = resolve(__dirname, "..", "..");
export const PROJECT = "flowlogs-to-elastic";
export const SUB = "11111111-2222-3333-4444-555555555555";
export const vnetId = (name: string, rg = "rg-net") =>
  `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/${name}`;
export const nsgId = (name: string, rg = "rg-net") =>
  `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Network/networkSecurityGroups/${name}`;

export interface PlanRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runPlan(args: string[]): Promise<PlanRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "plan.ts"), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => { stdout += String(c); });
    child.stderr.on("data", (c) => { stderr += String(c); });
    child.once("error", fail);
    child.once("exit", (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

/** Plans a stack whose project config (unqualified keys) is `config`, returning the --json resources. */
export async function planJson(config: Record<string, unknown>): Promise<PlannedResource[]> {
  return JSON.parse(await planOutput(config, ["--json"])) as PlannedResource[];
}

/** The readable plan (tree, lookups, outputs) of a stack whose project config is `config`. */
export function planText(config: Record<string, unknown>): Promise<string> {
  return planOutput(config, []);
}

async function planOutput(config: Record<string, unknown>, args: string[]): Promise<string> {
  const file = writeStackFile(config);
  try {
    const run = await runPlan(["--stack", "test", ...args, "--config-file", file.path]);
    if (run.code !== 0) throw new Error(`plan exited ${run.code}: ${run.stderr}`);
    return run.stdout;
  } finally {
    file.remove();
  }
}

export function writeStackFile(config: Record<string, unknown>): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "flowlogs-plan-"));
  const path = join(dir, "Pulumi.test.yaml");
  const qualified = Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${PROJECT}:${k}`, v]));
  writeFileSync(path, stringify({ config: qualified }));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);
export const one = (resources: PlannedResource[], type: string): PlannedResource => {
  const found = ofType(resources, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
};
