// The `run` service's settings, all from environment variables. Each variable is described once here (the table
// in README.md mirrors it) and validated with an error naming the variable and how to fix it.
import { statSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { ASN_DATABASE_NONE, DEFAULT_GEOIP_CACHE_ENTRIES, GeoDatabaseError, openGeoIp, type GeoIpEnrichment, type GeoIpSettings } from "../enrich/geoIp";
import { redactUrlText } from "../safeText";
import { caFingerprintPairs } from "../sink/httpBulk";
import type { StorageAuth } from "../source/storage";
import { LEVELS, type Level } from "./logger";

export const DEFAULT_CONTAINERS = ["insights-logs-flowlogflowevent", "insights-logs-networksecuritygroupflowevent"];

export interface CollectorConfig {
  storage: StorageAuth;
  containers: string[];
  checkpointContainer: string;
  pollIntervalSeconds: number;
  leaseSeconds: number;
  /** Whether finished jobs keep their leases for the blob's next job (FLOWLOGS_KEEP_LEASES). */
  keepLeases: "auto" | "on" | "off";
  replicaId: string;
  /** Blobs worked on at once by this replica. */
  concurrency: number;
  /** Upper bound of one ranged download. */
  windowBytes: number;
  /** Records up to this many bytes are parsed whole; longer ones are streamed (at most windowBytes). */
  recordBytes: number;
  /** Documents handed to the sink per write. */
  batchDocuments: number;
  /** Tries at one position of a blob before its offending record is dead-lettered. */
  maxAttempts: number;
  /** Minutes after the end of a blob's hour before it is marked done. */
  doneGraceMinutes: number;
  /** Minutes between wide listings (each flow log's last listingHorizonHours, or everything); 0: full every poll. */
  fullListingMinutes: number;
  /** Hours back a wide listing reaches under each flow log; 0: wide listings are full ones. */
  listingHorizonHours: number;
  /** Minutes from start-up during which a 403 from storage is waited out (role assignments not yet effective). */
  authorizationGraceMinutes: number;
  /** A try of a storage request is aborted after this long without its answer's headers or without body bytes. */
  storageTimeoutMs: number;
  sink: SinkConfig;
  /** Geo/AS enrichment of public endpoints (databases opened by openEnrichment at start-up). */
  geoip: GeoIpSettings;
  /** Undefined: no HTTP endpoint. 0: any free port (tests). */
  metricsPort?: number;
  metricsHost: string;
  logLevel: Level;
  /** Undefined: no threat list. */
  threatList?: { file: string; maxBytes: number };
}

export type SinkConfig =
  | { kind: "stdout"; namespace: string }
  | {
    kind: "elasticsearch"; url: string; namespace: string; caFingerprint?: string; caFile?: string;
    apiKey?: string; basic?: { username: string; password: string }; dedupeAcrossBackingIndices: boolean;
    /** How long a job's bulk request waits for other jobs' documents to share it (FLOWLOGS_ES_BULK_LINGER_MS). */
    bulkLingerMs: number;
  }
  /** The same FLOWLOGS_ES_* connection settings as Elasticsearch, spoken over plain `_bulk` HTTP. */
  | {
    kind: "opensearch"; url: string; namespace: string; caFile?: string; apiKey?: string; basic?: { username: string; password: string };
    bulkLingerMs: number;
  }
  /** `token` is a secret: describeConfig leaves it out. */
  | { kind: "logzio"; url: string; token: string; type: string };

export class ConfigError extends Error {}

/** Variable name -> what it means (rendered into the README table). */
export const VARIABLES: Record<string, string> = {
  FLOWLOGS_STORAGE_ACCOUNT_URL: "Blob endpoint of the flow-log storage account, e.g. https://<account>.blob.core.windows.net. Auth is Entra ID (DefaultAzureCredential). One of this or FLOWLOGS_STORAGE_CONNECTION_STRING is required.",
  FLOWLOGS_STORAGE_CONNECTION_STRING: "Connection string (Azurite, development). Secret: never logged. Takes precedence over the URL.",
  AZURE_CLIENT_ID: "Client id of the user-assigned managed identity DefaultAzureCredential uses (read by @azure/identity).",
  FLOWLOGS_CONTAINERS: `Comma-separated flow-log containers to read. Default: ${DEFAULT_CONTAINERS.join(",")}.`,
  FLOWLOGS_CHECKPOINT_CONTAINER: "Container for checkpoints and leases, created if missing when the identity may create containers (rights scoped to the container itself may not: then it must exist). Default: flowlogs-checkpoints.",
  FLOWLOGS_POLL_INTERVAL_SECONDS: "Seconds between polls. Default 60 (Azure appends about once a minute). Every blob job costs the same 4 Azure requests however many minutes it reads, so a longer interval costs less CPU and fewer storage transactions per flow, for flows that arrive up to one interval later: 34 µs of collector CPU per flow at 60, 23 at 120, 13-14 at 300 (scripts/bench/tailingCpu.ts --minutes-per-round; collector/PERFORMANCE.md, Tailing). Retries do not wait longer than 60 s: a start-up waiting for its identity or roles, and a poll after one that met a failure (a listing or job refused or failed, a sink outage), a blob busy with another replica or a blob changing mid-read; what normal tailing leaves for the next poll (an append during a job) waits the interval.",
  FLOWLOGS_LEASE_SECONDS: "Lease held on a blob's checkpoint while reading it, 15–60. Default 30. A dead replica's blobs are taken over after this.",
  FLOWLOGS_KEEP_LEASES: "auto (default): a finished job keeps its lease, unreleased, when leases run out before the next poll (FLOWLOGS_LEASE_SECONDS below FLOWLOGS_POLL_INTERVAL_SECONDS, as by default); the blob's next job takes it again under the same id, so a tailing job costs 4 Azure requests instead of 5, and other replicas find the blob busy for at most the lease duration after a job. on: always (with leases outlasting polls, a blob stays with the replica that read it, and other replicas count it as pending). off: released after every job. A one-pass run (--once) releases every lease as it goes.",
  FLOWLOGS_REPLICA_ID: "Name of this replica in logs and checkpoints. Default: <hostname>-<pid>.",
  FLOWLOGS_CONCURRENCY: "Blobs this replica reads at once whose new data is unknown or large (each may hold a window and a write: this bounds memory). Blobs this process caught up that grew by a little since (tailing) reserve what their data needs from the same budget, so up to 4 times as many of those run at once. A job whose blob grew more than its listing showed (it waited behind an outage or a backfill) grows its reservation before its first download, waiting for room if need be. Default 4.",
  FLOWLOGS_WINDOW_BYTES: "Maximum bytes per ranged download. Default 4194304 (4 MiB). Bounds memory.",
  FLOWLOGS_RECORD_BYTES: "Records up to this size are parsed whole; longer ones are streamed in two passes (their bytes are downloaded twice: pass 1 reads them during the scan). Default 1048576 (1 MiB), or FLOWLOGS_WINDOW_BYTES when that is smaller; at most FLOWLOGS_WINDOW_BYTES (a larger value stops start-up). Bounds memory.",
  FLOWLOGS_BATCH_DOCUMENTS: "Documents per sink write (also for the tuples of one record). Default 2000.",
  FLOWLOGS_MAX_ATTEMPTS: "Tries at one position of a blob (crashes of the process included; a crash loop is cut after at most this + 1 crashes) before the record there is dead-lettered with the reason and the blob moves on. Default 5.",
  FLOWLOGS_DONE_GRACE_MINUTES: "Minutes after a blob's hour ends before it is marked done, and while its hour is still listed on every poll. Default 15.",
  FLOWLOGS_FULL_LISTING_MINUTES: "Minutes between wide listings of the flow-log containers once they hold more than 5,000 blobs: the flow logs are found by walking the folders, and the last FLOWLOGS_LISTING_HORIZON_HOURS of each are listed. In between, polls list only the current and previous hour (and any still within the grace) under each flow log known, plus blobs not yet caught up; a new flow log or a late write to an older hour waits for the next wide listing. Default 30; 0 lists everything on every poll.",
  FLOWLOGS_LISTING_HORIZON_HOURS: "Hours back a wide listing reaches under each flow log (whole UTC days). The containers are listed in full at start-up and every 24 hours, which finds later writes to older hours and forgets deleted blobs; the wide listings in between cost a few requests per flow log and day instead of paging through the whole retention period. Default 48, at most 168 (a wide listing costs a request per flow log and day, so a long horizon over many flow logs costs more than the full listing it stands in for); 0 makes every wide listing a full one.",
  FLOWLOGS_STORAGE_TIMEOUT_MS: "Milliseconds a try of an Azure Storage request (listing, block list, download, checkpoint read or write, lease) may wait for its answer's headers, or for the next bytes of its body, before the collector aborts it: a peer or middlebox that stops sending would otherwise hold its job, and the whole poll, until TCP keepalive notices (minutes) or for ever. Body bytes that keep coming restart it, so a large range on a slow link is not cut; a body must also end within this plus its length at 64 KiB/s from its headers, so a peer trickling bytes cannot hold it either. An aborted try is retried by the Azure SDK (4 tries, the next after 0, 4 and 12 s; a download body resumes where it stopped); a request whose tries all stall fails its job as a storage failure, which gives the job's try back, and the blob is read on the next poll. 1000 to 600000 (below a second, a pause of the collector's own, such as garbage collection, would abort answers on their way). Default 45000, above the 30 s Azure allows itself for most operations (a slow answer Azure does give must not lose the race): a request that never answers fails after about 3.3 minutes (4 tries of 45 s and the 16 s between them).",
  FLOWLOGS_AUTHORIZATION_GRACE_MINUTES: "Minutes from start-up during which Azure Storage answering 403 is waited out and retried (with one warning line) instead of failing: right after a first deploy the identity's role assignments can take minutes to take effect. Default 10; 0 fails at once, as does run --once.",
  FLOWLOGS_SINK: "elasticsearch (default), opensearch (the same _bulk API over plain HTTP, set with the FLOWLOGS_ES_* variables), logzio (the Logz.io bulk listener, at-least-once) or stdout (NDJSON documents on stdout, for demos and debugging).",
  FLOWLOGS_ES_URL: "Elasticsearch or OpenSearch URL (required for the elasticsearch and opensearch sinks).",
  FLOWLOGS_ES_API_KEY: "Elasticsearch API key (encoded form). Secret: never logged.",
  FLOWLOGS_ES_USERNAME: "Basic-auth user, instead of an API key (self-managed clusters, OpenSearch-style setups).",
  FLOWLOGS_ES_PASSWORD: "Basic-auth password, with FLOWLOGS_ES_USERNAME. Secret: never logged.",
  FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES: "true to look each batch's ids up across the whole data stream before writing and again before each resend, so a re-read or a retry after a rollover adds no duplicate (needs the read privilege). Default false.",
  FLOWLOGS_ES_NAMESPACE: "Data stream namespace: documents go to logs-azure.flowlogs-<namespace> (also named in the stdout sink's bulk lines). Default: default.",
  FLOWLOGS_ES_CA_FINGERPRINT: "SHA-256 fingerprint of the cluster's CA certificate, to pin it (optional; elasticsearch sink only).",
  FLOWLOGS_ES_CA_FILE: "PEM file of the cluster's CA certificate (optional).",
  FLOWLOGS_ES_BULK_LINGER_MS: "Milliseconds a job's bulk request waits for the documents of the other jobs under way (FLOWLOGS_CONCURRENCY) to share it, unless it is full or they have all joined: fewer, larger requests cost Elasticsearch less CPU per document. 0 to 1000. Default 20; 0 sends each job's documents in requests of their own.",
  FLOWLOGS_LOGZIO_URL: "Logz.io listener URL of the account's region (logzio sink), e.g. https://listener-eu.logz.io:8071. Default: https://listener.logz.io:8071. No token in it.",
  FLOWLOGS_LOGZIO_TOKEN: "Logz.io log shipping token (required for the logzio sink). Secret: never logged, redacted from every message.",
  FLOWLOGS_LOGZIO_TYPE: "Logz.io log type of the documents (no spaces); dead letters go under <type>_deadletter. Default: azure_flowlogs.",
  FLOWLOGS_GEOIP: "on (default) adds source/destination .geo.* and .as.* to public endpoints from .mmdb databases (collector/README.md, Geo and AS enrichment); off leaves documents without them.",
  FLOWLOGS_GEOIP_DATABASE: "A GeoLite2/GeoIP2 City or Country .mmdb file (or an ip-location-db country/city one) to use instead of the shipped country database (ip-location-db geo-whois-asn-country). Checked at start-up.",
  FLOWLOGS_GEOIP_ASN_DATABASE: "Where source/destination .as.* come from. Unset: the shipped ASN data (ip-location-db asn CSV: RouteViews, NRO, DB-IP; CC BY 4.0), loaded into memory at start-up (about 15 MB, under a second). A GeoLite2/GeoIP2 ASN .mmdb file (or ip-location-db's asn.mmdb) replaces it; none turns AS fields off alone. Checked at start-up.",
  FLOWLOGS_GEOIP_CACHE_ENTRIES: "Public addresses whose answer is kept in memory (oldest out first). Default 10000. Measured: about 50 bytes per address plus about 1.2 KB per distinct answer, so under 1 MB with the shipped country database and at most about 12 MB with a City + ASN database.",
  FLOWLOGS_METRICS_PORT: "Port of /healthz and /metrics. Default 9464; 'off' disables the endpoint.",
  FLOWLOGS_METRICS_HOST: "Address the endpoint binds to. Default 127.0.0.1; set 0.0.0.0 in a container so probes reach it.",
  FLOWLOGS_LOG_LEVEL: "debug, info (default), warn or error.",
  FLOWLOGS_THREAT_LIST_FILE: "Path of a threat list (optional): IPv4/IPv6 addresses and CIDRs, one per line, comments after # or ; (Spamhaus DROP's text format reads as is). Flows whose source or destination is on it carry threat.enrichments. Must exist at start-up; checked for changes before every poll and reloaded (a bad new version is refused and the old list kept).",
  FLOWLOGS_THREAT_LIST_MAX_BYTES: "Largest threat list file accepted, 1024 to 268435456. Default 4194304 (4 MiB, about 150,000 DROP-style lines, which load within a 64 MB heap). Bounds memory: while a new version loads, the old list is still held.",
};

function reader(env: NodeJS.ProcessEnv): Read {
  return (name) => {
    if (!(name in VARIABLES)) throw new Error(`internal: ${name} is not a documented variable`);
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const read = reader(env);
  const connectionString = read("FLOWLOGS_STORAGE_CONNECTION_STRING");
  const accountUrl = read("FLOWLOGS_STORAGE_ACCOUNT_URL");
  let storage: StorageAuth;
  if (connectionString) {
    if (!/AccountName=|BlobEndpoint=|SharedAccessSignature=/i.test(connectionString)) {
      throw new ConfigError("FLOWLOGS_STORAGE_CONNECTION_STRING does not look like a storage connection string (no AccountName= or BlobEndpoint=)");
    }
    storage = { connectionString };
  } else if (accountUrl) {
    let url: URL;
    try {
      url = new URL(accountUrl);
    } catch {
      throw new ConfigError(`FLOWLOGS_STORAGE_ACCOUNT_URL ${JSON.stringify(redactUrlText(accountUrl))} is not a URL: use https://<account>.blob.core.windows.net`);
    }
    if (url.protocol !== "https:" && url.hostname !== "127.0.0.1" && url.hostname !== "localhost") {
      throw new ConfigError(`FLOWLOGS_STORAGE_ACCOUNT_URL must use https (got ${url.protocol}): Entra ID tokens are only sent over TLS`);
    }
    storage = { accountUrl, managedIdentityClientId: env.AZURE_CLIENT_ID?.trim() || undefined };
  } else {
    throw new ConfigError("set FLOWLOGS_STORAGE_ACCOUNT_URL (https://<account>.blob.core.windows.net, Entra ID auth) or FLOWLOGS_STORAGE_CONNECTION_STRING (Azurite/dev)");
  }

  const containers = (read("FLOWLOGS_CONTAINERS")?.split(",").map((c) => c.trim()).filter(Boolean)) ?? DEFAULT_CONTAINERS;
  for (const container of containers) checkContainerName("FLOWLOGS_CONTAINERS", container);
  if (containers.length === 0) throw new ConfigError("FLOWLOGS_CONTAINERS names no container");
  // Listed twice, a container would be listed twice a poll, and a poll would count as progress while it alone fails.
  const twice = containers.find((container, i) => containers.indexOf(container) !== i);
  if (twice) throw new ConfigError(`FLOWLOGS_CONTAINERS names ${twice} twice: list each container once`);
  const checkpointContainer = checkContainerName("FLOWLOGS_CHECKPOINT_CONTAINER", read("FLOWLOGS_CHECKPOINT_CONTAINER") ?? "flowlogs-checkpoints");
  if (containers.includes(checkpointContainer)) {
    throw new ConfigError(`FLOWLOGS_CHECKPOINT_CONTAINER (${checkpointContainer}) must differ from the flow-log containers`);
  }

  const sinkKind = read("FLOWLOGS_SINK") ?? "elasticsearch";
  const namespace = read("FLOWLOGS_ES_NAMESPACE") ?? "default";
  if (!/^[a-z0-9_]{1,100}$/.test(namespace)) {
    throw new ConfigError(`FLOWLOGS_ES_NAMESPACE ${JSON.stringify(namespace)} is invalid: use 1–100 of a-z, 0-9 and _ (no "-", no upper case)`);
  }
  let sink: SinkConfig;
  if (sinkKind === "stdout") {
    sink = { kind: "stdout", namespace };
  } else if (sinkKind === "opensearch") {
    for (const name of ["FLOWLOGS_ES_CA_FINGERPRINT", "FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES"]) {
      if (read(name)) throw new ConfigError(`${name} applies to FLOWLOGS_SINK=elasticsearch only: unset it (with OpenSearch, trust a private CA with FLOWLOGS_ES_CA_FILE)`);
    }
    const { url, apiKey, basic } = clusterSettings(read, sinkKind);
    sink = { kind: "opensearch", url, namespace, apiKey, basic, caFile: read("FLOWLOGS_ES_CA_FILE"), bulkLingerMs: bulkLinger(read) };
  } else if (sinkKind === "logzio") {
    sink = logzioSettings(read);
  } else if (sinkKind === "elasticsearch") {
    const { url, apiKey, basic } = clusterSettings(read, sinkKind);
    const dedupe = read("FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES") ?? "false";
    if (dedupe !== "true" && dedupe !== "false") {
      throw new ConfigError(`FLOWLOGS_ES_DEDUPE_ACROSS_BACKING_INDICES ${JSON.stringify(dedupe)} must be true or false`);
    }
    sink = {
      kind: "elasticsearch", url, namespace, apiKey, basic,
      dedupeAcrossBackingIndices: dedupe === "true",
      caFingerprint: caFingerprint(read), caFile: read("FLOWLOGS_ES_CA_FILE"),
      bulkLingerMs: bulkLinger(read),
    };
  } else {
    throw new ConfigError(`FLOWLOGS_SINK ${JSON.stringify(sinkKind)} is not supported: use elasticsearch, opensearch, logzio or stdout`);
  }

  const threatList = threatListSettings(read);
  const geoip = geoIpSettings(read);

  const windowBytes = integer("FLOWLOGS_WINDOW_BYTES", read("FLOWLOGS_WINDOW_BYTES") ?? String(4 << 20), 4096, 256 << 20);
  const portText = read("FLOWLOGS_METRICS_PORT") ?? "9464";
  const metricsPort = portText === "off" ? undefined : integer("FLOWLOGS_METRICS_PORT", portText, 0, 65535);

  return {
    storage,
    containers,
    checkpointContainer,
    pollIntervalSeconds: integer("FLOWLOGS_POLL_INTERVAL_SECONDS", read("FLOWLOGS_POLL_INTERVAL_SECONDS") ?? "60", 1, 3600),
    leaseSeconds: integer("FLOWLOGS_LEASE_SECONDS", read("FLOWLOGS_LEASE_SECONDS") ?? "30", 15, 60),
    keepLeases: oneOf("FLOWLOGS_KEEP_LEASES", read("FLOWLOGS_KEEP_LEASES") ?? "auto", ["auto", "on", "off"] as const),
    replicaId: read("FLOWLOGS_REPLICA_ID") ?? `${hostname()}-${process.pid}`,
    concurrency: integer("FLOWLOGS_CONCURRENCY", read("FLOWLOGS_CONCURRENCY") ?? "4", 1, 64),
    windowBytes,
    recordBytes: recordBytes(read, windowBytes),
    batchDocuments: integer("FLOWLOGS_BATCH_DOCUMENTS", read("FLOWLOGS_BATCH_DOCUMENTS") ?? "2000", 1, 100_000),
    maxAttempts: integer("FLOWLOGS_MAX_ATTEMPTS", read("FLOWLOGS_MAX_ATTEMPTS") ?? "5", 1, 1000),
    doneGraceMinutes: integer("FLOWLOGS_DONE_GRACE_MINUTES", read("FLOWLOGS_DONE_GRACE_MINUTES") ?? "15", 0, 24 * 60),
    fullListingMinutes: integer("FLOWLOGS_FULL_LISTING_MINUTES", read("FLOWLOGS_FULL_LISTING_MINUTES") ?? "30", 0, 24 * 60),
    listingHorizonHours: integer("FLOWLOGS_LISTING_HORIZON_HOURS", read("FLOWLOGS_LISTING_HORIZON_HOURS") ?? "48", 0, 24 * 7),
    authorizationGraceMinutes: integer("FLOWLOGS_AUTHORIZATION_GRACE_MINUTES", read("FLOWLOGS_AUTHORIZATION_GRACE_MINUTES") ?? "10", 0, 24 * 60),
    storageTimeoutMs: storageTimeoutMs(read("FLOWLOGS_STORAGE_TIMEOUT_MS") ?? "45000"),
    sink,
    geoip,
    metricsPort,
    metricsHost: metricsHost(read),
    logLevel: level(read("FLOWLOGS_LOG_LEVEL") ?? "info"),
    ...(threatList ? { threatList } : {}),
  };
}

/**
 * A record parsed whole is cut from one download window, so it can be no longer than the window: by default 1 MiB,
 * or the window when that is smaller; set larger, start-up stops naming both variables.
 */
function recordBytes(read: Read, windowBytes: number): number {
  const text = read("FLOWLOGS_RECORD_BYTES");
  if (text === undefined) return Math.min(1 << 20, windowBytes);
  const bytes = integer("FLOWLOGS_RECORD_BYTES", text, 4096, 256 << 20);
  if (bytes > windowBytes) {
    throw new ConfigError(`FLOWLOGS_RECORD_BYTES ${bytes} is more than FLOWLOGS_WINDOW_BYTES ${windowBytes}: a record parsed whole must fit in one download window; lower FLOWLOGS_RECORD_BYTES or raise FLOWLOGS_WINDOW_BYTES`);
  }
  return bytes;
}

function threatListSettings(read: Read): CollectorConfig["threatList"] {
  const maxText = read("FLOWLOGS_THREAT_LIST_MAX_BYTES");
  const file = read("FLOWLOGS_THREAT_LIST_FILE");
  if (!file) {
    if (maxText) throw new ConfigError("FLOWLOGS_THREAT_LIST_MAX_BYTES applies only with FLOWLOGS_THREAT_LIST_FILE: set the list's path, or unset it");
    return undefined;
  }
  const maxBytes = integer("FLOWLOGS_THREAT_LIST_MAX_BYTES", maxText ?? String(4 << 20), 1024, 256 << 20);
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch (error) {
    throw new ConfigError(threatListFileProblem(file, error));
  }
  if (!isFile) throw new ConfigError(`FLOWLOGS_THREAT_LIST_FILE ${JSON.stringify(file)} is not a file: give the path of the list itself`);
  return { file, maxBytes };
}

/** Why FLOWLOGS_THREAT_LIST_FILE cannot be looked at: missing, or a folder on its path this user may not search. */
export function threatListFileProblem(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return `FLOWLOGS_THREAT_LIST_FILE ${JSON.stringify(file)} does not exist: put the list there (in Azure: the stack's collector.threatListFile, mounted from a secret volume; see infra/README.md), or unset the variable to run without one`;
  }
  // A secret volume's folder that the container's user (not root) may not search lands here, not as "missing".
  const uid = typeof process.getuid === "function" ? ` (uid ${process.getuid()})` : "";
  return `FLOWLOGS_THREAT_LIST_FILE ${JSON.stringify(file)} cannot be looked at by this process${uid}: ${(error as Error).message}. ` +
    "Make the file and the folders above it readable by that user, or unset the variable to run without one";
}

/**
 * Opens the enrichment databases the settings name (start-up, before any reading): undefined when FLOWLOGS_GEOIP=off.
 * A missing, unreadable, non-.mmdb or wrong-type file is a ConfigError naming the variable.
 */
export function openEnrichment(settings: GeoIpSettings): GeoIpEnrichment | undefined {
  try {
    return openGeoIp(settings);
  } catch (error) {
    if (error instanceof GeoDatabaseError) throw new ConfigError(error.message);
    throw error;
  }
}

type Read = (name: string) => string | undefined;

/** The FLOWLOGS_GEOIP* settings alone (the `parse` command reads these and no others). */
export function loadGeoIpSettings(env: NodeJS.ProcessEnv = process.env): GeoIpSettings {
  return geoIpSettings(reader(env));
}

function geoIpSettings(read: Read): GeoIpSettings {
  const geoipMode = read("FLOWLOGS_GEOIP") ?? "on";
  if (geoipMode !== "on" && geoipMode !== "off") throw new ConfigError(`FLOWLOGS_GEOIP ${JSON.stringify(geoipMode)} must be on or off`);
  const geoip: GeoIpSettings = {
    enabled: geoipMode === "on",
    geoDatabase: read("FLOWLOGS_GEOIP_DATABASE"),
    asnDatabase: read("FLOWLOGS_GEOIP_ASN_DATABASE"),
    cacheEntries: integer("FLOWLOGS_GEOIP_CACHE_ENTRIES", read("FLOWLOGS_GEOIP_CACHE_ENTRIES") ?? String(DEFAULT_GEOIP_CACHE_ENTRIES), 1, 10_000_000),
  };
  const asn = geoip.asnDatabase;
  if (asn !== undefined && asn !== ASN_DATABASE_NONE && /^(none|off|false|no|disabled?)$/i.test(asn)) {
    throw new ConfigError(`FLOWLOGS_GEOIP_ASN_DATABASE ${JSON.stringify(asn)}: to run without AS fields set it to ${ASN_DATABASE_NONE}; otherwise give the path of an ASN .mmdb file`);
  }
  if (!geoip.enabled) {
    for (const name of ["FLOWLOGS_GEOIP_DATABASE", "FLOWLOGS_GEOIP_ASN_DATABASE"]) {
      const value = read(name);
      if (value && !(name === "FLOWLOGS_GEOIP_ASN_DATABASE" && value === ASN_DATABASE_NONE)) {
        throw new ConfigError(`${name} is set but FLOWLOGS_GEOIP=off: unset it, or set FLOWLOGS_GEOIP=on`);
      }
    }
  }
  return geoip;
}

/** FLOWLOGS_METRICS_HOST: an address to bind (a name would be resolved at start, and fail there unnamed). */
function metricsHost(read: Read): string {
  const host = read("FLOWLOGS_METRICS_HOST") ?? "127.0.0.1";
  if (host !== "localhost" && isIP(host) === 0) {
    throw new ConfigError(`FLOWLOGS_METRICS_HOST ${JSON.stringify(host)} is not an IP address: use 127.0.0.1, or 0.0.0.0 in a container so probes reach it`);
  }
  return host;
}

/** FLOWLOGS_ES_CA_FINGERPRINT, checked here so that a bad one stops start-up naming the variable. */
function caFingerprint(read: Read): string | undefined {
  const value = read("FLOWLOGS_ES_CA_FINGERPRINT");
  if (value !== undefined && caFingerprintPairs(value) === undefined) {
    throw new ConfigError("FLOWLOGS_ES_CA_FINGERPRINT must be the SHA-256 fingerprint of the cluster's CA certificate: 64 hex digits, colons optional " +
      "(openssl x509 -noout -fingerprint -sha256 -in ca.pem)");
  }
  return value;
}

/** URL and credentials of an Elasticsearch or OpenSearch cluster, from the FLOWLOGS_ES_* variables. */
function clusterSettings(read: Read, kind: string): { url: string; apiKey?: string; basic?: { username: string; password: string } } {
  const url = read("FLOWLOGS_ES_URL");
  if (!url) throw new ConfigError(`FLOWLOGS_ES_URL is required when FLOWLOGS_SINK=${kind} (e.g. https://my-cluster:9200), or set FLOWLOGS_SINK=stdout`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`FLOWLOGS_ES_URL ${JSON.stringify(redactUrlText(url))} is not a URL (e.g. https://my-cluster:9200)`);
  }
  if (parsed.username || parsed.password) {
    throw new ConfigError("FLOWLOGS_ES_URL must not carry credentials: put the API key in FLOWLOGS_ES_API_KEY");
  }
  // `localhost:9200` parses, as a URL of scheme "localhost:".
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ConfigError(`FLOWLOGS_ES_URL ${JSON.stringify(redactUrlText(url))} must start with https:// or http:// (e.g. https://my-cluster:9200)`);
  }
  const apiKey = read("FLOWLOGS_ES_API_KEY");
  const username = read("FLOWLOGS_ES_USERNAME");
  const password = read("FLOWLOGS_ES_PASSWORD");
  if (apiKey && (username || password)) {
    throw new ConfigError("set either FLOWLOGS_ES_API_KEY or FLOWLOGS_ES_USERNAME with FLOWLOGS_ES_PASSWORD, not both");
  }
  if (Boolean(username) !== Boolean(password)) {
    throw new ConfigError("FLOWLOGS_ES_USERNAME and FLOWLOGS_ES_PASSWORD go together: set both, or use FLOWLOGS_ES_API_KEY");
  }
  return { url, apiKey, basic: username && password ? { username, password } : undefined };
}

