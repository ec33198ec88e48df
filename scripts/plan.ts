// `npm run plan -- --stack <name> [--json] [--dir <folder>] [--config-file <file>]`
// Offline plan: runs the Pulumi program under mocks with the stack's config and prints every resource it would
// declare. No cloud, no Pulumi CLI. With --json, stdout carries exactly one JSON array and nothing else.
import { resolve } from "node:path";
import { readCommandLine } from "./commandLine";
import { runProgramUnderMocks, type PlanResult, type PlannedResource } from "../infra/plan/mockRun";
import { loadStackConfigFiles } from "../infra/plan/stackFile";

const usage = "usage: npm run plan -- --stack <name> [--json] [--dir <folder with Pulumi.yaml>] [--config-file <Pulumi.<stack>.yaml>]";

async function main(): Promise<number> {
  const values = readCommandLine({
    stack: { type: "string" }, json: { type: "boolean", default: false }, dir: { type: "string" }, "config-file": { type: "string" }, help: { type: "boolean" },
  }, usage);
  if (typeof values === "number") return values;
  if (!values.stack) {
    console.error(`--stack is required\n${usage}`);
    return 2;
  }
  const dir = resolve(values.dir ?? resolve(__dirname, ".."));
  const stackConfig = loadStackConfigFiles({ stack: values.stack, dir, configFile: values["config-file"] && resolve(values["config-file"]) });
  // Pulumi's own logging goes to stdout; keep stdout for the plan (the JSON array must stand alone).
  const log = console.log;
  console.log = (...args: unknown[]) => console.error(...args);
  let plan: PlanResult;
  try {
    plan = await runProgramUnderMocks(stackConfig);
  } finally {
    console.log = log;
  }
  process.stdout.write(values.json ? `${JSON.stringify(plan.resources.map(forJson), null, 2)}\n` : describe(plan, stackConfig.stack));
  return 0;
}

function forJson(resource: PlannedResource) {
  const { type, name, parent, inputs, options } = resource;
  return options ? { type, name, parent, inputs, options } : { type, name, parent, inputs };
}

/** Invokes that ask Azure about the identity running the deployment, not about an existing resource. */
const DEPLOYER_INVOKES = ["azure-native:authorization:getClientToken", "azure-native:authorization:getClientConfig"];

/** A tree by parent, each resource with its inputs as indented YAML-like lines. */
function describe(plan: PlanResult, stack: string): string {
  const lines = [`Offline plan for stack "${stack}": ${plan.resources.length} resources (mocked ids; nothing was sent to Azure)`, ""];
  const children = (parent: string | null) => plan.resources.filter((r) => r.parent === parent);
  const walk = (resource: PlannedResource, depth: number): void => {
    const pad = "  ".repeat(depth);
    lines.push(`${pad}+ ${resource.type}  ${resource.name}`);
    for (const [key, value] of Object.entries(resource.options ?? {})) lines.push(`${pad}    (${key}: ${JSON.stringify(value)})`);
    for (const line of formatValue(resource.inputs, `${pad}    `)) lines.push(line);
    for (const child of children(resource.name)) walk(child, depth + 1);
  };
  for (const root of children(null)) walk(root, 0);
  // Lookups of existing resources differ from questions about who deploys (token, tenant): those need no resource.
  const lookups = plan.invokes.filter((invoke) => !DEPLOYER_INVOKES.includes(invoke.token) && !invoke.absent);
  const absent = plan.invokes.filter((invoke) => invoke.absent);
  // Sorted: these are asked concurrently, so their order says nothing.
  const deployer = plan.invokes.filter((invoke) => DEPLOYER_INVOKES.includes(invoke.token)).sort((a, b) => a.token.localeCompare(b.token));
  if (lookups.length > 0) {
    lines.push("", "Looked up (must already exist in Azure):");
    for (const invoke of lookups) lines.push(`  ? ${invoke.token} ${JSON.stringify(invoke.args)}`);
  }
  if (absent.length > 0) {
    lines.push("", "Checked to be absent (must NOT exist in Azure):");
    for (const invoke of absent) lines.push(`  ! ${invoke.token} ${JSON.stringify(invoke.args)}`);
  }
  if (deployer.length > 0) {
    lines.push("", "Asked of the deploying identity (its token and tenant, e.g. to push the collector image):");
    for (const invoke of deployer) lines.push(`  ? ${invoke.token} ${JSON.stringify(invoke.args)}`);
  }
  lines.push("", "Stack outputs (mocked values):");
  for (const line of formatValue(plan.outputs, "  ")) lines.push(line);
  return `${lines.join("\n")}\n`;
}

function formatValue(value: Record<string, unknown>, pad: string): string[] {
  const lines: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (item !== null && typeof item === "object" && !Array.isArray(item) && Object.keys(item).length > 0) {
      lines.push(`${pad}${key}:`);
      lines.push(...formatValue(item as Record<string, unknown>, `${pad}  `));
    } else {
      lines.push(`${pad}${key}: ${JSON.stringify(item)}`);
    }
  }
  return lines;
}

main().then((code) => process.exit(code), (error: unknown) => {
  // Config errors arrive as one message listing every problem; no stack trace for those.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`plan failed: ${message}`);
  process.exit(1);
});
