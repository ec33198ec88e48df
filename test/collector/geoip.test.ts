// Geo/AS enrichment (collector/src/enrich/geoIp.ts): both record shapes read from real .mmdb files (the shipped
// ip-location-db country database, and MaxMind-shaped City/ASN databases written by MaxMind's own writer), only
// public endpoints enriched, ids unchanged, the cache bounded, and every bad database a start-up ConfigError.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Reader } from "mmdb-lib";
import { parseFlowLogText } from "../../collector/src/format";
import { SHIPPED_GEO_DATABASE, openGeoIp, type GeoIpSettings } from "../../collector/src/enrich/geoIp";
import { addressText, asnCsvRows } from "../support/shippedAsnRows";
import { ConfigError, loadConfig, loadGeoIpSettings, openEnrichment } from "../../collector/src/service/config";
import { testDatabases } from "../support/mmdbFixtures";
import { scratchDir } from "../support/scratchDir";

const settings = (overrides: Partial<GeoIpSettings> = {}): GeoIpSettings => ({ enabled: true, cacheEntries: 1000, ...overrides });

test("the shipped database (ip-location-db flat country records): ISO code as the file says, English name and continent added", () => {
  const geo = openGeoIp(settings({ asnDatabase: "none" }))!;
  const reader = new Reader<Record<string, unknown>>(readFileSync(SHIPPED_GEO_DATABASE));
  assert.match(reader.metadata.databaseType, /country/);
  // 8.8.8.8 is Google's public resolver, registered in the US for as long as it has existed; the expected code is
  // still read from the file, so a database update cannot break this, only a change of record shape.
  for (const ip of ["8.8.8.8", "20.50.2.1", "2001:4860:4860::8888"]) {
    const code = reader.get(ip)!.country_code as string;
    assert.match(code, /^[A-Z]{2}$/);
    const fields = geo.lookup(ip)!;
    assert.equal(fields.geo!.country_iso_code, code, ip);
    assert.equal(fields.geo!.country_name, new Intl.DisplayNames(["en"], { type: "region" }).of(code));
    assert.ok(fields.geo!.continent_code && fields.geo!.continent_name, `continent of ${code}`);
    assert.equal(fields.as, undefined, "FLOWLOGS_GEOIP_ASN_DATABASE=none: no AS data");
  }
  assert.equal(geo.lookup("8.8.8.8")!.geo!.country_iso_code, "US");
  assert.deepEqual(geo.lookup("8.8.8.8")!.geo, { continent_code: "NA", continent_name: "North America", country_iso_code: "US", country_name: "United States" });
  // An IPv4-mapped IPv6 address is its IPv4 address, as for the AS data and the address classes.
  for (const mapped of ["::ffff:8.8.8.8", "::ffff:808:808", "0:0:0:0:0:ffff:8.8.8.8"]) assert.deepEqual(geo.lookup(mapped)?.geo, geo.lookup("8.8.8.8")!.geo, mapped);
});

test("MaxMind-shaped City and ASN databases: every ECS field they carry, English names, region code prefixed with the country", () => {
  const dbs = testDatabases();
  const geo = openGeoIp(settings({ geoDatabase: dbs.city, asnDatabase: dbs.asn }))!;
  assert.deepEqual(geo.lookup("20.50.2.1"), {
    geo: {
      continent_code: "EU", continent_name: "Europe", country_iso_code: "NL", country_name: "Netherlands",
      region_iso_code: "NL-NH", region_name: "North Holland", city_name: "Amsterdam", location: { lat: 52.3759, lon: 4.8975 },
    },
    as: { number: 8075, organization: { name: "MICROSOFT-CORP-MSN-AS-BLOCK" } },
  });
  assert.deepEqual(geo.lookup("52.1.2.3"), {
    geo: { continent_code: "NA", continent_name: "North America", country_iso_code: "US", country_name: "United States" },
    as: { number: 16509, organization: { name: "AMAZON-02" } },
  });
  // No continent in the record: taken from the country; an AS without a name has only its number.
  assert.deepEqual(geo.lookup("2a01:111::1"), {
    geo: { continent_code: "EU", continent_name: "Europe", country_iso_code: "IE", country_name: "Ireland" },
    as: { number: 8075 },
  });
  assert.equal(geo.lookup("81.2.69.1"), undefined, "an address neither database knows gets nothing");
  assert.equal(geo.lookupJson("81.2.69.1"), "");
  assert.equal(geo.lookupJson("52.1.2.3"),
    ',"geo":{"continent_code":"NA","continent_name":"North America","country_iso_code":"US","country_name":"United States"},"as":{"number":16509,"organization":{"name":"AMAZON-02"}}');
});

