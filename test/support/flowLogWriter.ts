// Grows NSG (v1/v2) and VNet (v4) PT1H.json blobs on Azurite exactly as Azure does (REFERENCE Part 1 §3.2):
// a 12-byte head block `{"records":[`, one block per minute appended before a 2-byte tail block `]}` that is
// re-committed last, every record block after the first starting with `,`. Records are generated from a seed,
// so a test knows exactly how many tuples it wrote. Used by the collector tests, the demo and the benchmarks.
import type { ContainerClient, BlockBlobClient } from "@azure/storage-blob";

export const NSG_CONTAINER = "insights-logs-networksecuritygroupflowevent";
export const VNET_CONTAINER = "insights-logs-flowlogflowevent";

export const HEAD = '{"records":[';
export const TAIL = "]}";

export type FlowLogKind = "nsg-v1" | "nsg-v2" | "vnet-v4";

export interface FlowLogBlobSpec {
  kind: FlowLogKind;
  /** Start of the hour the blob covers (UTC); minutes and seconds are ignored. */
  hour: Date;
  /** NIC MAC address without separators, e.g. `000D3AF8801A`. */
  mac?: string;
  subscriptionId?: string;
  /** NSG only. */
  resourceGroup?: string;
  nsgName?: string;
  /** VNet only. */
  region?: string;
  flowLogName?: string;
  /** Seed of the deterministic record generator. */
  seed?: number;
  /** VNet only: the virtual network named in targetResourceID (default vnet-app). */
  vnetName?: string;
  /**
   * Shapes the generated traffic: rules (some denying), and small pools of addresses and ports so top-N views
   * mean something. Without it the writer generates exactly as before (one allow rule, random addresses).
   */
  traffic?: TrafficProfile;
}

/** A rule generated tuples are filed under; tuples of a `deny` rule are denied flows (NSG `D`, VNet state `D`). */
export interface TrafficRule {
  name: string;
  deny?: boolean;
  /** The destination ports this rule matches (default: the profile's pool). */
  destinationPorts?: number[];
  /** The sources whose flows this rule carries (default: the profile's pool), e.g. admin ports only from private hosts. */
  sources?: string[];
  /** How often this rule is picked relative to the others (default 1). */
  weight?: number;
}

export interface TrafficProfile {
  rules: TrafficRule[];
  sources: string[];
  destinations: string[];
  destinationPorts: number[];
}

/**
 * What one written tuple means, recorded by the writer from its own choices (not by parsing what it wrote), so a
 * test can compute the expected dashboard numbers independently of the collector.
 */
export interface WrittenTuple {
  kind: FlowLogKind;
  /** The tuple's time as the collector must date it (NSG: whole seconds; VNet: milliseconds). */
  timestampMs: number;
  sourceIp: string;
  destinationIp: string;
  destinationPort: number;
  direction: "inbound" | "outbound";
  action: "allowed" | "denied";
  rule: string;
  /** Bytes sent + received, when the tuple carries both counters (absent for NSG v1 and empty counters). */
  bytes?: number;
  /** Last segment of the NSG resourceId / VNet targetResourceID, as written. */
  resourceName: string;
  mac: string;
}

export interface AppendOptions {
  /** Records in this block (default 1, as in Microsoft's block-list example). */
  records?: number;
  /** Tuples per record (default: 1–6, chosen by the seeded generator). */
  tuplesPerRecord?: number;
  /** Extra tuples chosen by the caller (e.g. a planted attack), written as one more record of this block. */
  planted?: PlantedTuple[];
}

/** A tuple the caller chooses exactly; written in the family's format and recorded in `written` like the others. */
export interface PlantedTuple {
  /** Milliseconds after the start of the minute being appended (0–59,999). */
  offsetMs: number;
  sourceIp: string;
  destinationIp: string;
  destinationPort: number;
  rule: string;
  deny: boolean;
  /** Default 40000 + its index in the record: each planted tuple its own conversation. */
  sourcePort?: number;
  /** NSG v2 and VNet flow state (default B); a denied VNet tuple is always D. A conversation is B, C..., E on one port. */
  state?: "B" | "C" | "E";
  /** Counters since the last update, written on C and E tuples (default none). */
  sent?: { packets: number; bytes: number };
  received?: { packets: number; bytes: number };
}

export interface AppendResult {
  tuples: number;
  records: number;
  bytes: number;
}

