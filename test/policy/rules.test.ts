import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { unknownCheckingProxy } from "@pulumi/policy";
import {
  CONTAINER_APP, CONTAINER_GROUP, FLOW_LOG, KEEP_FOREVER, MANAGEMENT_POLICY, REGISTRY, RETENTION_TAG, STORAGE_ACCOUNT,
  resourceRules, stackRules, type PlannedResource,
} from "../../policy/rules";

const rule = (name: string) => resourceRules.find((r) => r.name === name)!;
const violations = (name: string, resource: PlannedResource) => {
  const r = rule(name);
  assert.ok(r.types.includes(resource.type), `${name} looks at ${resource.type}`);
  return r.check(resource);
};

const goodStorage = { minimumTlsVersion: "TLS1_2", enableHttpsTrafficOnly: true, allowBlobPublicAccess: false };
const vnetId = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet1";
const nsgId = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg1";
const goodFlowLog = { enabled: true, format: { type: "JSON", version: 2 }, targetResourceId: vnetId };

test("storage: TLS 1.2+, HTTPS only and no public blob access pass; each weakening fails by name", () => {
  assert.deepEqual(violations("storage-account-hardened", { type: STORAGE_ACCOUNT, name: "s", inputs: goodStorage }), []);
  assert.deepEqual(violations("storage-account-hardened", { type: STORAGE_ACCOUNT, name: "s", inputs: { ...goodStorage, minimumTlsVersion: "TLS1_3" } }), []);
  const bad = violations("storage-account-hardened", { type: STORAGE_ACCOUNT, name: "s", inputs: { minimumTlsVersion: "TLS1_0", allowBlobPublicAccess: true } });
  assert.equal(bad.length, 3);
  assert.match(bad.join("\n"), /minimumTlsVersion.*TLS1_0/);
  assert.match(bad.join("\n"), /enableHttpsTrafficOnly/);
  assert.match(bad.join("\n"), /allowBlobPublicAccess/);
});

test("flow logs must be enabled JSON version 2; version 0 (the SDK default) fails", () => {
  assert.deepEqual(violations("flow-log-enabled-json-v2", { type: FLOW_LOG, name: "f", inputs: goodFlowLog }), []);
  assert.equal(violations("flow-log-enabled-json-v2", { type: FLOW_LOG, name: "f", inputs: { ...goodFlowLog, format: { type: "JSON", version: 0 } } }).length, 1);
  assert.equal(violations("flow-log-enabled-json-v2", { type: FLOW_LOG, name: "f", inputs: { ...goodFlowLog, enabled: false } }).length, 1);
});

test("a flow log on an NSG is refused unless it is an adopted existing one", () => {
  assert.deepEqual(violations("no-new-nsg-flow-log", { type: FLOW_LOG, name: "vnet", inputs: goodFlowLog }), []);
  const refused = violations("no-new-nsg-flow-log", { type: FLOW_LOG, name: "nsg1", inputs: { ...goodFlowLog, targetResourceId: nsgId } });
  assert.match(refused[0], /blocked by Azure since 2025-06-30/);
  assert.deepEqual(violations("no-new-nsg-flow-log", { type: FLOW_LOG, name: "adopted-nsg-nsg1", inputs: { ...goodFlowLog, targetResourceId: nsgId } }), []);
});

test("container groups and apps need a managed identity", () => {
  for (const type of [CONTAINER_GROUP, CONTAINER_APP]) {
    assert.deepEqual(violations("container-runs-with-managed-identity", { type, name: "c", inputs: { identity: { type: "UserAssigned" } } }), []);
    assert.equal(violations("container-runs-with-managed-identity", { type, name: "c", inputs: {} }).length, 1);
    assert.equal(violations("container-runs-with-managed-identity", { type, name: "c", inputs: { identity: { type: "None" } } }).length, 1);
  }
});

