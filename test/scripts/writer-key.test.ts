// `npm run writer-key`: the request a person sends to make the writer key for elasticsearch.writerKey.external is the
// body the WriterApiKey resource would send (the same privileges), for the namespace given or the stack's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { writerKeyRequest, writerRoleDescriptors } from "../../infra/elastic/elasticsearch/writerApiKeyResource";
import { exampleStackArgs } from "../support/exampleStacks";

const ROOT = resolve(__dirname, "..", "..");
const run = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "writer-key.ts"), ...args], { cwd: ROOT, encoding: "utf8" });

test("--namespace prints the writer key's request: the resource's body, read added only with dedupe", () => {
  const plain = run("--namespace", "prod", "--json");
  assert.equal(plain.status, 0, plain.stderr);
  const body = JSON.parse(plain.stdout);
  assert.deepEqual(body, writerKeyRequest({ name: "flowlogs-collector-prod", namespace: "prod", metadata: { made_for: "elasticsearch.writerKey.external" } }));
  assert.deepEqual(body.role_descriptors, writerRoleDescriptors("prod"));
  const dedupe = JSON.parse(run("--namespace", "prod", "--dedupe-across-backing-indices", "--json").stdout);
  assert.deepEqual(dedupe.role_descriptors, writerRoleDescriptors("prod", true));
  const text = run("--namespace", "prod");
  assert.match(text.stdout, /^# The collector's writer key for namespace "prod"/);
  assert.match(text.stdout, /pulumi config set --secret collectorEsApiKey/);
  assert.match(text.stdout, /\nPOST \/_security\/api_key\n\{/);
});

test("--stack reads the namespace from the stack file (here the shipped dev example, as --config-file); bad arguments exit 2, a bad namespace 1", () => {
  const dev = run(...exampleStackArgs("dev"), "--json");
  assert.equal(dev.status, 0, dev.stderr);
  assert.deepEqual(JSON.parse(dev.stdout).role_descriptors.flowlogs_writer.indices[0].names, ["logs-azure.flowlogs-dev", "logs-azure.flowlogs.deadletter-dev"]);
  assert.equal(run().status, 2);
  assert.equal(run("--stack", "dev", "--namespace", "x").status, 2);
  const bad = run("--namespace", "Prod-1");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /invalid data stream namespace "Prod-1"/);
});