/** The blob path Azure uses for this spec (NSG `resourceId=/...`, VNet `flowLogResourceID=/...`). */
export function flowLogBlobName(spec: FlowLogBlobSpec): string {
  const h = spec.hour;
  const two = (n: number) => String(n).padStart(2, "0");
  const time = `y=${h.getUTCFullYear()}/m=${two(h.getUTCMonth() + 1)}/d=${two(h.getUTCDate())}/h=${two(h.getUTCHours())}/m=00`;
  const mac = macOf(spec);
  if (spec.kind === "vnet-v4") {
    return `flowLogResourceID=/${subscriptionOf(spec).toUpperCase()}_NETWORKWATCHERRG/NETWORKWATCHER_${regionOf(spec).toUpperCase()}_${flowLogNameOf(spec).toUpperCase()}/${time}/macAddress=${mac}/PT1H.json`;
  }
  return `resourceId=${nsgResourceId(spec)}/${time}/macAddress=${mac}/PT1H.json`;
}

export function flowLogContainer(kind: FlowLogKind): string {
  return kind === "vnet-v4" ? VNET_CONTAINER : NSG_CONTAINER;
}

/**
 * One growing PT1H.json. `appendMinute()` adds one record block before the tail; `appendMalformedBlock()` adds a
 * block that is not valid JSON. Counters say exactly what was written.
 */
export class FlowLogBlobWriter {
  readonly blobName: string;
  readonly blob: BlockBlobClient;
  /** Tuples in well-formed blocks (what a collector should index). */
  tuples = 0;
  records = 0;
  /** Record blocks committed (head and tail excluded), malformed ones included. */
  dataBlocks = 0;
  malformedBlocks = 0;
  /** Every tuple written with a `traffic` profile, in write order (empty without one). */
  readonly written: WrittenTuple[] = [];
  private readonly committed: string[] = [];
  private readonly random: () => number;
  private minute = 0;
  private size = 0;

  constructor(readonly container: ContainerClient, readonly spec: FlowLogBlobSpec) {
    this.blobName = flowLogBlobName(spec);
    this.blob = container.getBlockBlobClient(this.blobName);
    this.random = mulberry32(spec.seed ?? 1);
  }

  /** Committed length, tail included. */
  get length(): number {
    return this.size === 0 ? 0 : this.size + TAIL.length;
  }

  /** Append one minute of records as a block, as Azure does once a minute. */
  async appendMinute(options: AppendOptions = {}): Promise<AppendResult> {
    return this.appendMinutes(1, options);
  }

  /**
   * Append `minutes` minutes of records, a block each, committed in one block list: what a reader polling that many
   * minutes apart finds new at once (Azure commits each minute's block in turn; the reader sees only the result).
   */
  async appendMinutes(minutes: number, options: AppendOptions = {}): Promise<AppendResult> {
    const blocks: string[] = [];
    const written: WrittenTuple[] = [];
    const total: AppendResult = { tuples: 0, records: 0, bytes: 0 };
    for (let m = 0; m < minutes; m++) {
      const minute = this.minuteRecords(options, written);
      blocks.push(minute.text);
      total.tuples += minute.tuples;
      total.records += minute.records;
      this.minute++;
    }
    total.bytes = await this.commitData(blocks);
    this.written.push(...written);
    this.tuples += total.tuples;
    this.records += total.records;
    return total;
  }

  /** One minute's records as a block's text, at the current minute; the tuples of a traffic profile go into `written`. */
  private minuteRecords(options: AppendOptions, written: WrittenTuple[]): { text: string; tuples: number; records: number } {
    const recordCount = options.records ?? 1;
    const records: string[] = [];
    let tuples = 0;
    for (let i = 0; i < recordCount; i++) {
      const count = options.tuplesPerRecord ?? 1 + Math.floor(this.random() * 6);
      records.push(JSON.stringify(this.spec.traffic ? this.profiledRecord(count, this.spec.traffic, written) : this.record(count)));
      tuples += count;
    }
    if (options.planted?.length) {
      records.push(JSON.stringify(this.plantedRecord(options.planted, written)));
      tuples += options.planted.length;
    }
    return { text: records.join(","), tuples, records: recordCount + (options.planted?.length ? 1 : 0) };
  }