test("secret-looking environment variables must be secure values (ACI) or secret references (Container Apps)", () => {
  const aci = (v: Record<string, string>) => ({ type: CONTAINER_GROUP, name: "c", inputs: { containers: [{ name: "x", environmentVariables: [v] }] } });
  assert.deepEqual(violations("no-plaintext-secret-env", aci({ name: "ES_API_KEY", secureValue: "k" })), []);
  assert.deepEqual(violations("no-plaintext-secret-env", aci({ name: "ES_URL", value: "https://es" })), []);
  assert.match(violations("no-plaintext-secret-env", aci({ name: "ES_API_KEY", value: "k" }))[0], /ES_API_KEY is plain text/);
  assert.equal(violations("no-plaintext-secret-env", aci({ name: "STORAGE_CONNECTION_STRING", value: "x" })).length, 1);
  const app = (v: Record<string, string>) => ({ type: CONTAINER_APP, name: "a", inputs: { template: { containers: [{ env: [v] }] } } });
  assert.deepEqual(violations("no-plaintext-secret-env", app({ name: "ES_PASSWORD", secretRef: "es-password" })), []);
  assert.equal(violations("no-plaintext-secret-env", app({ name: "ES_PASSWORD", value: "p" })).length, 1);
  // Init containers take environment variables too.
  const aciInit = { type: CONTAINER_GROUP, name: "c", inputs: { containers: [], initContainers: [{ name: "i", environmentVariables: [{ name: "ES_API_KEY", value: "k" }] }] } };
  assert.match(violations("no-plaintext-secret-env", aciInit).join(), /ES_API_KEY is plain text/);
  const appInit = { type: CONTAINER_APP, name: "a", inputs: { template: { containers: [], initContainers: [{ env: [{ name: "ES_PASSWORD", value: "p" }] }] } } };
  assert.match(violations("no-plaintext-secret-env", appInit).join(), /ES_PASSWORD is plain text/);
});

test("registries refuse anonymous pull", () => {
  assert.deepEqual(violations("registry-no-anonymous-pull", { type: REGISTRY, name: "r", inputs: { sku: { name: "Basic" } } }), []);
  assert.equal(violations("registry-no-anonymous-pull", { type: REGISTRY, name: "r", inputs: { anonymousPullEnabled: true } }).length, 1);
});

test("every flow log needs a retention: its own, or a lifecycle delete rule over both flow-log containers", () => {
  const retention = stackRules.find((r) => r.name === "flow-log-retention")!;
  const flowLog = (retentionPolicy: object) => ({ type: FLOW_LOG, name: "f", inputs: { ...goodFlowLog, retentionPolicy } });
  assert.deepEqual(retention.check([flowLog({ enabled: true, days: 30 })]), []);
  assert.equal(retention.check([flowLog({ enabled: false, days: 0 })]).length, 1);
  const lifecycle = (prefixMatch: string[]) => ({
    type: MANAGEMENT_POLICY, name: "p",
    inputs: { policy: { rules: [{ name: "r", enabled: true, type: "Lifecycle", definition: {
      filters: { blobTypes: ["blockBlob"], prefixMatch }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 30 } } } } }] } },
  });
  assert.deepEqual(retention.check([flowLog({ enabled: false, days: 0 }), lifecycle(["insights-logs-flowlogflowevent/", "insights-logs-networksecuritygroupflowevent/"])]), []);
  assert.equal(retention.check([flowLog({ enabled: false, days: 0 }), lifecycle(["insights-logs-flowlogflowevent/"])]).length, 1);
});

test("keep-forever is accepted only when the stack says so on its storage account (the tag retentionDays 0 sets)", () => {
  const retention = stackRules.find((r) => r.name === "flow-log-retention")!;
  const flowLog = { type: FLOW_LOG, name: "f", inputs: { ...goodFlowLog, retentionPolicy: { enabled: false, days: 0 } } };
  const account = (tags: Record<string, string>) => ({ type: STORAGE_ACCOUNT, name: "s", inputs: { ...goodStorage, tags } });
  assert.deepEqual(retention.check([flowLog, account({ [RETENTION_TAG]: KEEP_FOREVER })]), []);
  assert.deepEqual(retention.check([flowLog, account({ "Flowlogs-Retention": KEEP_FOREVER })]), [], "Azure tag names are case-insensitive");
  assert.equal(retention.check([flowLog, account({ [RETENTION_TAG]: "30d" })]).length, 1);
  assert.equal(retention.check([flowLog, account({})]).length, 1);
  assert.match(retention.check([flowLog])[0]!, /flowlogs-retention: keep-forever/);
});

