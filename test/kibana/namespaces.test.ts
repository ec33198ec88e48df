// One stack's saved objects per data stream namespace (infra/elastic/kibana/namespace.ts): `default` byte for byte
// as before namespaces, any other namespace with its own ids, references, titles and data views.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { buildImportNdjson, loadSavedObjects, type SavedObject } from "../../infra/elastic/kibana/savedObjects";
import { namespacedId, namespacedImportNdjson, namespaceSavedObjects } from "../../infra/elastic/kibana/namespace";
import { lensSearches } from "../../infra/elastic/kibana/lensQuery";
import { savedSearchToSearch } from "../../infra/elastic/kibana/searchQuery";

/**
 * sha256 of buildImportNdjson() taken before namespaces existed (commit 2b1472e): what every existing stack has
 * imported. It changes only when dashboards/kibana is edited on purpose; then take the new value here. Last taken
 * when the Recent alerts search lost `sampleSize` (Kibana 8.9-8.11 refuse it).
 */
const NDJSON_BEFORE_NAMESPACES = "b774e919da40272ae1b0949526c3461a1a7dd972669faeae274777fed32dde89";

const files = loadSavedObjects();
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const parse = (ndjson: string): SavedObject[] => ndjson.trim().split("\n").map((line) => JSON.parse(line));