function logzioSettings(read: Read): SinkConfig {
  const token = read("FLOWLOGS_LOGZIO_TOKEN");
  if (!token) throw new ConfigError("FLOWLOGS_LOGZIO_TOKEN is required when FLOWLOGS_SINK=logzio: the account's log shipping token (Logz.io settings, Manage tokens)");
  if (/\s/.test(token)) throw new ConfigError("FLOWLOGS_LOGZIO_TOKEN contains spaces: paste the log shipping token alone");
  const url = read("FLOWLOGS_LOGZIO_URL") ?? "https://listener.logz.io:8071";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`FLOWLOGS_LOGZIO_URL ${JSON.stringify(redactUrlText(url))} is not a URL: use your region's listener, e.g. https://listener-eu.logz.io:8071`);
  }
  if (parsed.search || parsed.username || parsed.password) {
    // Not echoed: the query string may hold the token.
    throw new ConfigError("FLOWLOGS_LOGZIO_URL must not carry a query string or credentials: put the token in FLOWLOGS_LOGZIO_TOKEN");
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && loopback)) {
    throw new ConfigError(`FLOWLOGS_LOGZIO_URL must use https (got ${parsed.protocol}): the token travels in the URL; the listener's HTTPS port is 8071`);
  }
  const type = read("FLOWLOGS_LOGZIO_TYPE") ?? "azure_flowlogs";
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(type)) {
    throw new ConfigError(`FLOWLOGS_LOGZIO_TYPE ${JSON.stringify(type)} is invalid: use 1–100 of A-Z, a-z, 0-9, _, . and - (no spaces)`);
  }
  return { kind: "logzio", url, token, type };
}

