// The "new outbound destination country / ASN for a resource" rules proven on the real Elasticsearch: the searches
// the Security new_terms rule runs (infra/elastic/kibana/newTermsQuery.ts, rebuilt from Kibana's code), phase by
// phase, over 20 days of allowed outbound flows with planted new destinations. Every planted one found, once;
// nothing on the normal traffic.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@elastic/elasticsearch";
import { elasticsearchUrl } from "../support/env";
import { esClient, uniqueNamespace } from "../support/esClient";
import { newDestinationRuleBody } from "../../infra/elastic/kibana/newDestination";
import { newTermsSearch, recentTermsSearch, resolveDateMath, runNewTermsRule, termBatches, type TermsKey } from "../../infra/elastic/kibana/newTermsQuery";
import { type RuleSearch, withoutPipelineAggs } from "../../infra/elastic/kibana/ruleQuery";
import { securityRuleWindow } from "../../infra/elastic/kibana/ruleReplay";
import { AMAZON_US, CHINANET_CN, type ExternalFlow, type Geo, GOOGLE_US, HETZNER_DE, indexExternalFlows, MICROSOFT_NL, OVH_FR } from "./externalFlows";

const WINDOW_A = { from: "2026-11-20T10:00:00.000Z", to: "2026-11-20T10:05:00.000Z" };
// The next window, five minutes on, with the rule's extra minute of look-back (from: now-11m, to: now-5m: the run at
// 10:20 counts it, late flows in; lateArrival.test.ts replays a first flow arriving late).
const WINDOW_B = { from: "2026-11-20T10:09:00.000Z", to: "2026-11-20T10:15:00.000Z" };
/** NSG-WEB's first allowed flow to France, at the very start of the 10:10-10:15 interval. */
const AT_INTERVAL_START = "2026-11-20T10:10:00.000Z";
const resourceId = (name: string) => `/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/${name}`;
const WEB = resourceId("NSG-WEB");
const APP = resourceId("vnet-app");

const daysBefore = (days: number, window = WINDOW_A) => new Date(Date.parse(window.from) - days * 86_400_000).toISOString();
const inWindow = (window: { from: string }, second: number) => new Date(Date.parse(window.from) + second * 1000).toISOString();
const out = (at: string, resource: string, dst: string, dstGeo: Geo | undefined, action: "allowed" | "denied" = "allowed"): ExternalFlow =>
  ({ at, src: "10.2.0.4", dst, port: 443, action, rule: "DefaultRule_AllowInternetOutBound", resource, locality: "to_internet", dstGeo });

/** What the resources reached in the 14 days before window A (and vnet-app reached China 20 days before: outside it). */
const history: ExternalFlow[] = [
  out(daysBefore(3), "vnet-app", "20.50.2.1", MICROSOFT_NL), out(daysBefore(1), "vnet-app", "20.50.2.1", MICROSOFT_NL),
  out(daysBefore(2), "vnet-app", "142.250.0.1", GOOGLE_US),
  out(daysBefore(5), "NSG-WEB", "142.250.0.1", GOOGLE_US), out(daysBefore(10), "NSG-WEB", "88.99.0.2", HETZNER_DE),
  out(daysBefore(20), "vnet-app", "1.80.0.2", CHINANET_CN),
];
/** Known pairs again, and what must never alert: denied outbound, inbound, addresses without geo. */
const normal = (window: { from: string }): ExternalFlow[] => [
  out(inWindow(window, 10), "vnet-app", "20.50.2.1", MICROSOFT_NL), out(inWindow(window, 20), "vnet-app", "142.250.0.2", GOOGLE_US),
  out(inWindow(window, 30), "NSG-WEB", "142.250.0.1", GOOGLE_US), out(inWindow(window, 40), "NSG-WEB", "88.99.0.2", HETZNER_DE),
  out(inWindow(window, 50), "NSG-WEB", "51.68.0.1", OVH_FR, "denied"),
  out(inWindow(window, 60), "vnet-app", "198.51.100.5", undefined),
  { at: inWindow(window, 70), src: "51.68.0.9", dst: "10.1.0.4", port: 22, action: "allowed", rule: "UserRule_AllowSsh", resource: "NSG-WEB", locality: "from_internet", srcGeo: OVH_FR },
];
/** Planted in window A: vnet-app reaches Germany / Hetzner (known only to NSG-WEB) twice, China / Chinanet again
 * after 20 days, NSG-WEB a new ASN (Amazon) in a known country (US). */
