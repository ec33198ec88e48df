import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { ACTIONS_RUNTIME, actionContracts } from "./actionInputs";

const root = resolve(__dirname, "../..");
const dir = join(root, ".github", "workflows");
const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts as Record<string, string>;

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; name?: string }
interface Job {
  needs?: string | string[];
  if?: string;
  environment?: string;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow { name: string; on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> }

const workflows = readdirSync(dir).filter((f) => f.endsWith(".yml")).sort()
  .map((file) => ({ file, text: readFileSync(join(dir, file), "utf8") }))
  .map(({ file, text }) => ({ file, text, wf: parse(text) as Workflow }));

const usesOf = (job: Job): string[] => job.steps.flatMap((s) => (s.uses ? [s.uses] : []));

test("there are pull-request, deploy and destroy workflows and each parses as YAML", () => {
  assert.deepEqual(workflows.map((w) => w.file), ["deploy.yml", "destroy.yml", "pull-request.yml"]);
  for (const { wf, file } of workflows) {
    assert.equal(typeof wf.name, "string", `${file}: name`);
    assert.ok(Object.keys(wf.jobs).length > 0, `${file}: jobs`);
  }
});

test("every action used is one whose inputs we know, and every `with` key is a declared input", () => {
  for (const { wf, file } of workflows) {
    for (const [jobName, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps) {
        if (!step.uses) continue;
        const contract = actionContracts[step.uses];
        assert.ok(contract, `${file} ${jobName}: unknown action ${step.uses}`);
        for (const key of Object.keys(step.with ?? {})) {
          assert.ok(contract.inputs.includes(key), `${file} ${jobName}: ${step.uses} has no input "${key}"`);
        }
        for (const key of contract.required) {
          assert.ok(step.with && key in step.with, `${file} ${jobName}: ${step.uses} needs "${key}"`);
        }
      }
    }
  }
});

test(`every action used runs on ${ACTIONS_RUNTIME} (its action.yml's runs.using), and each job that runs Pulumi names the command and stack`, () => {
  for (const { wf, file } of workflows) {
    for (const [jobName, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps) {
        if (!step.uses) continue;
        assert.equal(actionContracts[step.uses]?.runsOn, ACTIONS_RUNTIME, `${file} ${jobName}: ${step.uses}`);
        if (step.uses.startsWith("pulumi/actions@")) {
          for (const key of ["command", "stack-name"]) assert.ok(step.with?.[key], `${file} ${jobName}: ${step.uses} needs "${key}"`);
        }
      }
    }
  }
});

test("pull-request previews run as their own read-only identity: no preview job references the deploy identity", () => {
  const { wf } = workflows.find((w) => w.file === "pull-request.yml")!;
  const deployIdentity = /\bvars\.AZURE_CLIENT_ID\b/;
  const previews = Object.entries(wf.jobs).filter(([, job]) => job.steps.some((s) => s.uses?.startsWith("pulumi/actions@")));
  assert.ok(previews.length > 0, "the pull-request workflow previews");
  for (const [name, job] of previews) {
    assert.equal(job.environment, undefined, `${name}: a GitHub environment would give it the deploy subject`);
    assert.match(String(job.env?.ARM_CLIENT_ID), /^\$\{\{ vars\.AZURE_PREVIEW_CLIENT_ID \}\}$/, name);
    assert.doesNotMatch(JSON.stringify(job), deployIdentity, `${name} references the deploy identity`);
  }
  // The whole workflow file: nothing that runs on a pull request may name the deploy identity.
  assert.doesNotMatch(workflows.find((w) => w.file === "pull-request.yml")!.text, deployIdentity);
  // Deploy and destroy keep the deploy identity, and never the preview one.
  for (const file of ["deploy.yml", "destroy.yml"]) {
    const { text } = workflows.find((w) => w.file === file)!;
    assert.match(text, deployIdentity, file);
    assert.doesNotMatch(text, /AZURE_PREVIEW_CLIENT_ID/, file);
  }
});

test("`npm run X` and `npm test` steps name scripts that exist in package.json", () => {
  for (const { wf, file } of workflows) {
    for (const job of Object.values(wf.jobs)) {
      for (const step of job.steps) {
        for (const match of (step.run ?? "").matchAll(/npm run (?:--silent )?([\w:-]+)/g)) {
          assert.ok(scripts[match[1]], `${file}: npm script "${match[1]}" does not exist`);
        }
        if (/\bnpm test\b/.test(step.run ?? "")) assert.ok(scripts.test, `${file}: no test script`);
      }
    }
  }
});

test("`needs` refer to jobs of the same workflow", () => {
  for (const { wf, file } of workflows) {
    for (const [name, job] of Object.entries(wf.jobs)) {
      for (const need of [job.needs ?? []].flat()) assert.ok(wf.jobs[need], `${file} ${name}: needs unknown job ${need}`);
    }
  }
});

test("permissions: read-only by default; id-token only where Pulumi logs in; pull-requests only where it comments", () => {
  for (const { wf, file } of workflows) {
    assert.deepEqual(wf.permissions, { contents: "read" }, `${file}: workflow-level permissions`);
    for (const [name, job] of Object.entries(wf.jobs)) {
      assert.ok(job.permissions, `${file} ${name}: every job states its permissions`);
      const logsIn = usesOf(job).includes("pulumi/auth-actions@v2");
      const comments = job.steps.some((s) => s.with?.["comment-on-pr"] === true);
      const expected: Record<string, string> = { contents: "read" };
      if (logsIn) expected["id-token"] = "write";
      if (comments) expected["pull-requests"] = "write";
      assert.deepEqual(job.permissions, expected, `${file} ${name}`);
    }
  }
});

test("no long-lived secrets: nothing reads `secrets.*`, and Azure is reached by OIDC wherever Pulumi runs", () => {
  for (const { wf, file, text } of workflows) {
    assert.doesNotMatch(text, /\$\{\{[^}]*\bsecrets\./, `${file} reads a stored secret`);
    for (const [name, job] of Object.entries(wf.jobs)) {
      if (!usesOf(job).includes("pulumi/actions@v7")) continue;
      assert.equal(job.env?.ARM_USE_OIDC, "true", `${file} ${name}`);
      for (const key of ["ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"]) assert.ok(job.env?.[key], `${file} ${name}: ${key}`);
      const auth = usesOf(job).indexOf("pulumi/auth-actions@v2");
      assert.ok(auth >= 0 && auth < usesOf(job).indexOf("pulumi/actions@v7"), `${file} ${name}: Pulumi Cloud login (OIDC) comes first`);
    }
  }
});

test("the pull-request workflow previews each stack with the policy pack and comments; forks are not given a preview", () => {
  const { wf } = workflows.find((w) => w.file === "pull-request.yml")!;
  assert.ok("pull_request" in wf.on);
  const preview = wf.jobs.preview;
  const step = preview.steps.find((s) => s.uses === "pulumi/actions@v7")!;
  assert.equal(step.with?.command, "preview");
  assert.equal(step.with?.["comment-on-pr"], true);
  assert.equal(step.with?.policyPacks, "policy");
  assert.ok(existsSync(join(root, "policy", "PulumiPolicy.yaml")), "policy/PulumiPolicy.yaml exists");
  assert.match(preview.if ?? "", /head\.repo\.full_name == github\.repository/);
  assert.ok(wf.jobs.test.steps.some((s) => s.run === "npm test"));
});

test("deploy runs on main: dev first, then prod behind the prod environment", () => {
  const { wf } = workflows.find((w) => w.file === "deploy.yml")!;
  assert.deepEqual((wf.on.push as { branches: string[] }).branches, ["main"]);
  assert.equal(wf.jobs["up-dev"].needs, "test");
  assert.equal(wf.jobs["up-prod"].needs, "up-dev");
  assert.equal(wf.jobs["up-prod"].environment, "prod");
  for (const job of ["up-dev", "up-prod"]) {
    const step = wf.jobs[job].steps.find((s) => s.uses === "pulumi/actions@v7")!;
    assert.equal(step.with?.command, "up");
  }
});

test("destroy is manual only, for a named stack that must be typed twice", () => {
  const { wf } = workflows.find((w) => w.file === "destroy.yml")!;
  assert.deepEqual(Object.keys(wf.on), ["workflow_dispatch"]);
  const job = wf.jobs.destroy;
  assert.equal(job.if, "inputs.stack == inputs.confirm");
  const step = job.steps.find((s) => s.uses === "pulumi/actions@v7")!;
  assert.equal(step.with?.command, "destroy");
  assert.match(String(step.with?.["stack-name"]), /inputs\.stack/);
});
