// Geo/AS enrichment from stack config to the container: `collector.geoip` becomes the collector's FLOWLOGS_GEOIP*
// variables (unset means the collector's default: on, the shipped country database), and the collector's own
// settings parser accepts what the group declares.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../collector/src/service/config";
import { parseConfig } from "../../infra/config";
import { CONTEXT, only } from "./configProblems";
import { planJson, vnetId } from "./planHelpers";

const stack = (geoip?: unknown) => ({
  location: "westeurope",
  storage: { accountName: "flowlogstest01", networkDefaultAction: "Allow" },
  flowLogs: [vnetId("vnet1")],
  collector: { enabled: true, image: "ghcr.io/acme/flowlogs-collector-geoip:2.0.0", elasticsearch: { url: "https://es.example.com" }, ...(geoip ? { geoip } : {}) },
  collectorEsApiKey: "[secret]",
});

async function declaredEnvironment(raw: Record<string, unknown>): Promise<Record<string, string>> {
  // In a stack file the key is an encrypted value (a plain one is refused).
  const group = (await planJson({ ...raw, collectorEsApiKey: { secure: "v1:abc" } })).find((r) => r.type === "azure-native:containerinstance:ContainerGroup")!;
  const variables = (group.inputs.containers as any[])[0].environmentVariables as Array<{ name: string; value?: string }>;
  return Object.fromEntries(variables.filter((v) => "value" in v).map((v) => [v.name, v.value!]));
}

test("collector.geoip reaches the container as FLOWLOGS_GEOIP*, and the collector's parser reads it back", async () => {
  const byDefault = await declaredEnvironment(stack());
  assert.deepEqual(Object.keys(byDefault).filter((name) => name.startsWith("FLOWLOGS_GEOIP")), [], "the default needs no variable");
  assert.equal(loadConfig({ ...byDefault, FLOWLOGS_ES_API_KEY: "k" }).geoip.enabled, true);

  const own = await declaredEnvironment(stack({ database: "/geoip/GeoLite2-City.mmdb", asnDatabase: "/geoip/GeoLite2-ASN.mmdb" }));
  assert.equal(own.FLOWLOGS_GEOIP_DATABASE, "/geoip/GeoLite2-City.mmdb");
  assert.equal(own.FLOWLOGS_GEOIP_ASN_DATABASE, "/geoip/GeoLite2-ASN.mmdb");
  assert.deepEqual(loadConfig({ ...own, FLOWLOGS_ES_API_KEY: "k" }).geoip,
    { enabled: true, geoDatabase: "/geoip/GeoLite2-City.mmdb", asnDatabase: "/geoip/GeoLite2-ASN.mmdb", cacheEntries: 10000 });

  // "none": the ASN tables shipped in the image are not loaded; geo stays on.
  const noAs = await declaredEnvironment(stack({ asnDatabase: "none" }));
  assert.equal(noAs.FLOWLOGS_GEOIP_ASN_DATABASE, "none");
  assert.deepEqual(loadConfig({ ...noAs, FLOWLOGS_ES_API_KEY: "k" }).geoip, { enabled: true, geoDatabase: undefined, asnDatabase: "none", cacheEntries: 10000 });

  const off = await declaredEnvironment(stack({ enabled: false }));
  assert.equal(off.FLOWLOGS_GEOIP, "off");
  assert.equal(loadConfig({ ...off, FLOWLOGS_ES_API_KEY: "k" }).geoip.enabled, false);
});

test("collector.geoip is checked: booleans, absolute .mmdb paths, no paths while off, no unknown keys", () => {
  assert.deepEqual((parseConfig(stack(), CONTEXT).collector as any).geoip, { enabled: true });
  assert.match(only(stack({ enabled: "no" }), "collector.geoip.enabled"), /true or false/);
  assert.match(only(stack({ database: "GeoLite2-City.mmdb" }), "collector.geoip.database"), /absolute path to a \.mmdb file inside the container.*FROM the collector's.*collector\.image/);
  assert.match(only(stack({ asnDatabase: "/geoip/asn.csv" }), "collector.geoip.asnDatabase"), /absolute path to a \.mmdb file.*or "none" for no AS fields/);
  assert.match(only(stack({ asnDatabase: "off" }), "collector.geoip.asnDatabase"), /or "none" for no AS fields/);
  assert.deepEqual((parseConfig(stack({ asnDatabase: "none" }), CONTEXT).collector as any).geoip, { enabled: true, asnDatabase: "none" });
  assert.match(only(stack({ enabled: false, database: "/geoip/x.mmdb" }), "collector.geoip.database"), /is set but collector\.geoip\.enabled is false/);
  assert.match(only(stack({ databse: "/geoip/x.mmdb" }), "collector.geoip.databse"), /did you mean "collector.geoip.database"/);
  assert.match(only(stack("yes" as never), "collector.geoip"), /must be an object/);
});