function level(text: string): Level {
  if (!(LEVELS as readonly string[]).includes(text)) throw new ConfigError(`FLOWLOGS_LOG_LEVEL ${JSON.stringify(text)} is not one of ${LEVELS.join(", ")}`);
  return text as Level;
}

function bulkLinger(read: Read): number {
  return integer("FLOWLOGS_ES_BULK_LINGER_MS", read("FLOWLOGS_ES_BULK_LINGER_MS") ?? "20", 0, 1000);
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} ${JSON.stringify(text)} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

/**
 * Below a second the deadline would race the collector's own pauses, not Azure: a blocked event loop (a garbage
 * collection, parsing a 4 MiB window) delays the body's data events and would abort answers already on their way.
 */
export const MIN_STORAGE_TIMEOUT_MS = 1000;

function storageTimeoutMs(text: string): number {
  if (/^\d+$/.test(text) && Number(text) < MIN_STORAGE_TIMEOUT_MS) {
    throw new ConfigError(`FLOWLOGS_STORAGE_TIMEOUT_MS ${JSON.stringify(text)} is too short: below ${MIN_STORAGE_TIMEOUT_MS} ms a pause of the ` +
      `collector's own (garbage collection, parsing a window) would abort answers on their way; set ${MIN_STORAGE_TIMEOUT_MS} to 600000, or unset it for the default 45000`);
  }
  return integer("FLOWLOGS_STORAGE_TIMEOUT_MS", text, MIN_STORAGE_TIMEOUT_MS, 600_000);
}

