// Geo and AS enrichment from MaxMind-format (.mmdb) databases, loaded once at start-up (the only I/O here) and
// then looked up synchronously through a bounded cache. Two record shapes are read: MaxMind's GeoIP2/GeoLite2
// (nested `country.iso_code`, `city.names.en`, ...) and ip-location-db's flat one (`country_code`, `city`,
// `state1`, ...); both ASN files use `autonomous_system_number` / `autonomous_system_organization`. AS answers come
// from a user's ASN .mmdb or, by default, the shipped ASN CSV tables (asnTable.ts), through the same cache.
import { readFileSync } from "node:fs";
import { Reader } from "mmdb-lib";
import { enrichmentJson, type AddressEnrichment, type EndpointEnrichment } from "../ecs/enrichment";
import type { EndpointAs, EndpointGeo } from "../model";
import type { AsnLookup } from "./asnTable";
import { addressWords } from "./addressWords";
import { loadShippedAsnTable } from "./asnPacked";
import { CONTINENT_NAMES, CONTINENT_OF_COUNTRY } from "./continents";

/** The default database, shipped as an npm dependency (CC0 / NRO CC BY 4.0 data, collector/README.md). */
export const SHIPPED_GEO_DATABASE = require.resolve("@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb");

/**
 * Measured (heap after GC, 20,000 addresses): about 50 bytes per cached address when answers repeat, as a country
 * database's do; about 1.2 KB for each distinct answer (a City + ASN database can give every address its own).
 */
export const DEFAULT_GEOIP_CACHE_ENTRIES = 10_000;

export interface GeoIpSettings {
  enabled: boolean;
  /** A City or Country database (MaxMind or ip-location-db shape); undefined: the shipped country database. */
  geoDatabase?: string;
  /** An ASN .mmdb database; undefined: the shipped ASN data; ASN_DATABASE_NONE: no `as` fields. */
  asnDatabase?: string;
  /** Addresses whose answer is kept (FIFO beyond that): bounds memory. */
  cacheEntries: number;
}

/** FLOWLOGS_GEOIP_ASN_DATABASE's value that turns AS enrichment off alone (and saves the shipped tables' memory). */
export const ASN_DATABASE_NONE = "none";

/** A database that cannot be used; `setting` is the variable that named it (start-up turns this into a ConfigError). */
export class GeoDatabaseError extends Error {
  constructor(readonly setting: string, message: string) {
    super(message);
  }
}

type DatabaseRecord = Record<string, unknown>;

interface OpenedDatabase {
  reader: Reader<DatabaseRecord>;
  type: string;
}

/** Opens a database file and checks it is the kind expected, naming `setting` in every error. */
export function openDatabase(path: string, setting: string, kind: "geo" | "asn"): OpenedDatabase {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GeoDatabaseError(setting, `${setting}: cannot read ${JSON.stringify(path)} (${code ?? (error as Error).message}): give the path of a readable .mmdb file, mounted into the container`);
  }
  let reader: Reader<DatabaseRecord>;
  try {
    reader = new Reader<DatabaseRecord>(bytes);
  } catch (error) {
    throw new GeoDatabaseError(setting, `${setting}: ${JSON.stringify(path)} is not a MaxMind-format .mmdb database (${(error as Error).message}): use a GeoLite2/GeoIP2 or ip-location-db .mmdb file, not the CSV or a .tar.gz`);
  }
  const type = String(reader.metadata.databaseType ?? "");
  const isAsn = /asn/i.test(type) && !/country|city/i.test(type);
  const isGeo = /country|city/i.test(type);
  if (kind === "asn" ? !isAsn : !isGeo) {
    const want = kind === "asn" ? "an ASN database (e.g. GeoLite2-ASN.mmdb)" : "a City or Country database (e.g. GeoLite2-City.mmdb)";
    throw new GeoDatabaseError(setting, `${setting}: ${JSON.stringify(path)} is a ${JSON.stringify(type)} database, expected ${want}`);
  }
  return { reader, type };
}

