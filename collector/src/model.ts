// The contracts every stage of the collector shares: source (blobs) -> parser/mapper (pure) -> sink.
// Kept in one small file so each stage can be built and tested alone against it.
import type { AddressEnrichment } from "./ecs/enrichment";

/** Which flow-log family a record belongs to. NSG covers versions 1 and 2; VNet is flowLogVersion 4. */
export type FlowLogFamily = "nsg" | "vnet";

/** One ECS document per flow tuple. Optional fields are omitted rather than invented. */
export interface FlowDocument {
  "@timestamp": string;
  ecs: { version: string };
  event: {
    kind: "event";
    category: ["network"];
    dataset: "azure.flowlogs";
    type: string[];
    action: "allowed" | "denied";
    outcome: "success" | "failure";
  };
  source: Endpoint;
  destination: Endpoint;
  network: {
    transport?: string;
    iana_number?: string;
    direction: "inbound" | "outbound";
    community_id?: string;
    packets?: number;
    bytes?: number;
  };
  rule?: { name: string };
  related: { ip: string[] };
  cloud: { provider: "azure"; account?: { id: string } };
  azure: {
    resource?: { id: string; name?: string; group?: string };
    flowlog: {
      version: number;
      /** Address class of each endpoint and the flow's place relative to the internet (ecs/addressClass.ts). */
      source_address_class: "private" | "azure_platform" | "public";
      destination_address_class: "private" | "azure_platform" | "public";
      locality: "internal" | "from_internet" | "to_internet" | "external";
      state?: "begin" | "continuing" | "end" | "deny";
      encryption?: string;
      mac?: string;
      acl_id?: string;
      id?: string;
      guid?: string;
    };
  };
  /** Present only when an endpoint is on the user's threat list (ecs/threat.ts; FLOWLOGS_THREAT_LIST_FILE). */
  threat?: { enrichments: ThreatEnrichment[] };
}

/** One listed endpoint of a flow: the list entry that covers it and which field matched (ECS threat.enrichments). */
export interface ThreatEnrichment {
  indicator: ThreatIndicator;
  matched: { atomic: string; field: "source.ip" | "destination.ip"; type: "threat_list" };
}

/** A threat-list entry as documents show it. */
export interface ThreatIndicator {
  /** The entry as written in the list: an address or a CIDR. */
  name: string;
  type: "ipv4-addr" | "ipv6-addr";
  /** The entry's comment, e.g. `SBL123` in a Spamhaus DROP line. */
  description?: string;
  /** The list's file name. */
  provider: string;
}

/** Finds the most specific threat-list entry covering an address (an address as a tuple writes it). */
export interface ThreatLookup {
  match(ip: string): ThreatIndicator | undefined;
}

/**
 * Lookups the mapping stage consults per tuple. The service loads and reloads them; the parser only reads them, so
 * it stays free of I/O.
 */
export interface FlowEnrichment {
  /** Geo and AS of public endpoints (ecs/enrichment.ts, enrich/geoIp.ts). */
  addresses?: AddressEnrichment;
  threats?: ThreatLookup;
}

export interface Endpoint {
  ip: string;
  port?: number;
  packets?: number;
  bytes?: number;
  /** Public addresses only, when an enrichment database knows them (ecs/enrichment.ts). */
  geo?: EndpointGeo;
  as?: EndpointAs;
}

/** ECS `geo` of an endpoint; each field only when the database has it. */
export interface EndpointGeo {
  continent_code?: string;
  continent_name?: string;
  country_iso_code?: string;
  country_name?: string;
  region_iso_code?: string;
  region_name?: string;
  city_name?: string;
  location?: { lat: number; lon: number };
}

/** ECS `as` (autonomous system) of an endpoint. */
export interface EndpointAs {
  number?: number;
  organization?: { name: string };
}

/** Room to write bytes into: after `reserve(n)`, `bytes` has at least n bytes free from `at`. */
export interface ByteOut {
  bytes: Buffer;
  at: number;
  reserve(count: number): void;
}

/**
 * A document with the deterministic id it is written under (the same content always yields the same id). `source`
 * is the document's JSON text, what every sink sends and dead-letters (always JSON.stringify(doc)); the parser's
 * documents make it, and `doc`, only when something asks for them (ecs/identified.ts).
 */
export interface IdentifiedDocument {
  readonly id: string;
  readonly source: string;
  readonly doc: FlowDocument;
  /** Writes `source`'s UTF-8 bytes at `out.at` and moves `at` past them, without making the string (bulk bodies). */
  writeSource?(out: ByteOut): void;
  /**
   * Writes `id` at `at` when it is DOCUMENT_ID_LENGTH base64url characters (nothing JSON escapes), without making the
   * string; returns the end.
   */
  writeId?(out: Uint8Array, at: number): number;
}

/** Input the parser could not turn into documents. It is reported and set aside, never dropped silently. */
export interface Reject {
  /** Index of the record in the parsed `records` array (offset by the caller's base for blob chunks). */
  record: number;
  /** Index of the tuple within its record, counted across all rules/groups, when the problem is one tuple. */
  tuple?: number;
  reason: string;
  /** The offending raw value (a tuple string, or a JSON excerpt), truncated to a readable length. */
  raw?: string;
}

export interface ParseResult {
  documents: IdentifiedDocument[];
  rejects: Reject[];
}

/** Where a document or reject came from; carried to dead letters so nothing set aside is untraceable. */
export interface SourcePosition {
  container: string;
  blob: string;
  /** Byte offset in the blob of the block the data was read from. */
  offset?: number;
}

/** Something that could not be indexed or parsed, kept with its reason. */
export interface DeadLetter {
  position?: SourcePosition;
  reason: string;
  raw: string;
  /** Document id, when a well-formed document was refused by the cluster. */
  id?: string;
}

export interface SinkResult {
  /** Newly written documents. */
  indexed: number;
  /** Documents that were already present (a 409 on `create`): proof that a re-read added nothing. */
  duplicates: number;
  /** Documents the destination refused for good (mapping errors...), already handed to the dead-letter store. */
  deadLettered: number;
  /** Retries performed while delivering this batch (429 / 5xx / connection errors). */
  retries: number;
}

/** What the caller of one write asks of the sink besides delivery. */
export interface WriteOptions {
  /**
   * Called, and awaited, each time the sink is about to wait before sending these documents again (a transient
   * failure: 429, 5xx, no connection): the destination is in trouble, not the data.
   */
  onWaiting?: () => Promise<void> | void;
  /**
   * Ends the write at once (the collector's stop, a lost lease): its waits between retries and its request in flight
   * end, and it rejects with StoppedWriteError. What the cluster may have taken meanwhile is created again as
   * duplicates only (ids are content-derived), so the caller moves no checkpoint.
   */
  signal?: AbortSignal;
}

/**
 * A destination for documents. `write` resolves only once every document is acknowledged (indexed, a duplicate,
 * or dead-lettered); it rejects if delivery could not be completed, and then no checkpoint may advance.
 */
export interface Sink {
  write(documents: IdentifiedDocument[], position?: SourcePosition, options?: WriteOptions): Promise<SinkResult>;
  /** Store things set aside (parse rejects, refused documents) with their reason. */
  deadLetter(entries: DeadLetter[], options?: WriteOptions): Promise<void>;
  close(): Promise<void>;
}
