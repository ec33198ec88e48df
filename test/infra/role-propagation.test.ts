// The first `pulumi up` must not race Azure RBAC: the container group (AcrPull image pull, blob reads) and the flow
// logs (written with the writer identity) come only after a bounded wait for their role assignments to take effect.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { PlannedResource } from "../../infra/plan/mockRun";
import { DEFAULTS } from "../../infra/config";
import { DOCUMENTED_PROPAGATION_SECONDS, propagationProvider, type PropagationInputs, type PropagationOutputs } from "../../infra/components/roleAssignmentPropagation";
import { only } from "./configProblems";
import { ofType, planJson, runPlan, vnetId } from "./planHelpers";
import { exampleStackArgs } from "../support/exampleStacks";

const PROPAGATION = "pulumi-nodejs:dynamic/flowlogs:azure:RoleAssignmentPropagation";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const ids = ["/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a", "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/b"];

let prod: PlannedResource[];
before(async () => {
  const run = await runPlan([...exampleStackArgs("prod"), "--json"]);
  assert.equal(run.code, 0, run.stderr);
  prod = JSON.parse(run.stdout);
});

const named = (name: string) => prod.find((r) => r.name === name)!;

test("prod: the container group is created only after the collector's role assignments AND the wait for them", () => {
  const wait = named("collector-access-propagation");
  assert.equal(wait.type, PROPAGATION);
  assert.equal(wait.parent, "collector-access");
  const assignments = ofType(prod, "azure-native:authorization:RoleAssignment").filter((r) => r.parent === "collector-access").map((r) => r.name).sort();
  assert.equal(assignments.length, 5, "two flow-log containers, the checkpoints, AcrPull and Repository Reader on the platform registry");
  assert.deepEqual(wait.options?.dependencies?.filter((d) => assignments.includes(d)).sort(), assignments);
  assert.equal((wait.inputs.assignmentIds as string[]).length, 5);
  assert.equal(wait.inputs.waitSeconds, DOCUMENTED_PROPAGATION_SECONDS);
  const group = ofType(prod, "azure-native:containerinstance:ContainerGroup")[0]!;
  assert.ok(group.options?.dependencies?.includes("collector-access-propagation"), JSON.stringify(group.options?.dependencies));
});

test("prod: every flow log is created only after the writer identity's assignment and the wait for it", () => {
  const wait = named("flowlog-writer-propagation");
  assert.equal(wait.parent, "flowlog-writer");
  assert.ok(wait.options?.dependencies?.includes("flowlog-writer-blob-writer"));
  for (const flowLog of ofType(prod, "azure-native:network:FlowLog")) {
    assert.ok(flowLog.options?.dependencies?.includes("flowlog-writer-propagation"), `${flowLog.name}: ${JSON.stringify(flowLog.options?.dependencies)}`);
  }
});

test("roleAssignmentWaitSeconds: documented default, 0 turns the wait off, bad values are refused naming the key", async () => {
  assert.equal(DEFAULTS.roleAssignmentWaitSeconds, DOCUMENTED_PROPAGATION_SECONDS);
  const base = { location: "westeurope", storage: { accountName: "flowlogswait01" }, flowLogs: [vnetId("vnet1")] };
  for (const bad of [-1, 3601, 1.5, "60"]) assert.match(only({ ...base, roleAssignmentWaitSeconds: bad }, "roleAssignmentWaitSeconds"), /0 to 3600/);
  const resources = await planJson({ ...base, roleAssignmentWaitSeconds: 0 });
  assert.equal(resources.find((r) => r.type === PROPAGATION)!.inputs.waitSeconds, 0);
});

test("the wait resource waits its time on create, and only then reports done", async () => {
  const started = Date.now();
  const created = await propagationProvider.create!({ assignmentIds: ids, waitSeconds: 1 });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 990, `waited ${elapsed} ms`);
  assert.ok(Date.parse((created.outs as PropagationOutputs).waitedUntil) >= started + 990);
  assert.match(created.id, /^role-assignments-effective-/);
});

test("the wait resource waits again only when the set of assignments changes; a changed wait alone does not wait", async () => {
  const olds: PropagationOutputs = { assignmentIds: ids, waitSeconds: 600, waitedUntil: "2026-12-01T00:00:00.000Z" };
  const diff = (news: Record<string, unknown>) => propagationProvider.diff!("id", olds, news as unknown as PropagationInputs);
  assert.deepEqual(await diff({ assignmentIds: [...ids].reverse(), waitSeconds: 600 }), { changes: false, replaces: [], deleteBeforeReplace: false });
  assert.deepEqual((await diff({ assignmentIds: [ids[0], `${ids[1]}c`], waitSeconds: 600 })).replaces, ["assignmentIds"]);
  assert.deepEqual((await diff({ assignmentIds: [ids[0], UNKNOWN], waitSeconds: 600 })).replaces, ["assignmentIds"], "a replaced assignment shows as unknown in preview");
  assert.deepEqual(await diff({ assignmentIds: ids, waitSeconds: 60 }), { changes: true, replaces: [], deleteBeforeReplace: false });
  const started = Date.now();
  const updated = await propagationProvider.update!("id", olds, { assignmentIds: ids, waitSeconds: 60 });
  assert.ok(Date.now() - started < 500);
  assert.equal((updated.outs as PropagationOutputs).waitedUntil, olds.waitedUntil);
});

test("the wait resource's check refuses an unbounded or empty wait", async () => {
  const failures = async (news: Record<string, unknown>) => (await propagationProvider.check!({} as PropagationInputs, news as unknown as PropagationInputs)).failures?.map((f) => f.property) ?? [];
  assert.deepEqual(await failures({ assignmentIds: ids, waitSeconds: 600 }), []);
  assert.deepEqual(await failures({ assignmentIds: ids, waitSeconds: 7200 }), ["waitSeconds"]);
  assert.deepEqual(await failures({ assignmentIds: [], waitSeconds: 1 }), ["assignmentIds"]);
  assert.deepEqual(await failures({ assignmentIds: UNKNOWN, waitSeconds: 1 }), [], "unknown during preview");
});