  /** Append a block that is not valid JSON (truncated record), as corruption or a bug would. */
  async appendMalformedBlock(text = '{"time":"2026-01-01T00:00:00Z","category":"broken",'): Promise<number> {
    this.malformedBlocks++;
    return this.commitData([text]);
  }

  /** Replace the blob by a fresh single-record one (same name), as if it were deleted and re-created. */
  async replace(options: AppendOptions = {}): Promise<AppendResult> {
    await this.blob.deleteIfExists();
    this.committed.length = 0;
    this.size = 0;
    this.tuples = 0;
    this.records = 0;
    this.dataBlocks = 0;
    this.malformedBlocks = 0;
    this.written.length = 0;
    return this.appendMinute(options);
  }

  /** Commits `texts` as data blocks, in order, before the tail; returns their bytes (separating commas included). */
  private async commitData(texts: readonly string[]): Promise<number> {
    if (this.committed.length === 0) {
      await this.blob.stageBlock(blockId("head"), Buffer.from(HEAD), HEAD.length);
      await this.blob.stageBlock(blockId("tail"), Buffer.from(TAIL), TAIL.length);
      this.committed.push(blockId("head"));
      this.size = HEAD.length;
    }
    let bytes = 0;
    for (const text of texts) {
      const body = Buffer.from(this.committed.length === 1 ? text : `,${text}`);
      const id = blockId(`data-${String(this.committed.length).padStart(8, "0")}`);
      await this.blob.stageBlock(id, body, body.length);
      this.committed.push(id);
      bytes += body.length;
      this.dataBlocks++;
    }
    // The tail block is already committed; naming it again re-commits it last, after the new blocks.
    await this.blob.commitBlockList([...this.committed, blockId("tail")], {
      blobHTTPHeaders: { blobContentType: "application/json" },
    });
    this.size += bytes;
    return bytes;
  }

  private record(tupleCount: number): Record<string, unknown> {
    const at = new Date(this.spec.hour.getTime() + this.minute * 60_000 + Math.floor(this.random() * 59_000));
    const tuples = Array.from({ length: tupleCount }, (_, i) => this.tuple(at.getTime() + i));
    const rule = this.spec.kind === "vnet-v4" ? "DefaultRule_AllowInternetOutBound" : "UserRule_AllowWeb";
    return this.envelope(at.getTime(), [[rule, tuples]]);
  }

  /** The record around tuples grouped by rule, in the family's documented shape. */
  private envelope(atMs: number, groups: Array<[rule: string, tuples: string[]]>): Record<string, unknown> {
    const spec = this.spec;
    if (spec.kind === "vnet-v4") {
      return {
        time: new Date(atMs).toISOString(),
        flowLogVersion: 4,
        flowLogGUID: "66aa66aa-bb77-cc88-dd99-00ee00ee00ee",
        macAddress: macOf(spec),
        category: "FlowLogFlowEvent",
        flowLogResourceID: `/SUBSCRIPTIONS/${subscriptionOf(spec).toUpperCase()}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_${regionOf(spec).toUpperCase()}/FLOWLOGS/${flowLogNameOf(spec).toUpperCase()}`,
        targetResourceID: vnetResourceId(spec),
        operationName: "FlowLogFlowEvent",
        flowRecords: {
          flows: [{
            aclID: "01234567-89ab-cdef-0123-456789abcdef",
            flowGroups: groups.map(([rule, flowTuples]) => ({ rule, flowTuples })),
          }],
        },
      };
    }
    return {
      time: new Date(atMs).toISOString(),
      systemId: "5a3c1e2b-0000-4000-8000-00000000abcd",
      macAddress: macOf(spec),
      category: "NetworkSecurityGroupFlowEvent",
      resourceId: nsgResourceId(spec),
      operationName: "NetworkSecurityGroupFlowEvents",
      properties: {
        Version: spec.kind === "nsg-v1" ? 1 : 2,
        flows: groups.map(([rule, flowTuples]) => ({ rule, flows: [{ mac: macOf(spec), flowTuples }] })),
      },
    };
  }