function oneOf<T extends string>(name: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new ConfigError(`${name} ${JSON.stringify(text)} must be one of ${choices.join(", ")}`);
  return text as T;
}

function checkContainerName(variable: string, name: string): string {
  if (!/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) {
    throw new ConfigError(`${variable}: ${JSON.stringify(name)} is not a valid container name (3–63 of a-z, 0-9 and single hyphens)`);
  }
  return name;
}

/** The configuration with secrets removed, for the start-up log line. URLs lose user info and query (a SAS). */
export function describeConfig(config: CollectorConfig): Record<string, unknown> {
  return {
    storage: "connectionString" in config.storage ? "connection string (redacted)" : redactUrlText(config.storage.accountUrl),
    containers: config.containers,
    checkpointContainer: config.checkpointContainer,
    pollIntervalSeconds: config.pollIntervalSeconds,
    leaseSeconds: config.leaseSeconds,
    keepLeases: config.keepLeases,
    replicaId: config.replicaId,
    concurrency: config.concurrency,
    windowBytes: config.windowBytes,
    recordBytes: config.recordBytes,
    maxAttempts: config.maxAttempts,
    fullListingMinutes: config.fullListingMinutes,
    listingHorizonHours: config.listingHorizonHours,
    storageTimeoutMs: config.storageTimeoutMs,
    sink: config.sink.kind === "elasticsearch"
      ? {
        kind: "elasticsearch", url: redactUrlText(config.sink.url), namespace: config.sink.namespace,
        auth: config.sink.apiKey ? "api key (set)" : config.sink.basic ? `basic (${config.sink.basic.username})` : "(none)",
        caPinned: Boolean(config.sink.caFingerprint || config.sink.caFile),
        dedupeAcrossBackingIndices: config.sink.dedupeAcrossBackingIndices,
        bulkLingerMs: config.sink.bulkLingerMs,
      }
      : config.sink.kind === "opensearch"
        ? {
          kind: "opensearch", url: redactUrlText(config.sink.url), namespace: config.sink.namespace,
          auth: config.sink.apiKey ? "api key (set)" : config.sink.basic ? `basic (${config.sink.basic.username})` : "(none)",
          caFile: config.sink.caFile ?? "(system roots)",
          bulkLingerMs: config.sink.bulkLingerMs,
        }
        : config.sink.kind === "logzio"
          ? { kind: "logzio", url: redactUrlText(config.sink.url), type: config.sink.type, token: "(set, redacted)" }
          : config.sink,
    geoip: config.geoip.enabled
      ? { database: config.geoip.geoDatabase ?? "(shipped country database)", asnDatabase: config.geoip.asnDatabase ?? "(shipped ASN data)", cacheEntries: config.geoip.cacheEntries }
      : "off",
    metrics: config.metricsPort === undefined ? "off" : `${config.metricsHost}:${config.metricsPort}`,
    threatList: config.threatList ?? "off",
  };
}