const planted: ExternalFlow[] = [
  out(inWindow(WINDOW_A, 100), "vnet-app", "88.99.0.3", HETZNER_DE), out(inWindow(WINDOW_A, 130), "vnet-app", "88.99.0.3", HETZNER_DE),
  out(inWindow(WINDOW_A, 110), "vnet-app", "1.80.0.2", CHINANET_CN),
  out(inWindow(WINDOW_A, 120), "NSG-WEB", "52.0.0.1", AMAZON_US),
];
// Window B repeats the planted destinations: by then they are history, so nothing is new but France.
const flows = [...history, ...normal(WINDOW_A), ...planted, ...normal(WINDOW_B), ...planted.map((f, i) => ({ ...f, at: inWindow(WINDOW_B, 200 + i) })),
  out(AT_INTERVAL_START, "NSG-WEB", "51.68.0.1", OVH_FR)];

const country = newDestinationRuleBody("country", { historyDays: 14, windowMinutes: 5, lateArrivalMinutes: 5 });
const asn = newDestinationRuleBody("asn", { historyDays: 14, windowMinutes: 5, lateArrivalMinutes: 5 });

let es: Client;
let dataStream: string;
before(async () => {
  es = esClient(elasticsearchUrl());
  dataStream = await indexExternalFlows(es, uniqueNamespace("newdest"), flows);
});
after(async () => { await es?.close(); });

// The test engine has no aggregations module (no bucket_selector): it is left out and its test applied to the buckets.
const search = async (request: RuleSearch) => es.search({ index: dataStream, ...withoutPipelineAggs(request).body } as any);
const found = async (rule: typeof country, window: typeof WINDOW_A) =>
  (await runNewTermsRule(rule, window, search)).map((a): Record<string, unknown> => ({ ...a.terms, firstSeen: a.firstSeen, dst: (a.event as any)?.destination?.ip }))
    .sort((a, b) => String(a.firstSeen).localeCompare(String(b.firstSeen)));

describe("new outbound destination on the real Elasticsearch: planted ones found once, normal traffic quiet", () => {
  test("country: vnet-app's first flows to Germany and (after 20 days) China, each with its first flow", async () => {
    assert.deepEqual(await found(country, WINDOW_A), [
      { "azure.resource.id": APP, "destination.geo.country_iso_code": "DE", firstSeen: inWindow(WINDOW_A, 100), dst: "88.99.0.3" },
      { "azure.resource.id": APP, "destination.geo.country_iso_code": "CN", firstSeen: inWindow(WINDOW_A, 110), dst: "1.80.0.2" },
    ], "not NSG-WEB's Germany (10 days old), not the US for either, not France (denied), not the inbound or ungeolocated flows");
    assert.deepEqual(await found(country, WINDOW_B), [{ "azure.resource.id": WEB, "destination.geo.country_iso_code": "FR", firstSeen: AT_INTERVAL_START, dst: "51.68.0.1" }],
      "the same destinations five minutes later are history; NSG-WEB's first allowed flow to France is new");
  });

  test("ASN: vnet-app's Hetzner and Chinanet, and NSG-WEB's Amazon (a new AS in a known country)", async () => {
    assert.deepEqual(await found(asn, WINDOW_A), [
      { "azure.resource.id": APP, "destination.as.number": 24940, firstSeen: inWindow(WINDOW_A, 100), dst: "88.99.0.3" },
      { "azure.resource.id": APP, "destination.as.number": 4134, firstSeen: inWindow(WINDOW_A, 110), dst: "1.80.0.2" },
      { "azure.resource.id": WEB, "destination.as.number": 16509, firstSeen: inWindow(WINDOW_A, 120), dst: "52.0.0.1" },
    ]);
    assert.deepEqual((await found(asn, WINDOW_B)).map((a) => [a["azure.resource.id"], a["destination.as.number"]]), [[WEB, 16276]]);
  });

  test("the extra minute of look-back: without it a pair first seen exactly at the interval start is never new (first_seen > start)", async () => {
    assert.deepEqual([country.interval, country.from, country.to], ["5m", "now-11m", "now-5m"]);
    assert.deepEqual(securityRuleWindow(country, new Date("2026-11-20T10:20:00.000Z")), WINDOW_B, "window B is the 10:20 run's");
    assert.deepEqual(await found(country, { from: AT_INTERVAL_START, to: WINDOW_B.to }), [], "Kibana's test is strict; the next run sees it as history");
  });

  test("a history window reaching back 21 days knows China: only Germany is new", async () => {
    const longer = newDestinationRuleBody("country", { historyDays: 21, windowMinutes: 5, lateArrivalMinutes: 5 });
    assert.deepEqual((await found(longer, WINDOW_A)).map((a) => a["destination.geo.country_iso_code"]), ["DE"]);
  });
});