test("ip-location-db flat city records: city, state1 as the region name, latitude/longitude as the location", () => {
  const geo = openGeoIp(settings({ geoDatabase: testDatabases().flatCity, asnDatabase: "none" }))!;
  assert.deepEqual(geo.lookup("20.50.9.9"), {
    geo: {
      continent_code: "EU", continent_name: "Europe", country_iso_code: "NL", country_name: "Netherlands",
      region_name: "North Holland", city_name: "Amsterdam", location: { lat: 52.37, lon: 4.89 },
    },
  });
});

/** The CSV row holding an address, found by a plain scan of the file (not the collector's tables). */
function csvAs(family: 4 | 6, value: bigint): { number: number; organization: { name: string } } | undefined {
  const row = asnCsvRows(family).find((candidate) => candidate.first <= value && value <= candidate.last);
  return row && { number: row.asn, organization: { name: row.organization } };
}

test("default settings: the shipped ASN data answers as.* for public IPv4, IPv6 and IPv4-mapped addresses, as its CSV rows say", () => {
  const geo = openGeoIp(settings())!;
  // Well-known resolvers, looked up in the CSV itself so a data update cannot break this.
  const cases: [string, 4 | 6, bigint][] = [
    ["8.8.8.8", 4, 0x08080808n], ["1.1.1.1", 4, 0x01010101n], ["20.50.2.1", 4, (20n << 24n) | (50n << 16n) | (2n << 8n) | 1n],
    ["2001:4860:4860::8888", 6, 0x20014860486000000000000000008888n], ["::ffff:8.8.8.8", 4, 0x08080808n],
  ];
  for (const [ip, family, value] of cases) {
    const expected = csvAs(family, value);
    assert.ok(expected, `${ip} is in the shipped CSV`);
    assert.deepEqual(geo.lookup(ip)!.as, expected, ip);
    if (!ip.startsWith("::ffff:")) assert.ok(geo.lookup(ip)!.geo?.country_iso_code, `${ip}: geo still from the country database`);
  }
  // Rows whose names need care in JSON (quotes, non-ASCII) come through the same JSON pieces.
  const quoted = asnCsvRows(4).find((row) => row.organization.includes('"'))!;
  const ip = addressText(4, quoted.first);
  assert.deepEqual(geo.lookup(ip)!.as, { number: quoted.asn, organization: { name: quoted.organization } });
  assert.ok(geo.lookupJson(ip).endsWith(`,"as":${JSON.stringify({ number: quoted.asn, organization: { name: quoted.organization } })}`));
  // A public address in no row (the gap after some row) gets geo at most, never as.
  const rows = asnCsvRows(4);
  const gapAfter = rows.find((row, i) => rows[i + 1] && rows[i + 1]!.first > row.last + 1n && row.last > 0x0b000000n)!;
  const unknown = addressText(4, gapAfter.last + 1n);
  assert.equal(csvAs(4, gapAfter.last + 1n), undefined);
  assert.equal(geo.lookup(unknown)?.as, undefined, `${unknown} is in no ASN row`);
});

test("FLOWLOGS_GEOIP_ASN_DATABASE: none turns off AS alone (geo stays); an ASN .mmdb replaces the shipped data", () => {
  const none = openGeoIp(settings({ asnDatabase: "none" }))!;
  assert.equal(none.lookup("8.8.8.8")!.as, undefined);
  assert.equal(none.lookup("8.8.8.8")!.geo!.country_iso_code, "US");
  assert.ok(!none.lookupJson("8.8.8.8").includes('"as"'));
  assert.deepEqual(none.databaseTypes, ["country ipvAll"]);
  const own = openGeoIp(settings({ asnDatabase: testDatabases().asn }))!;
  // The test database says MICROSOFT-CORP-MSN-AS-BLOCK for 20.50/16; the shipped data names it otherwise.
  assert.notDeepEqual(csvAs(4, (20n << 24n) | (50n << 16n) | 1n), { number: 8075, organization: { name: "MICROSOFT-CORP-MSN-AS-BLOCK" } });
  assert.deepEqual(own.lookup("20.50.0.1")!.as, { number: 8075, organization: { name: "MICROSOFT-CORP-MSN-AS-BLOCK" } });
  assert.equal(own.lookup("8.8.8.8")!.as, undefined, "only the user's database answers");
  assert.match(openGeoIp(settings())!.databaseTypes[1]!, /^shipped ASN tables \(\d+ IPv4 \+ \d+ IPv6 ranges, (pre-parsed by the build|parsed from CSV; no pre-parsed tables: .+)\)$/);
});