/** Loads the databases the settings name; undefined when enrichment is off. Throws GeoDatabaseError. */
export function openGeoIp(settings: GeoIpSettings): GeoIpEnrichment | undefined {
  if (!settings.enabled) return undefined;
  const geo = openDatabase(settings.geoDatabase ?? SHIPPED_GEO_DATABASE, "FLOWLOGS_GEOIP_DATABASE", "geo");
  const { asn, type, skippedLines } = openAsn(settings.asnDatabase);
  return new GeoIpEnrichment(geo.reader, asn, settings.cacheEntries, [geo.type, ...(type ? [type] : [])], skippedLines ?? []);
}

function openAsn(asnDatabase: string | undefined): { asn?: AsnLookup; type?: string; skippedLines?: string[] } {
  if (asnDatabase === ASN_DATABASE_NONE) return {};
  if (asnDatabase !== undefined) {
    const { reader, type } = openDatabase(asnDatabase, "FLOWLOGS_GEOIP_ASN_DATABASE", "asn");
    return { asn: { lookup: (ip) => asFields(safeGet(reader, ip)) }, type };
  }
  try {
    const loaded = loadShippedAsnTable();
    const { ipv4, ipv6 } = loaded.table.sizes;
    const source = loaded.source === "packed" ? "pre-parsed by the build" : `parsed from CSV; no pre-parsed tables: ${loaded.packedUnusable}`;
    return {
      asn: loaded.table,
      type: `shipped ASN tables (${ipv4} IPv4 + ${ipv6} IPv6 ranges, ${source}${loaded.badLineCount ? `, ${loaded.badLineCount} unreadable lines skipped` : ""})`,
      skippedLines: loaded.badLines.map((bad) => `${bad.file}:${bad.line}: ${bad.reason}`),
    };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GeoDatabaseError("FLOWLOGS_GEOIP_ASN_DATABASE", `FLOWLOGS_GEOIP_ASN_DATABASE: the shipped ASN data (npm @ip-location-db/asn) cannot be loaded (${code ?? (error as Error).message}): reinstall the collector's dependencies, give an ASN .mmdb file, or set it to ${ASN_DATABASE_NONE} to run without AS fields`);
  }
}

interface CacheEntry {
  fields: EndpointEnrichment | undefined;
  json: string;
  bytes: Buffer;
}

export class GeoIpEnrichment implements AddressEnrichment {
  private readonly cache = new Map<string, CacheEntry>();
  /** Equal answers shared by JSON text (a country database has a few hundred): an entry then costs little more than its key. */
  private readonly answers = new Map<string, CacheEntry>();
  /** Lookups answered from the cache and from the databases (for tests and metrics). */
  hits = 0;
  misses = 0;

  constructor(
    private readonly geo: Reader<DatabaseRecord>,
    private readonly asn: AsnLookup | undefined,
    private readonly cacheEntries: number,
    /** Database types, for the start-up log line. */
    readonly databaseTypes: string[],
    /** The first lines of the shipped ASN files that could not be read (logged at start-up; none expected). */
    readonly skippedLines: readonly string[] = [],
  ) {}

  lookup(ip: string): EndpointEnrichment | undefined {
    return this.entry(ip).fields;
  }

  /** lookupBytes' text (tests, tools). */
  lookupJson(ip: string): string {
    return this.entry(ip).json;
  }