describe("the searches as Kibana sends them", () => {
  test("phase 1: composite over the rule window on (resource, country), the rule's KQL as the filter", () => {
    const body = recentTermsSearch(country, WINDOW_A).body;
    assert.deepEqual(body.aggs.new_terms.composite, { sources: [{ "azure.resource.id": { terms: { field: "azure.resource.id" } } }, { "destination.geo.country_iso_code": { terms: { field: "destination.geo.country_iso_code" } } }], size: 10000 });
    assert.deepEqual(body.query.bool.filter[1], { range: { "@timestamp": { lte: WINDOW_A.to, gte: WINDOW_A.from, format: "strict_date_optional_time" } } });
    assert.deepEqual(body.query.bool.filter[0], { bool: { filter: [{ match_phrase: { "azure.flowlog.locality": "to_internet" } }, { match_phrase: { "event.action": "allowed" } }] } });
  });

  test("phase 2: history start resolved against the window's end, the batch as should-of-musts, first_seen > window start", () => {
    const batch: TermsKey[] = [{ "azure.resource.id": APP, "destination.geo.country_iso_code": "DE" }];
    const body = newTermsSearch(country, WINDOW_A, batch, undefined, false).body;
    assert.equal(resolveDateMath("now-14d", WINDOW_A.to), "2026-11-06T10:05:00.000Z");
    assert.equal(body.query.bool.filter[1].range["@timestamp"].gte, "2026-11-06T10:05:00.000Z");
    assert.deepEqual(body.query.bool.filter[0].bool.filter[1], { bool: { should: [{ bool: { must: [{ match: { "azure.resource.id": APP } }, { match: { "destination.geo.country_iso_code": "DE" } }] } }] } });
    assert.deepEqual(body.aggs.new_terms.aggs.filtering_agg.bucket_selector, { buckets_path: { first_seen_value: "first_seen" }, script: { params: { start_time: Date.parse(WINDOW_A.from) }, source: "params.first_seen_value > params.start_time" } });
    assert.equal(body.aggs.new_terms.composite.size, 1);
    assert.ok(!("docs" in body.aggs.new_terms.aggs));
    assert.deepEqual(newTermsSearch(country, WINDOW_A, batch, undefined, true).body.aggs.new_terms.aggs.docs, { top_hits: { size: 1, sort: [{ "@timestamp": "asc" }] } });
  });

  test("phase 1's combinations go to phases 2 and 3 in batches of 500", () => {
    const keys = Array.from({ length: 1001 }, (_, i) => ({ k: i }));
    assert.deepEqual(termBatches(keys).map((b) => b.length), [500, 500, 1]);
  });
});
