// index.mode on a real OpenSearch (2.19, started by test/run.ts): it refuses the setting, so the plan never gives it
// there, and the standard mode it does get is what its templates and data streams hold.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyOpenSearchIndexAssets, detectOpenSearchCapabilities } from "../../dashboards/src/applyOpenSearchIndexAssets";
import { planIndexAssets } from "../../dashboards/src/indexAssets";
import { deadLetterDocument } from "../../collector/src/sink/deadLetterDocument";
import { opensearchUrl } from "../support/env";
import { openSearchHttp } from "../support/openSearchHttp";
import { uniqueNamespace } from "../support/esClient";
import { fullDocument } from "../elasticsearch/sampleDocuments";

const os = openSearchHttp(opensearchUrl());

test("OpenSearch refuses index.mode, so a template planned for Elasticsearch 9.x would be refused there", async () => {
  const capabilities = await detectOpenSearchCapabilities({ node: opensearchUrl() });
  assert.equal(capabilities.implicitLogsdb, false);
  const namespace = uniqueNamespace("osmode");
  await applyOpenSearchIndexAssets({ node: opensearchUrl() }, { namespace }); // the components the template composes
  // The same cluster taken for Elasticsearch 9.x (retention off, so index.mode is the only difference that matters).
  const elasticsearch9 = planIndexAssets({ namespace, retentionMode: "none" }, { ...capabilities, distribution: undefined, logsdb: true, implicitLogsdb: true });
  const deadLetter = elasticsearch9.requests.find((request) => request.name === `azure-flowlogs-deadletter-${namespace}`)!;
  assert.equal((deadLetter.body.template as any).settings["index.mode"], "standard");
  const refused = await os.call("PUT", deadLetter.path, deadLetter.body);
  assert.equal(refused.status, 400);
  assert.match(JSON.stringify(refused.body), /unknown setting \[index\.mode\]/);
});

for (const indexMode of ["auto", "standard"] as const) {
  test(`indexMode ${indexMode} on OpenSearch: no template names index.mode, OpenSearch accepts them, and both data streams are written`, async () => {
    const namespace = uniqueNamespace(`osmode${indexMode}`);
    const applied = await applyOpenSearchIndexAssets({ node: opensearchUrl() }, { namespace, indexMode });
    assert.equal(applied.indexMode.mode, "standard");
    assert.doesNotMatch(applied.indexMode.reason + applied.deadLetterIndexMode.reason, /index\.mode: standard|not stated/);
    assert.doesNotMatch(JSON.stringify(applied.requests), /"index\.mode"|"mode"/);
    const letter = deadLetterDocument({ reason: "truncated record", raw: "{\"time\":", position: { container: "c", blob: "b", offset: 0 } }, "2026-11-02T10:05:00.000Z");
    const bulk = [
      { create: { _index: applied.dataStream, _id: "flow" } }, fullDocument,
      { create: { _index: applied.deadLetterDataStream, _id: "letter" } }, letter,
    ].map((line) => JSON.stringify(line)).join("\n") + "\n";
    const answer = await fetch(new URL("/_bulk?refresh=true", opensearchUrl()), { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: bulk });
    const written = await answer.json() as { errors: boolean; items: unknown[] };
    assert.equal(written.errors, false, JSON.stringify(written.items));
    for (const stream of [applied.dataStream, applied.deadLetterDataStream]) {
      const settings = Object.values(await os.ok("GET", `/${stream}/_settings`))[0] as any;
      assert.equal(settings.settings.index.mode, undefined, stream);
    }
  });
}
