// Under the engine a dynamic provider does not run as imported: Pulumi serializes its code (classes become
// functions) and the provider host loads the text with require-from-string, calls `.handler()` and reports a
// failure by its `message`. These tests run the providers that way, so a failure reads as what went wrong and not
// as "error: undefined" (Error subclasses lose their message in the serialized copy unless they set it themselves).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { createRequire } from "node:module";
import { detectionRuleProvider } from "../../infra/elastic/kibana/detectionRuleResource";
import { scanRuleBody } from "../../infra/elastic/kibana/detections";
import { ElasticsearchError } from "../../infra/elastic/elasticsearch/client";
import { startAlertsKibana, type AlertsKibana } from "./support/alertsKibana";

// The copy the provider host (@pulumi/pulumi/cmd/dynamic-provider) loads provider text with.
const requireFromString: (text: string) => { handler: () => unknown } =
  createRequire(require.resolve("@pulumi/pulumi/cmd/dynamic-provider/index.js"))("require-from-string");

/** What the engine's provider host gets: the provider's serialized text, loaded and its handler called. */
async function asTheEngineRunsIt<T>(provider: T): Promise<T> {
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return requireFromString(serialized.text).handler() as T;
}

let alerts: AlertsKibana;
before(async () => { alerts = await startAlertsKibana("c2VyaWFsaXplZDprZXk="); });
after(() => alerts.kibana.stop());

test("contract: a Kibana refusal keeps its message in the serialized provider (a second create of one rule_id: 409)", async () => {
  const provider = await asTheEngineRunsIt(detectionRuleProvider);
  const inputs = { connection: alerts.connection, body: scanRuleBody("port_scan", { distinct: 25, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: alerts.connectorId, actionTypeId: ".index" }]) };
  await provider.create(inputs);
  const error = await provider.create(inputs).then(() => undefined, (e: Error) => e);
  assert.ok(error, "the second create is refused");
  assert.equal(typeof error.message, "string");
  assert.match(error.message, /409/);
});

test("an Elasticsearch error keeps its message and status in the serialized provider", async () => {
  const provider = await asTheEngineRunsIt({ fail: (): never => { throw new ElasticsearchError("PUT /_index_template/x: HTTP 400 illegal_argument_exception", 400); } });
  assert.throws(() => provider.fail(), (e: Error & { status?: number }) => e.message === "PUT /_index_template/x: HTTP 400 illegal_argument_exception" && e.status === 400);
});
