// The check of a writer key made outside the stack (ElasticsearchWriterKeyCheck) under the REAL Pulumi engine when
// nothing answers at the cluster's URL, as for a CI runner outside the cluster's IP filter: `preview` goes on with a
// warning, and `up` fails before the key is recorded as checked. No Elasticsearch is needed: the URL is a 127.0.0.1
// port nothing listens on. What a cluster answers is checked in test/elasticsearch/writerKeyRole.test.ts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { ElasticsearchWriterKeyCheck } from "../../infra/elastic";
import { freePort } from "../support/ports";
import { pulumiCli } from "../support/env";
import { engineStack, type EngineStack } from "./support/engineStack";

const TIMEOUT = 120_000;
const KEY = Buffer.from("writer-id:writer-secret-not-in-output").toString("base64");

describe("the external writer key's check on the real engine, with Elasticsearch out of reach", { timeout: TIMEOUT * 2 }, () => {
  let engine: EngineStack;
  let url: string;

  before(async () => {
    pulumiCli(); // fails first, and clearly, outside `npm test`
    url = `http://127.0.0.1:${await freePort()}`;
    engine = await engineStack({
      projectName: "writer-key-check",
      stackName: "unreachable",
      program: async () => {
        const config = new pulumi.Config();
        const check = new ElasticsearchWriterKeyCheck("writer-key-check", {
          connection: pulumi.all([config.require("url"), config.requireSecret("collectorEsApiKey")]).apply(([to, apiKey]) => ({ url: to, apiKey })),
          namespace: "prod",
        });
        return { verdict: check.verdict };
      },
    });
    await engine.stack.setAllConfig({ url: { value: url }, collectorEsApiKey: { value: KEY, secret: true } });
  });

  after(async () => {
    await engine?.close();
  });

  test("preview goes on, warning that the key is not checked yet", { timeout: TIMEOUT }, async () => {
    const result = await engine.stack.preview({ signal: engine.signal });
    assert.equal(result.changeSummary.create, 2, JSON.stringify(result.changeSummary)); // the stack and the check
    assert.match(result.stdout, /collectorEsApiKey: not checked yet: Elasticsearch could not be reached/);
    assert.ok(result.stdout.includes(url) && !result.stdout.includes(KEY), result.stdout);
  });

  test("up fails saying Elasticsearch could not be reached, and records no check", { timeout: TIMEOUT }, async () => {
    const error = await engine.stack.up({ signal: engine.signal }).then(() => undefined, (e: unknown) => String(e));
    assert.ok(error, "up must fail");
    assert.ok(error.includes(`could not reach Elasticsearch at ${url}`) && !error.includes(KEY), error);
    const state = readFileSync(engine.stateFile(), "utf8");
    assert.ok(!state.includes("elasticsearch:WriterKeyCheck"), "no check in the state");
    assert.ok(!state.includes(KEY), "the key is not in the state in plain text");
  });
});