test("only public endpoints are enriched; private and Azure platform ones get nothing; ids never change", () => {
  const dbs = testDatabases();
  const geo = openGeoIp(settings({ geoDatabase: dbs.city, asnDatabase: dbs.asn }))!;
  const record = (tuples: string[]) => JSON.stringify({ records: [{
    time: "2026-11-20T10:00:00Z", category: "NetworkSecurityGroupFlowEvent", resourceId: "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG",
    properties: { Version: 2, flows: [{ rule: "R", flows: [{ mac: "000D3A000001", flowTuples: tuples }] }] },
  }] });
  const text = record([
    "1795168800,20.50.2.1,10.0.0.4,55000,443,T,I,A,B,1,100,1,200", // public -> private
    "1795168800,10.0.0.4,52.1.2.3,55000,443,T,O,A,B,1,100,1,200", // private -> public
    "1795168800,10.0.0.4,168.63.129.16,55000,53,U,O,A,B,1,100,1,200", // private -> Azure platform
    "1795168800,20.50.2.1,52.1.2.3,55000,443,T,I,A,B,1,100,1,200", // public -> public
  ]);
  const plain = parseFlowLogText(text).documents;
  const enriched = parseFlowLogText(text, { addresses: geo }).documents;
  assert.deepEqual(enriched.map((d) => d.id), plain.map((d) => d.id), "the id recipe is untouched");
  const [inbound, outbound, platform, external] = enriched.map((d) => d.doc);
  assert.equal(inbound!.source.geo!.country_iso_code, "NL");
  assert.equal(inbound!.destination.geo, undefined);
  assert.equal(outbound!.source.geo, undefined);
  assert.equal(outbound!.destination.as!.number, 16509);
  assert.equal(platform!.source.geo, undefined);
  assert.equal(platform!.destination.geo, undefined, "168.63.129.16 is Azure's, not the internet's");
  assert.equal(external!.source.as!.number, 8075);
  assert.equal(external!.destination.geo!.country_iso_code, "US");
  // Documents only gained fields: without them they are the plain documents.
  for (let i = 0; i < plain.length; i++) {
    const doc = enriched[i]!.doc;
    for (const endpoint of [doc.source, doc.destination]) { delete endpoint.geo; delete endpoint.as; }
    assert.deepEqual(doc, plain[i]!.doc);
  }
});

test("the cache is bounded (oldest out first) and a repeated address is answered from it", () => {
  const geo = openGeoIp(settings({ cacheEntries: 2 }))!;
  geo.lookup("8.8.8.8");
  geo.lookup("8.8.8.8");
  assert.deepEqual([geo.hits, geo.misses, geo.cacheSize], [1, 1, 1]);
  geo.lookup("20.50.2.1");
  geo.lookup("1.1.1.1");
  assert.equal(geo.cacheSize, 2);
  geo.lookup("8.8.8.8"); // evicted first, so looked up again
  assert.deepEqual([geo.hits, geo.misses], [1, 4]);
  assert.strictEqual(geo.lookup("8.8.8.8"), geo.lookup("8.8.8.8"), "the same frozen answer");
  assert.ok(Object.isFrozen(geo.lookup("8.8.8.8")!.geo));
  // Equal answers are one shared object: a cached address costs little more than its key.
  const shared = openGeoIp(settings({ geoDatabase: testDatabases().city }))!;
  assert.strictEqual(shared.lookup("20.50.1.1"), shared.lookup("20.50.200.7"));
  assert.strictEqual(shared.lookupJson("20.50.1.1"), shared.lookupJson("20.50.200.7"));
});