/** Every string anywhere in a value (JSON-string attributes included, as Kibana stores them). */
function strings(value: unknown): string[] {
  if (typeof value === "string") {
    try {
      const parsed = JSON.parse(value);
      if (parsed && typeof parsed === "object") return [value, ...strings(parsed)];
    } catch { /* a plain string */ }
    return [value];
  }
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

describe("saved objects per namespace", () => {
  test("namespace default: the import NDJSON is byte for byte the one imported before namespaces", () => {
    const ndjson = namespacedImportNdjson({ namespace: "default" });
    assert.equal(ndjson, buildImportNdjson());
    assert.equal(sha256(ndjson), NDJSON_BEFORE_NAMESPACES);
    assert.equal(namespaceSavedObjects(files, { namespace: "default" }), files, "the files' objects, untouched");
  });

  test("namespace dev: every id and every reference to it carries the namespace; the data views read only dev", () => {
    const objects = parse(namespacedImportNdjson({ namespace: "dev" }));
    assert.equal(objects.length, files.length);
    const fileIds = new Set(files.map((o) => o.id));
    for (const [i, object] of objects.entries()) {
      assert.equal(object.id, `${files[i].id}-dev`);
      assert.deepEqual(object.references.map((r) => r.id), files[i].references.map((r) => `${r.id}-dev`), `${object.type}/${object.id}`);
      // No id of the files (another namespace's object) and no every-namespace pattern anywhere in the attributes.
      for (const text of strings(object.attributes)) {
        assert.ok(!fileIds.has(text), `${object.type}/${object.id} holds the id ${text}`);
        assert.ok(!text.includes("logs-azure.flowlogs-*") && !text.includes("flowlogs-alerts*"), `${object.type}/${object.id} reads every namespace: ${text}`);
      }
    }
    const views = objects.filter((o) => o.type === "index-pattern").map((o) => [o.id, o.attributes.title, o.attributes.name]);
    assert.deepEqual(views, [
      ["flowlogs-alerts-data-view-dev", "flowlogs-alerts-dev", "Flow-log alerts [dev]"],
      ["flowlogs-data-view-dev", "logs-azure.flowlogs-dev", "Azure flow logs [dev]"],
    ]);
    const dashboard = objects.find((o) => o.type === "dashboard")!;
    assert.equal(dashboard.attributes.title, "Azure flow logs: overview [dev]");
    assert.deepEqual(objects.filter((o) => o.type !== "index-pattern").map((o) => o.attributes.title),
      files.filter((o) => o.type !== "index-pattern").map((o) => `${o.attributes.title} [dev]`));
    // An alert index of the stack's own choosing is what its alerts data view reads.
    const custom = namespaceSavedObjects(files, { namespace: "dev", alertIndex: "dev-alerts" });
    assert.equal(custom.find((o) => o.id === "flowlogs-alerts-data-view-dev")!.attributes.title, "dev-alerts");
  });

  test("namespace dev: the panels' and the saved searches' own searches go to dev's data stream and alert index only", () => {
    const objects = namespaceSavedObjects(files, { namespace: "dev" });
    const lens = lensSearches(objects, { timeRange: { from: "now-1h", to: "now" }, autoInterval: "5m" });
    assert.equal(Object.keys(lens).length, files.filter((o) => o.type === "lens").length);
    for (const [id, search] of Object.entries(lens)) assert.equal(search.index, "logs-azure.flowlogs-dev", id);
    const dataViews = objects.filter((o) => o.type === "index-pattern");
    const searches = Object.fromEntries(objects.filter((o) => o.type === "search").map((o) => [o.id, savedSearchToSearch(o, dataViews).index]));
    assert.deepEqual(searches, { "flowlogs-denied-flows-search-dev": "logs-azure.flowlogs-dev", "flowlogs-recent-alerts-dev": "flowlogs-alerts-dev" });
  });

  test("no object's id in one namespace is another object's id in another (ids are `<id>-<namespace>`, a namespace has no '-')", () => {
    const ruleIds = ["flowlogs-port-scan", "flowlogs-host-sweep", "flowlogs-new-destination-country", "flowlogs-new-destination-asn"];
    const groups = [...new Set(files.map((o) => o.type))].map((type) => files.filter((o) => o.type === type).map((o) => o.id));
    for (const ids of [...groups, ruleIds]) {
      for (const id of ids) {
        const clash = ids.find((other) => other !== id && other.startsWith(`${id}-`) && /^[a-z0-9_]+$/.test(other.slice(id.length + 1)));
        assert.equal(clash, undefined, `${id} in namespace "${clash?.slice(id.length + 1)}" would be ${clash} of namespace default`);
      }
    }
    assert.equal(namespacedId("flowlogs-port-scan", "prod_weu"), "flowlogs-port-scan-prod_weu");
    assert.throws(() => namespacedId("flowlogs-port-scan", "Prod-1"), /invalid data stream namespace "Prod-1"/);
  });

  test("an object that would read every namespace whatever its id is refused, naming it and the fix", () => {
    const dataView = files.find((o) => o.id === "flowlogs-data-view")!;
    const other = { ...dataView, id: "metrics-view", attributes: { ...dataView.attributes, title: "metrics-*" } };
    assert.throws(() => namespaceSavedObjects([other], { namespace: "dev" }), /index-pattern\/metrics-view reads "metrics-\*".*teach it what this data view reads in one namespace/);
    const lens = files.find((o) => o.type === "lens")!;
    const adHoc = { ...lens, attributes: { ...lens.attributes, state: { ...lens.attributes.state, adHocDataViews: { x: { title: "logs-azure.flowlogs-*" } } } } };
    assert.throws(() => namespaceSavedObjects([adHoc], { namespace: "dev" }), new RegExp(`lens/${lens.id} names logs-azure\\.flowlogs-\\* itself: read it through the data view`));
    assert.doesNotThrow(() => namespaceSavedObjects([adHoc], { namespace: "default" }), "default keeps the files as they are");
  });

  test("a data view id in an object's attributes (JSON-encoded or not), or a reference to a data view the files do not declare, is refused, naming it and the fix", () => {
    const dataView = files.find((o) => o.id === "flowlogs-data-view")!;
    const dashboard = files.find((o) => o.type === "dashboard")!;
    const controls = { ...dashboard, attributes: { ...dashboard.attributes, controlGroupInput: { panelsJSON: JSON.stringify({ c1: { explicitInput: { dataViewId: dataView.id } } }) } } };
    assert.throws(() => namespaceSavedObjects([dataView, controls], { namespace: "dev" }), new RegExp(`dashboard/${dashboard.id} names data view flowlogs-data-view in its attributes: refer to it through references`));
    const lens = files.find((o) => o.type === "lens")!;
    const inline = { ...lens, attributes: { ...lens.attributes, state: { ...lens.attributes.state, dataViewId: dataView.id } } };
    assert.throws(() => namespaceSavedObjects([dataView, inline], { namespace: "dev" }), /names data view flowlogs-data-view in its attributes/);
    const foreign = { ...lens, references: [{ type: "index-pattern", id: "security-solution-default", name: "indexpattern-datasource-layer-x" }] };
    assert.throws(() => namespaceSavedObjects([dataView, foreign], { namespace: "dev" }), new RegExp(`lens/${lens.id} refers to data view security-solution-default, which dashboards/kibana does not declare: every namespace would read it`));
    assert.doesNotThrow(() => namespaceSavedObjects([dataView, controls, inline, foreign], { namespace: "default" }), "default keeps the files as they are");
    assert.doesNotThrow(() => namespaceSavedObjects(files, { namespace: "dev" }), "the files hold none");
  });
});
