// ElasticsearchWriterKeyCheck when nothing answers at the cluster's URL: a `pulumi preview` run outside the cluster's
// network (a CI runner) must go on, saying the key is not checked yet, and `up` (create/update) must still refuse to
// hand the key on unchecked. What a cluster answers is checked on a real secured Elasticsearch in
// test/elasticsearch/writerKeyRole.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HOLDS_ALL, NOT_REACHED, writerKeyCheckProvider, type WriterKeyCheckInputs } from "../../infra/elastic/elasticsearch/writerKeyCheckResource";
import { freePort } from "../support/ports";
import { reviveProvider } from "./support/revive";

const KEY = Buffer.from("writer-id:writer-secret-not-in-messages").toString("base64");

test("a cluster out of reach: check lets the preview go on with 'not checked yet', create and update refuse without the key", async () => {
  const port = await freePort(); // nothing listens there: the connection is refused
  const inputs: WriterKeyCheckInputs = { connection: { url: `http://127.0.0.1:${port}`, apiKey: KEY }, namespace: "prod", dedupeAcrossBackingIndices: true };
  const unreachable = (error: Error) => error.message.includes(`could not reach Elasticsearch at http://127.0.0.1:${port}`) && !error.message.includes(KEY);
  for (const provider of [writerKeyCheckProvider, await reviveProvider(writerKeyCheckProvider)]) {
    const checked = await provider.check!({} as WriterKeyCheckInputs, inputs);
    assert.deepEqual(checked.failures, []);
    const verdict = checked.inputs!.verdict!;
    assert.ok(verdict.startsWith(NOT_REACHED) && verdict.includes(`127.0.0.1:${port}`) && !verdict.includes(KEY), verdict);
    // A stack whose key was checked before sees a change, so `up` runs update, which asks again.
    assert.equal((await provider.diff!("writer-key-check-prod", { ...inputs, verdict: HOLDS_ALL }, checked.inputs!)).changes, true);
    await assert.rejects(provider.create!(checked.inputs!), unreachable);
    await assert.rejects(provider.update!("writer-key-check-prod", { ...inputs, verdict: HOLDS_ALL }, checked.inputs!), unreachable);
  }
});
