import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";

const ROOT = resolve(__dirname, "../..");
const run = (args: string[], env: Record<string, string | undefined>) =>
  spawnSync(process.execPath, ["--import", "tsx", "scripts/index-assets.ts", ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8" });

test("npm run index-assets puts the templates into the cluster at ES_URL, so the collector can write there", async () => {
  const namespace = uniqueNamespace("assets");
  const result = run(["--namespace", namespace], { ES_URL: elasticsearchUrl() });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`put index_template azure-flowlogs-${namespace}`));
  assert.match(result.stdout, new RegExp(`can now write to logs-azure\\.flowlogs-${namespace}`));
  assert.match(result.stdout, /index mode logsdb: the cluster has index\.mode logsdb \(Elasticsearch 8\.17\+\); _source synthetic/);
  assert.match(result.stdout, /dead letters index mode standard: .*stated as index\.mode: standard/);
  const client = esClient(elasticsearchUrl());
  const { index_templates } = await client.indices.getIndexTemplate({ name: `azure-flowlogs-${namespace}` });
  assert.deepEqual(index_templates[0].index_template.index_patterns, [`logs-azure.flowlogs-${namespace}`]);
  await client.close();
});

test("npm run index-assets without ES_URL, or with a bad option, says what to fix", () => {
  const missing = run([], { ES_URL: "" });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /ES_URL is not set/);
  const bad = run(["--retention-mode", "forever"], { ES_URL: elasticsearchUrl() });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /retention/i);
});