const storage = { FLOWLOGS_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true;AccountName=devstoreaccount1", FLOWLOGS_SINK: "stdout" };

function startUpError(env: Record<string, string>): string {
  try {
    openEnrichment(loadConfig({ ...storage, ...env }).geoip);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail("expected a ConfigError");
}

test("config: each unusable database is a start-up error naming the variable and the fix", (t) => {
  const dbs = testDatabases();
  const dir = scratchDir(t, "geoip-config-");
  const notMmdb = join(dir, "GeoLite2-City.csv");
  writeFileSync(notMmdb, "network,geoname_id\n1.0.0.0/24,2077456\n");
  assert.match(startUpError({ FLOWLOGS_GEOIP_DATABASE: join(dir, "missing.mmdb") }),
    /^FLOWLOGS_GEOIP_DATABASE: cannot read ".*missing\.mmdb" \(ENOENT\): give the path of a readable \.mmdb file/);
  assert.match(startUpError({ FLOWLOGS_GEOIP_DATABASE: notMmdb }), /^FLOWLOGS_GEOIP_DATABASE: ".*" is not a MaxMind-format \.mmdb database .*not the CSV/);
  assert.match(startUpError({ FLOWLOGS_GEOIP_DATABASE: dbs.asn }), /^FLOWLOGS_GEOIP_DATABASE: ".*" is a "GeoLite2-ASN" database, expected a City or Country database/);
  assert.match(startUpError({ FLOWLOGS_GEOIP_ASN_DATABASE: dbs.city }), /^FLOWLOGS_GEOIP_ASN_DATABASE: ".*" is a "GeoIP2-City" database, expected an ASN database/);
  assert.match(startUpError({ FLOWLOGS_GEOIP_ASN_DATABASE: SHIPPED_GEO_DATABASE }), /^FLOWLOGS_GEOIP_ASN_DATABASE: .* is a "country ipvAll" database, expected an ASN database/);
  assert.match(startUpError({ FLOWLOGS_GEOIP: "yes" }), /^FLOWLOGS_GEOIP "yes" must be on or off/);
  assert.match(startUpError({ FLOWLOGS_GEOIP: "off", FLOWLOGS_GEOIP_ASN_DATABASE: dbs.asn }), /^FLOWLOGS_GEOIP_ASN_DATABASE is set but FLOWLOGS_GEOIP=off/);
  for (const off of ["off", "NONE", "false"]) {
    assert.match(startUpError({ FLOWLOGS_GEOIP_ASN_DATABASE: off }), new RegExp(`^FLOWLOGS_GEOIP_ASN_DATABASE "${off}": to run without AS fields set it to none; otherwise give the path of an ASN \\.mmdb file`));
  }
  assert.match(startUpError({ FLOWLOGS_GEOIP_ASN_DATABASE: join(dir, "asn.csv") }), /^FLOWLOGS_GEOIP_ASN_DATABASE: cannot read ".*asn\.csv" \(ENOENT\)/);
  assert.match(startUpError({ FLOWLOGS_GEOIP_CACHE_ENTRIES: "0" }), /^FLOWLOGS_GEOIP_CACHE_ENTRIES "0" is not a whole number from 1/);
});

test("config: on by default with the shipped database, off gives no enrichment, the parse command's settings are the same", () => {
  const defaults = loadConfig(storage).geoip;
  assert.deepEqual(defaults, { enabled: true, geoDatabase: undefined, asnDatabase: undefined, cacheEntries: 10000 });
  assert.ok(openEnrichment(defaults));
  assert.equal(openEnrichment(loadConfig({ ...storage, FLOWLOGS_GEOIP: "off" }).geoip), undefined);
  // none with everything off is consistent, not an error.
  assert.equal(openEnrichment(loadConfig({ ...storage, FLOWLOGS_GEOIP: "off", FLOWLOGS_GEOIP_ASN_DATABASE: "none" }).geoip), undefined);
  const dbs = testDatabases();
  const env = { FLOWLOGS_GEOIP_DATABASE: dbs.city, FLOWLOGS_GEOIP_ASN_DATABASE: dbs.asn, FLOWLOGS_GEOIP_CACHE_ENTRIES: "5" };
  assert.deepEqual(loadGeoIpSettings(env), loadConfig({ ...storage, ...env }).geoip);
});