  /** A record whose tuples follow `traffic`: one rule entry per rule used, tuples recorded in `written`. */
  private profiledRecord(tupleCount: number, traffic: TrafficProfile, written: WrittenTuple[]): Record<string, unknown> {
    const spec = this.spec;
    const r = this.random;
    const pick = <T>(list: T[]): T => list[Math.floor(r() * list.length)];
    const at = spec.hour.getTime() + this.minute * 60_000 + Math.floor(r() * 59_000);
    const byRule = new Map<string, string[]>(); // one entry per rule name, as Azure groups them
    for (let i = 0; i < tupleCount; i++) {
      const rule = pickRule(traffic.rules, r());
      const atMs = at + i;
      const src = pick(rule.sources ?? traffic.sources);
      const dst = pick(traffic.destinations);
      const sport = 1024 + Math.floor(r() * 60_000);
      const dport = pick(rule.destinationPorts ?? traffic.destinationPorts);
      const direction = r() < 0.5 ? "I" : "O";
      const protocol = r() < 0.8 ? "T" : "U";
      const state = rule.deny ? "B" : pick(["B", "C", "E"]);
      const sent = { packets: 1 + Math.floor(r() * 90), bytes: 100 + Math.floor(r() * 90_000) };
      const received = { packets: 1 + Math.floor(r() * 90), bytes: 100 + Math.floor(r() * 90_000) };
      const { text, bytes, seconds } = this.tupleText({ atMs, src, dst, sport, dport, protocol, direction, deny: Boolean(rule.deny), state, sent, received });
      byRule.set(rule.name, [...(byRule.get(rule.name) ?? []), text]);
      written.push({
        kind: spec.kind, timestampMs: spec.kind === "vnet-v4" ? atMs : seconds * 1000, sourceIp: src, destinationIp: dst,
        destinationPort: dport, direction: direction === "I" ? "inbound" : "outbound", action: rule.deny ? "denied" : "allowed",
        rule: rule.name, ...(bytes === undefined ? {} : { bytes }), resourceName: resourceNameOf(spec), mac: macOf(spec),
      });
    }
    return this.envelope(at, [...byRule.entries()]);
  }

  /** One tuple in the family's format; `bytes` is sent + received where the tuple carries counters. */
  private tupleText(t: {
    atMs: number; src: string; dst: string; sport: number; dport: number; protocol: "T" | "U"; direction: "I" | "O";
    deny: boolean; state: string; sent: { packets: number; bytes: number }; received: { packets: number; bytes: number };
  }): { text: string; bytes?: number; seconds: number } {
    const counters = `${t.sent.packets},${t.sent.bytes},${t.received.packets},${t.received.bytes}`;
    const seconds = Math.floor(t.atMs / 1000);
    const head = `${t.src},${t.dst},${t.sport},${t.dport}`;
    if (this.spec.kind === "nsg-v1") return { text: `${seconds},${head},${t.protocol},${t.direction},${t.deny ? "D" : "A"}`, seconds };
    if (this.spec.kind === "nsg-v2") {
      const hasCounters = t.state !== "B";
      return {
        text: `${seconds},${head},${t.protocol},${t.direction},${t.deny ? "D" : "A"},${t.state},${hasCounters ? counters : ",,,"}`,
        bytes: hasCounters ? t.sent.bytes + t.received.bytes : undefined, seconds,
      };
    }
    const vnetState = t.deny ? "D" : t.state;
    const hasCounters = vnetState === "C" || vnetState === "E";
    return {
      text: `${t.atMs},${head},${t.protocol === "T" ? 6 : 17},${t.direction},${vnetState},NX,${hasCounters ? counters : "0,0,0,0"}`,
      bytes: hasCounters ? t.sent.bytes + t.received.bytes : 0, seconds,
    };
  }

  /** The caller's tuples as one record at the start of the current minute: inbound TCP, one rule entry per rule. */
  private plantedRecord(planted: PlantedTuple[], written: WrittenTuple[]): Record<string, unknown> {
    const spec = this.spec;
    const minuteStart = spec.hour.getTime() + this.minute * 60_000;
    const byRule = new Map<string, string[]>();
    planted.forEach((p, i) => {
      if (!(p.offsetMs >= 0 && p.offsetMs < 60_000)) throw new Error(`planted tuple ${i}: offsetMs ${p.offsetMs} is not within the minute (0-59999)`);
      const atMs = minuteStart + p.offsetMs;
      const { text, bytes, seconds } = this.tupleText({
        atMs, src: p.sourceIp, dst: p.destinationIp, sport: p.sourcePort ?? 40_000 + i, dport: p.destinationPort, protocol: "T", direction: "I",
        deny: p.deny, state: p.state ?? "B", sent: p.sent ?? { packets: 0, bytes: 0 }, received: p.received ?? { packets: 0, bytes: 0 },
      });
      byRule.set(p.rule, [...(byRule.get(p.rule) ?? []), text]);
      written.push({
        kind: spec.kind, timestampMs: spec.kind === "vnet-v4" ? atMs : seconds * 1000, sourceIp: p.sourceIp, destinationIp: p.destinationIp,
        destinationPort: p.destinationPort, direction: "inbound", action: p.deny ? "denied" : "allowed", rule: p.rule,
        ...(bytes === undefined ? {} : { bytes }), resourceName: resourceNameOf(spec), mac: macOf(spec),
      });
    });
    return this.envelope(minuteStart, [...byRule.entries()]);
  }

