// The new-outbound-destination rules (Security new_terms) against the Kibana double, which holds them to Kibana's
// schema for that rule type (sources in support/fakeKibana.ts), and check() naming the field Kibana would refuse.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { KibanaConnection } from "../../infra/elastic/kibana/client";
import { checkDetectionRuleBody, detectionRuleProvider, DetectionRuleInputs } from "../../infra/elastic/kibana/detectionRuleResource";
import { newDestinationRuleBody } from "../../infra/elastic/kibana/newDestination";
import { FakeKibana, newTermsRuleProblem } from "./support/fakeKibana";
import { startAlertsKibana } from "./support/alertsKibana";

const API_KEY = "bmV3OnRlcm1zLWtleQ==";

describe("new-destination rules on the Kibana double", () => {
  let kibana: FakeKibana;
  let connection: KibanaConnection;
  let connectorId: string;
  before(async () => {
    ({ kibana, connection, connectorId } = await startAlertsKibana(API_KEY));
  });
  after(() => kibana.stop());

  test("contract: the country and ASN new_terms rules are created by rule_id, read back without drift, updated on a new history window, deleted", async () => {
    for (const kind of ["country", "asn"] as const) {
      const inputs: DetectionRuleInputs = { connection, body: newDestinationRuleBody(kind, { historyDays: 14, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: connectorId, actionTypeId: ".index" }]) };
      assert.deepEqual((await detectionRuleProvider.check!({} as any, inputs)).failures, []);
      const created = await detectionRuleProvider.create(inputs);
      assert.equal(created.id, `flowlogs-new-destination-${kind}`);
      const stored = kibana.space().detectionRules.get(created.id);
      assert.equal(stored.type, "new_terms");
      assert.deepEqual(stored.new_terms_fields, ["azure.resource.id", kind === "country" ? "destination.geo.country_iso_code" : "destination.as.number"]);
      assert.equal(stored.history_window_start, "now-14d");
      assert.equal(stored.query, 'azure.flowlog.locality : "to_internet" and event.action : "allowed"');
      assert.deepEqual(stored.actions[0].params.documents[0].detection, `new_destination_${kind}`);
      const read = await detectionRuleProvider.read!(created.id, created.outs!);
      assert.equal((await detectionRuleProvider.diff!(created.id, created.outs!, read.props as DetectionRuleInputs)).changes, false);

      const news: DetectionRuleInputs = { connection, body: newDestinationRuleBody(kind, { historyDays: 30, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: connectorId, actionTypeId: ".index" }]) };
      assert.equal((await detectionRuleProvider.diff!(created.id, created.outs!, news)).changes, true);
      await detectionRuleProvider.update!(created.id, created.outs!, news);
      assert.equal(kibana.space().detectionRules.get(created.id).history_window_start, "now-30d");
      await detectionRuleProvider.delete!(created.id, created.outs!);
      assert.equal(kibana.space().detectionRules.has(created.id), false);
    }
  });

  test("contract: the double refuses what Kibana's new_terms schema and params check refuse", () => {
    const connectors = kibana.space().connectors;
    const body = newDestinationRuleBody("country", { historyDays: 14, windowMinutes: 5, lateArrivalMinutes: 5 }, [{ id: connectorId, actionTypeId: ".index" }]);
    assert.equal(newTermsRuleProblem(body, connectors), undefined);
    assert.match(newTermsRuleProblem({ ...body, new_terms_fields: [] }, connectors)!, /at least 1/);
    assert.match(newTermsRuleProblem({ ...body, new_terms_fields: ["a", "b", "c", "d"] }, connectors)!, /at most 3/);
    assert.match(newTermsRuleProblem({ ...body, history_window_start: "" }, connectors)!, /history_window_start: Required/);
    assert.match(newTermsRuleProblem({ ...body, history_window_start: "fortnight" }, connectors)!, /Failed to parse 'historyWindowStart'/);
    assert.match(newTermsRuleProblem({ ...body, history_window_start: "now-5m" }, connectors)!, /'historyWindowStart' must be earlier than 'from'/);
    assert.match(newTermsRuleProblem({ ...body, threshold: { field: [], value: 1 } }, connectors)!, /threshold: unknown field/);
    assert.match(newTermsRuleProblem({ ...body, actions: [{ ...body.actions[0], group: "query matched" }] }, connectors)!, /Invalid action groups/);
  });

  test("check() names the field Kibana would refuse, before any call", () => {
    const body = newDestinationRuleBody("asn", { historyDays: 14, windowMinutes: 5, lateArrivalMinutes: 5 });
    assert.deepEqual(checkDetectionRuleBody(body), []);
    assert.deepEqual(checkDetectionRuleBody({ ...body, new_terms_fields: ["a", "b", "c", "d"] }).map((f) => f.property), ["body.new_terms_fields"]);
    const tooShort = checkDetectionRuleBody({ ...body, history_window_start: "now-5m" });
    assert.deepEqual(tooShort.map((f) => f.property), ["body.history_window_start"]);
    assert.match(tooShort[0].reason, /earlier than from "now-11m"/);
    assert.deepEqual(checkDetectionRuleBody({ ...body, history_window_start: "last week" }).map((f) => f.property), ["body.history_window_start"]);
  });
});
