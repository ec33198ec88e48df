import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { kqlToQuery, lensSearches, lensToSearch } from "../../infra/elastic/kibana/lensQuery";
import { loadSavedObjects } from "../../infra/elastic/kibana/savedObjects";
import { evaluateFormulas, formulaHelperColumns } from "../../infra/elastic/kibana/lensFormula";

const objects = loadSavedObjects();
const range = { from: "2026-01-01T00:00:00.000Z", to: "2026-01-01T06:00:00.000Z" };
const searches = lensSearches(objects, { timeRange: range, autoInterval: "30m" });

describe("Lens visualization -> Elasticsearch aggregation request", () => {
  test("every Lens object yields { size: 0, query, aggs } on the data view's pattern, limited to the time range", () => {
    const lensIds = objects.filter((o) => o.type === "lens").map((o) => o.id).sort();
    assert.deepEqual(Object.keys(searches).sort(), lensIds);
    for (const [id, search] of Object.entries(searches)) {
      assert.equal(search.index, "logs-azure.flowlogs-*", id);
      assert.equal(search.body.size, 0, id);
      assert.equal(typeof search.body.aggs, "object", id);
      const filters = (search.body.query as any).bool.filter;
      assert.deepEqual(filters.at(-1), { range: { "@timestamp": { gte: range.from, lte: range.to, format: "strict_date_optional_time" } } }, id);
    }
  });

  test("metrics: total flows is a plain count; denied flows filters event.action: denied", () => {
    assert.deepEqual(searches["flowlogs-total-flows"].body.aggs, {});
    assert.equal((searches["flowlogs-total-flows"].body.query as any).bool.filter.length, 1);
    assert.deepEqual((searches["flowlogs-denied-flows"].body.query as any).bool.filter[0], { match_phrase: { "event.action": "denied" } });
  });

  test("allowed vs denied over time nests a date histogram under terms on event.action ordered by count", () => {
    assert.deepEqual(searches["flowlogs-flows-over-time-by-action"].body.aggs, {
      action: {
        terms: { field: "event.action", size: 3, order: { _count: "desc" } },
        aggs: { timestamp: { date_histogram: { field: "@timestamp", fixed_interval: "30m", min_doc_count: 0, extended_bounds: { min: range.from, max: range.to } } } },
      },
    });
  });

  test("top-N bars are terms aggregations of the right field and size", () => {
    const terms = (id: string) => Object.values<any>(searches[id].body.aggs)[0].terms;
    assert.deepEqual(terms("flowlogs-top-source-ips"), { field: "source.ip", size: 10, order: { _count: "desc" } });
    assert.deepEqual(terms("flowlogs-top-destination-ips"), { field: "destination.ip", size: 10, order: { _count: "desc" } });
    assert.deepEqual(terms("flowlogs-top-destination-ports"), { field: "destination.port", size: 10, order: { _count: "desc" } });
    assert.equal(terms("flowlogs-denied-flows-by-rule").field, "rule.name");
    assert.deepEqual((searches["flowlogs-denied-flows-by-rule"].body.query as any).bool.filter[0], { match_phrase: { "event.action": "denied" } });
    assert.equal(searches["flowlogs-flows-by-resource"].body.aggs.resource.terms.field, "azure.resource.name");
    assert.equal(searches["flowlogs-flows-by-resource"].body.aggs.resource.aggs.action.terms.field, "event.action");
  });

  test("bytes by direction orders directions by their byte sum and sums bytes per interval", () => {
    const direction = searches["flowlogs-bytes-over-time-by-direction"].body.aggs.direction;
    assert.deepEqual(direction.terms, { field: "network.direction", size: 2, order: { order_bytes: "desc" } });
    assert.deepEqual(direction.aggs.order_bytes, { sum: { field: "network.bytes" } });
    assert.deepEqual(direction.aggs.timestamp.aggs, { bytes: { sum: { field: "network.bytes" } } });
  });

  test("without a time range there is no range filter and auto intervals default to 1h", () => {
    const lens = objects.find((o) => o.id === "flowlogs-flows-over-time-by-action")!;
    const search = lensToSearch(lens, { dataViews: objects.filter((o) => o.type === "index-pattern") });
    assert.deepEqual(search.body.query, { match_all: {} });
    assert.deepEqual(search.body.aggs.action.aggs.timestamp, { date_histogram: { field: "@timestamp", fixed_interval: "1h" } });
  });

  test("connections: the duration formula's helpers are max/min of @timestamp, the states are filtered counts; the formula itself adds no aggregation", () => {
    const aggs = searches["flowlogs-connections"].body.aggs;
    assert.deepEqual(aggs.community_id.terms, { field: "network.community_id", size: 20, order: { _count: "desc" } });
    const inner = aggs.community_id.aggs;
    assert.deepEqual(inner.durationX0, { max: { field: "@timestamp" } });
    assert.deepEqual(inner.durationX1, { min: { field: "@timestamp" } });
    assert.equal(inner.duration, undefined);
    assert.equal(inner.durationX2, undefined);
    assert.deepEqual(inner.state_begin, { filter: { match_phrase: { "azure.flowlog.state": "begin" } } });
    assert.deepEqual(inner.state_deny, { filter: { match_phrase: { "azure.flowlog.state": "deny" } } });
    assert.equal(inner.states, undefined, "no distinct count of states any more");
  });

  test("formulas are evaluated as Kibana does: the math column over its helpers, null when an operand is missing", () => {
    const lens = objects.find((o) => o.id === "flowlogs-connections")!;
    const columns = lens.attributes.state.datasourceStates.formBased.layers.flows.columns;
    assert.deepEqual([...formulaHelperColumns(columns)].sort(), ["durationX0", "durationX1", "durationX2"]);
    const row: Record<string, unknown> = { durationX0: Date.parse("2026-01-01T00:02:30.500Z"), durationX1: Date.parse("2026-01-01T00:00:00.000Z") };
    evaluateFormulas(columns, row);
    assert.equal(row.duration, 150.5);
    const empty: Record<string, unknown> = { durationX0: null, durationX1: null };
    evaluateFormulas(columns, empty);
    assert.equal(empty.duration, null);
    const pow = structuredClone(columns);
    pow.durationX2.params.tinymathAst.name = "pow";
    assert.throws(() => evaluateFormulas(pow, { ...row }, "lens x"), /lens x: tinymath function "pow" with 2 arguments is not supported/);
  });

  test("what cannot be translated faithfully fails with a message naming it", () => {
    const lens = structuredClone(objects.find((o) => o.id === "flowlogs-top-source-ips")!);
    lens.attributes.state.datasourceStates.formBased.layers.flows.columns.flows.operationType = "percentile_rank";
    assert.throws(() => lensToSearch(lens), /lens flowlogs-top-source-ips: column "flows" uses operation "percentile_rank"/);
    const other = structuredClone(objects.find((o) => o.id === "flowlogs-top-source-ips")!);
    other.references = [];
    assert.throws(() => lensToSearch(other), /no reference "indexpattern-datasource-layer-flows"/);
  });

  test("KQL subset: fields, phrases, exists, not, and/or with and binding tighter, parentheses", () => {
    assert.deepEqual(kqlToQuery(""), { match_all: {} });
    assert.deepEqual(kqlToQuery('event.action : "denied"'), { match_phrase: { "event.action": "denied" } });
    assert.deepEqual(kqlToQuery("destination.port: 22"), { match: { "destination.port": "22" } });
    assert.deepEqual(kqlToQuery("rule.name : *"), { exists: { field: "rule.name" } });
    assert.deepEqual(kqlToQuery("a:1 or b:2 and not c:3"), {
      bool: { should: [{ match: { a: "1" } }, { bool: { filter: [{ match: { b: "2" } }, { bool: { must_not: [{ match: { c: "3" } }] } }] } }], minimum_should_match: 1 },
    });
    assert.deepEqual(kqlToQuery("(a:1 or b:2) and c:3"), {
      bool: { filter: [{ bool: { should: [{ match: { a: "1" } }, { match: { b: "2" } }], minimum_should_match: 1 } }, { match: { c: "3" } }] },
    });
    assert.throws(() => kqlToQuery("denied"), /free-text search is not supported/);
    assert.throws(() => kqlToQuery("a : 1 )"), /unexpected "\)"/);
    assert.throws(() => kqlToQuery("a : 1", "q", "lucene"), /language "lucene" is not supported/);
  });
});