  private tuple(atMs: number): string {
    const r = this.random;
    const src = `10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
    const dst = `192.0.2.${1 + Math.floor(r() * 254)}`;
    const sport = 1024 + Math.floor(r() * 60_000);
    const dport = [22, 80, 443, 3389, 53][Math.floor(r() * 5)];
    const direction = r() < 0.5 ? "I" : "O";
    const state = ["B", "C", "E"][Math.floor(r() * 3)];
    const counters = state === "B" ? ",,," : `${1 + Math.floor(r() * 90)},${100 + Math.floor(r() * 90_000)},${1 + Math.floor(r() * 90)},${100 + Math.floor(r() * 90_000)}`;
    const seconds = Math.floor(atMs / 1000);
    switch (this.spec.kind) {
      case "nsg-v1":
        return `${seconds},${src},${dst},${sport},${dport},${r() < 0.8 ? "T" : "U"},${direction},${r() < 0.8 ? "A" : "D"}`;
      case "nsg-v2":
        return `${seconds},${src},${dst},${sport},${dport},${r() < 0.8 ? "T" : "U"},${direction},A,${state},${state === "B" ? ",,," : counters}`;
      case "vnet-v4": {
        const vnetState = r() < 0.1 ? "D" : state;
        const vnetCounters = vnetState === "B" || vnetState === "D" ? "0,0,0,0" : counters;
        return `${atMs},${src},${dst},${sport},${dport},${r() < 0.8 ? 6 : 17},${direction},${vnetState},NX,${vnetCounters}`;
      }
    }
  }
}

/** Block ids must all have the same length within a blob; base64 of a fixed-width label. */
function blockId(label: string): string {
  return Buffer.from(label.padEnd(32, "-").slice(0, 32)).toString("base64");
}

function nsgResourceId(spec: FlowLogBlobSpec): string {
  return `/SUBSCRIPTIONS/${subscriptionOf(spec).toUpperCase()}/RESOURCEGROUPS/${(spec.resourceGroup ?? "rg-app").toUpperCase()}/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/${(spec.nsgName ?? "nsg-app").toUpperCase()}`;
}

function vnetResourceId(spec: FlowLogBlobSpec): string {
  return `/subscriptions/${subscriptionOf(spec)}/resourceGroups/rg-app/providers/Microsoft.Network/virtualNetworks/${spec.vnetName ?? "vnet-app"}`;
}

function resourceNameOf(spec: FlowLogBlobSpec): string {
  const id = spec.kind === "vnet-v4" ? vnetResourceId(spec) : nsgResourceId(spec);
  return id.slice(id.lastIndexOf("/") + 1);
}

const subscriptionOf = (spec: FlowLogBlobSpec) => spec.subscriptionId ?? "00000000-1111-2222-3333-444444444444";
const regionOf = (spec: FlowLogBlobSpec) => spec.region ?? "westeurope";
const flowLogNameOf = (spec: FlowLogBlobSpec) => spec.flowLogName ?? "vnet-app-rg-app-flowlog";
const macOf = (spec: FlowLogBlobSpec) => spec.mac ?? "000D3AF8801A";

/** Small, fast, seedable PRNG so generated data is the same on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The rule `u` (uniform in [0, 1)) falls on, each rule taking a share of [0, 1) proportional to its weight. */
function pickRule(rules: TrafficRule[], u: number): TrafficRule {
  const total = rules.reduce((sum, rule) => sum + (rule.weight ?? 1), 0);
  let at = u * total;
  for (const rule of rules) {
    at -= rule.weight ?? 1;
    if (at < 0) return rule;
  }
  return rules[rules.length - 1];
}
