// With a managed Elastic side, the collector writes where its templates and key were made, trusts the cluster's
// private CA (mounted as a file) and, when the writer key may read, dedupes across backing indices.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../collector/src/service/config";
import type { PlannedResource } from "../../infra/plan/mockRun";
import { planJson, vnetId } from "./planHelpers";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";
const stack = {
  location: "westeurope",
  storage: { accountName: "flowlogstest01", networkDefaultAction: "Allow" },
  flowLogs: [vnetId("vnet1")],
  collector: { enabled: true, image: "ghcr.io/acme/flowlogs-collector:2.0.0" },
  elasticsearch: { url: "https://es.example.com", namespace: "ops", caCert: PEM, writerKey: { dedupeAcrossBackingIndices: true } },
  elasticsearchUsername: "deployer",
};

let group: PlannedResource;
before(async () => {
  const resources = await planJson(stack);
  group = resources.find((r) => r.type === "azure-native:containerinstance:ContainerGroup")!;
  assert.ok(group, "a container group is planned");
});

const container = () => (group.inputs.containers as any[])[0];
const env = () => Object.fromEntries((container().environmentVariables as any[]).filter((v) => "value" in v).map((v) => [v.name, v.value]));

test("the collector's target is the Elastic side's URL and namespace, with dedupe on when the key may read", () => {
  assert.equal(env().FLOWLOGS_ES_URL, "https://es.example.com");
  assert.equal(env().FLOWLOGS_ES_NAMESPACE, "ops");
  assert.equal(env().FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES, "true");
});

test("the private CA is mounted read-only from a secret volume and named by FLOWLOGS_ES_CA_FILE", () => {
  const volume = (group.inputs.volumes as any[]).find((v) => v.name === "es-ca");
  assert.equal(Buffer.from(volume.secret["ca.pem"], "base64").toString(), PEM);
  const mount = (container().volumeMounts as any[]).find((m) => m.name === "es-ca");
  assert.equal(mount.readOnly, true);
  assert.equal(env().FLOWLOGS_ES_CA_FILE, `${mount.mountPath}/ca.pem`);
});

test("the collector's own configuration accepts the environment the container group declares", () => {
  const config = loadConfig({ ...env(), FLOWLOGS_ES_API_KEY: "stand-in" });
  assert.equal(config.sink.kind, "elasticsearch");
  if (config.sink.kind !== "elasticsearch") return;
  assert.equal(config.sink.dedupeAcrossBackingIndices, true);
  assert.equal(config.sink.caFile, env().FLOWLOGS_ES_CA_FILE);
});