describe("flow-log-retention judges the storage account each flow log writes to", () => {
  const retention = stackRules.find((r) => r.name === "flow-log-retention")!;
  const accountId = (name: string) => `/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/${name}`;
  const flowLog = (storageId: string) => ({ type: FLOW_LOG, name: "f", inputs: { ...goodFlowLog, storageId, retentionPolicy: { enabled: false, days: 0 } } });
  const account = (accountName: string, tags: Record<string, string> = {}) => ({ type: STORAGE_ACCOUNT, name: accountName, inputs: { ...goodStorage, accountName, tags } });
  const containers = ["insights-logs-flowlogflowevent/", "insights-logs-networksecuritygroupflowevent/"];
  const lifecycle = (accountName: unknown, filters: Record<string, unknown> = { blobTypes: ["blockBlob"], prefixMatch: containers }) => ({
    type: MANAGEMENT_POLICY, name: `p-${String(accountName)}`,
    inputs: { accountName, policy: { rules: [{ name: "r", enabled: true, type: "Lifecycle", definition: {
      filters, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 30 } } } } }] } },
  });
  const judged = (...resources: PlannedResource[]) => retention.check(resources);

  test("a lifecycle rule or keep-forever tag on the flow log's own account passes, names compared case-insensitively", () => {
    assert.deepEqual(judged(flowLog(accountId("logs1")), account("logs1"), lifecycle("logs1")), []);
    assert.deepEqual(judged(flowLog(accountId("Logs1")), account("logs1"), lifecycle("LOGS1")), []);
    assert.deepEqual(judged(flowLog(accountId("logs1")), account("logs1", { [RETENTION_TAG]: KEEP_FOREVER })), []);
    assert.deepEqual(judged(flowLog(accountId("logs1")), account("logs1"), lifecycle("logs1", { blobTypes: ["blockBlob"] })), [], "no prefix: the whole account");
    assert.deepEqual(judged(flowLog(accountId("logs1")), account("logs1"),
      lifecycle("logs1", { blobTypes: ["blockBlob", "appendBlob"], prefixMatch: ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"] })), []);
  });

  test("a lifecycle rule or keep-forever tag on another account does not retain this flow log's blobs", () => {
    assert.equal(judged(flowLog(accountId("logs1")), account("logs1"), account("other"), lifecycle("other")).length, 1);
    assert.equal(judged(flowLog(accountId("logs1")), account("logs1"), account("other", { [RETENTION_TAG]: KEEP_FOREVER })).length, 1);
    assert.equal(judged(flowLog(accountId("external")), account("logs1"), lifecycle("logs1")).length, 1, "an account outside the stack");
  });

  test("a rule that misses the flow logs' block blobs does not count", () => {
    const bypasses: Record<string, Record<string, unknown>> = {
      "append blobs only": { blobTypes: ["appendBlob"], prefixMatch: containers },
      "a prefix narrower than the container": { blobTypes: ["blockBlob"], prefixMatch: containers.map((c) => `${c}resourceId=/SUBSCRIPTIONS/0000/`) },
      "a blob index filter": { blobTypes: ["blockBlob"], prefixMatch: containers, blobIndexMatch: [{ name: "project", op: "==", value: "x" }] },
    };
    for (const [why, filters] of Object.entries(bypasses)) {
      assert.equal(judged(flowLog(accountId("logs1")), account("logs1"), lifecycle("logs1", filters)).length, 1, why);
    }
  });

  test("on a first preview, with the account not created yet, the engine's unknowns neither fail the stack nor stop the rule (real policy SDK proxy)", () => {
    const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // the engine's unknown string, as the SDK deserializes it
    const resources = [flowLog(unknownString), account("logs1"), lifecycle(unknownString)].map((r) => ({ ...r, inputs: unknownCheckingProxy(r.inputs) }));
    assert.throws(() => resources[0]!.inputs.storageId, /can't be known during preview/, "the SDK's proxy throws on an unknown");
    assert.deepEqual(retention.check(resources), []);
    const withoutRule = [flowLog(unknownString), account("logs1")].map((r) => ({ ...r, inputs: unknownCheckingProxy(r.inputs) }));
    assert.equal(retention.check(withoutRule).length, 1, "still judged: no rule deletes anything");
  });
});