  lookupBytes(ip: string): Uint8Array {
    return this.entry(ip).bytes;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  private entry(ip: string): CacheEntry {
    let entry = this.cache.get(ip);
    if (entry) {
      this.hits++;
      return entry;
    }
    this.misses++;
    const fields = this.resolve(ip);
    const json = enrichmentJson(fields);
    entry = this.answers.get(json);
    if (!entry) {
      if (this.answers.size >= this.cacheEntries) this.answers.clear(); // bounded too (a city database has many)
      entry = { fields, json, bytes: Buffer.from(json, "utf8") };
      this.answers.set(json, entry);
    }
    // Oldest out first: flow logs revisit the same peers, so a plain FIFO keeps the working set at a fixed bound.
    if (this.cache.size >= this.cacheEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(ip, entry);
    return entry;
  }

  private resolve(ip: string): EndpointEnrichment | undefined {
    const geo = geoFields(safeGet(this.geo, geoKey(ip)));
    const as = this.asn?.lookup(ip);
    if (!geo && !as) return undefined;
    const fields: { geo?: EndpointGeo; as?: EndpointAs } = {};
    if (geo) fields.geo = Object.freeze(geo);
    if (as) fields.as = Object.freeze(as);
    return Object.freeze(fields);
  }
}

const mappedWords = new Uint32Array(4);

/**
 * The text the geo database is asked with: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 address, as the
 * ASN table and the address classes take it (a database answers the mapped form for nothing, or for other rows).
 */
function geoKey(ip: string): string {
  if (!ip.includes(":") || addressWords(ip, mappedWords) !== 4) return ip;
  const v4 = mappedWords[3]!;
  return `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
}

/** A lookup never throws into the pipeline: an address the reader refuses simply has no answer. */
function safeGet(reader: Reader<DatabaseRecord>, ip: string): DatabaseRecord | undefined {
  try {
    return reader.get(ip) ?? undefined;
  } catch {
    return undefined;
  }
}

const countryNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });

/** ECS geo from either record shape; undefined when the record has no country. Keys in a fixed order. */
export function geoFields(record: DatabaseRecord | undefined): EndpointGeo | undefined {
  if (!record) return undefined;
  const country = object(record.country);
  const countryCode = text(country?.iso_code) ?? text(record.country_code);
  if (!countryCode) return undefined;
  const continent = object(record.continent);
  const continentCode = text(continent?.code) ?? CONTINENT_OF_COUNTRY.get(countryCode);
  const subdivision = object(Array.isArray(record.subdivisions) ? record.subdivisions[0] : undefined);
  const location = object(record.location);
  const latitude = number(location?.latitude) ?? number(record.latitude);
  const longitude = number(location?.longitude) ?? number(record.longitude);

  const geo: EndpointGeo = {};
  if (continentCode) geo.continent_code = continentCode;
  const continentName = englishName(continent) ?? (continentCode ? CONTINENT_NAMES[continentCode] : undefined);
  if (continentName) geo.continent_name = continentName;
  geo.country_iso_code = countryCode;
  const countryName = englishName(country) ?? countryNameOf(countryCode);
  if (countryName) geo.country_name = countryName;
  const regionCode = text(subdivision?.iso_code);
  if (regionCode) geo.region_iso_code = `${countryCode}-${regionCode}`; // ECS: "CA-QC", as Elasticsearch's geoip does
  const regionName = englishName(subdivision) ?? text(record.state1);
  if (regionName) geo.region_name = regionName;
  const cityName = englishName(object(record.city)) ?? text(record.city);
  if (cityName) geo.city_name = cityName;
  if (latitude !== undefined && longitude !== undefined) geo.location = { lat: latitude, lon: longitude };
  return geo;
}

/** ECS as from an ASN record (same keys in MaxMind's and ip-location-db's files). */
export function asFields(record: DatabaseRecord | undefined): EndpointAs | undefined {
  if (!record) return undefined;
  const asNumber = number(record.autonomous_system_number);
  const organization = text(record.autonomous_system_organization);
  if (asNumber === undefined && !organization) return undefined;
  const as: EndpointAs = {};
  if (asNumber !== undefined) as.number = asNumber;
  if (organization) as.organization = { name: organization };
  return as;
}

function countryNameOf(code: string): string | undefined {
  try {
    return countryNames.of(code);
  } catch {
    return undefined; // not a well-formed region code
  }
}

function englishName(value: DatabaseRecord | undefined): string | undefined {
  return text(object(value?.names)?.en);
}

function object(value: unknown): DatabaseRecord | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as DatabaseRecord) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function number(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
