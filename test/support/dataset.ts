// A known flow-log dataset shared by the end-to-end tests, the demo and the benchmarks: a few NICs behind NSGs
// (flow logs v1 and v2) and VNets (v4), written minute by minute as Azure does, with allow and deny rules, a few
// recurring addresses and ports. `expectedPanels` computes what each dashboard panel must show from what the
// writers recorded, with plain counting (never with the collector's parser or mapper).
import type { BlobServiceClient } from "@azure/storage-blob";
import { FlowLogBlobWriter, type FlowLogBlobSpec, type PlantedTuple, type TrafficProfile, type WrittenTuple } from "./flowLogWriter";

export const DATASET_HOUR = new Date("2026-11-20T09:00:00Z");

// Ordinary traffic, shaped like a real network's so that the declared detections stay quiet on it at their default
// thresholds: the internet reaches the web ports; SSH, RDP and SQL are used from private and VPN (CGNAT) hosts; the
// denied flows are internet background noise, many public addresses each probing a few admin ports now and then
// (about one denied flow a minute per NSG NIC at the demo's default rate), and a little denied east-west SQL.
// A public address with dozens of flows to 22/3389/1433 in five minutes, or dozens of ports, is an attack, not
// ordinary traffic: the demo plants those (scripts/demo/incidents.ts).
const ADMIN_SOURCES = ["10.1.0.5", "10.1.0.6", "100.64.0.9"];
const BACKGROUND_SCANNERS = [
  "192.0.2.101", "192.0.2.102", "192.0.2.103", "192.0.2.104", "192.0.2.105", "192.0.2.106", "192.0.2.107", "192.0.2.108",
  "198.51.100.101", "198.51.100.102", "198.51.100.103", "198.51.100.104", "203.0.113.101", "203.0.113.102", "203.0.113.103", "203.0.113.104",
];

const NSG_TRAFFIC: TrafficProfile = {
  rules: [
    { name: "UserRule_AllowWeb", destinationPorts: [443, 443, 80], weight: 24 }, { name: "UserRule_AllowWeb", destinationPorts: [443, 80], weight: 12 },
    { name: "UserRule_AllowSsh", destinationPorts: [22], sources: ADMIN_SOURCES, weight: 3 },
    { name: "UserRule_DenyRdp", deny: true, destinationPorts: [3389], sources: BACKGROUND_SCANNERS },
    { name: "DefaultRule_DenyAllInBound", deny: true, destinationPorts: [22, 23, 445, 1433, 5900, 8080], sources: BACKGROUND_SCANNERS },
  ],
  // Repeats weight the pick, so the top-N views have clear leaders. 8.8.4.4 (Google), 1.1.1.1 (Cloudflare) and 9.9.9.9
  // (Quad9) are real addresses of large networks, so a geo/AS database gives the external-traffic views rows.
  sources: ["203.0.113.7", "203.0.113.7", "203.0.113.7", "198.51.100.23", "198.51.100.23", "10.1.0.4", "10.1.0.5",
    "10.1.0.6", "8.8.4.4", "1.1.1.1", "9.9.9.9", "100.64.0.9"],
  destinations: ["10.1.0.4", "10.1.0.4", "10.1.0.5", "10.1.0.6", "10.1.0.7", "10.1.0.8"],
  destinationPorts: [443, 443, 443, 80, 80],
};

const VNET_TRAFFIC: TrafficProfile = {
  rules: [
    { name: "DefaultRule_AllowInternetOutBound", weight: 8 }, { name: "UserRule_AllowHttps", destinationPorts: [443], weight: 16 },
    { name: "UserRule_DenySql", deny: true, destinationPorts: [1433], sources: ["10.2.0.5", "10.2.1.5"] },
  ],
  sources: ["10.2.0.4", "10.2.0.4", "10.2.0.5", "10.2.1.4", "10.2.1.5", "203.0.113.7", "52.95.110.1"],
  // Outbound to the internet: Microsoft (20.50.2.x) and Fastly (151.101.1.69), real addresses a geo database knows.
  destinations: ["20.50.2.1", "20.50.2.1", "20.50.2.2", "10.2.1.4", "10.2.0.4", "151.101.1.69"],
  destinationPorts: [443, 443, 443, 53, 8080],
};

export interface DatasetOptions {
  nsgContainer: string;
  vnetContainer: string;
  /** Start of the hour the blobs cover. Default DATASET_HOUR. */
  hour?: Date;
  /** Records each NIC writes per minute (default 2). Tuples per record are 1–6, from the seed. */
  recordsPerMinute?: number;
  /** Tuples planted in one NIC's blob (by MAC) in one minute (0-based), e.g. an attack, besides its normal traffic. */
  planted?: PlantedTraffic[];
}

export interface PlantedTraffic {
  minute: number;
  mac: string;
  tuples: PlantedTuple[];
}

/** The NICs of the dataset: one NSG v1 NIC, two NSG v2 NICs, two VNet NICs (two VNets). */
export function datasetSpecs(hour: Date = DATASET_HOUR): FlowLogBlobSpec[] {
  return [
    { kind: "nsg-v1", hour, seed: 101, mac: "000D3A0A0001", nsgName: "nsg-legacy", traffic: NSG_TRAFFIC },
    { kind: "nsg-v2", hour, seed: 102, mac: "000D3A0B0001", nsgName: "nsg-web", traffic: NSG_TRAFFIC },
    { kind: "nsg-v2", hour, seed: 103, mac: "000D3A0B0002", nsgName: "nsg-web", traffic: NSG_TRAFFIC },
    { kind: "vnet-v4", hour, seed: 104, mac: "000D3A0C0001", vnetName: "vnet-app", traffic: VNET_TRAFFIC },
    { kind: "vnet-v4", hour, seed: 105, mac: "000D3A0C0002", vnetName: "vnet-data", flowLogName: "vnet-data-flowlog", traffic: VNET_TRAFFIC },
  ];
}

/** The dataset's blobs, grown a minute at a time. */
export class FlowLogDataset {
  readonly writers: FlowLogBlobWriter[];
  minutesWritten = 0;
  private readonly recordsPerMinute: number;
  private readonly planted: PlantedTraffic[];

  constructor(service: BlobServiceClient, options: DatasetOptions) {
    this.recordsPerMinute = options.recordsPerMinute ?? 2;
    this.writers = datasetSpecs(options.hour).map((spec) => new FlowLogBlobWriter(
      service.getContainerClient(spec.kind === "vnet-v4" ? options.vnetContainer : options.nsgContainer), spec));
    this.planted = options.planted ?? [];
    for (const p of this.planted) {
      if (!this.writers.some((w) => w.spec.mac === p.mac)) throw new Error(`planted traffic names MAC ${p.mac}, which is no NIC of the dataset`);
      if (!Number.isInteger(p.minute) || p.minute < 0 || p.minute > 59) throw new Error(`planted traffic minute ${p.minute} is not 0-59`);
    }
  }

  /** Appends the next `count` minutes to every blob (the NICs of one minute in parallel, as Azure would). */
  async appendMinutes(count: number, onMinute?: (minute: number) => void): Promise<void> {
    for (let i = 0; i < count; i++) {
      if (this.minutesWritten >= 60) throw new Error("a PT1H.json blob covers one hour: at most 60 minutes can be appended");
      const minute = this.minutesWritten;
      await Promise.all(this.writers.map((writer) => writer.appendMinute({
        records: this.recordsPerMinute,
        planted: this.planted.filter((p) => p.minute === minute && p.mac === writer.spec.mac).flatMap((p) => p.tuples),
      })));
      this.minutesWritten++;
      onMinute?.(this.minutesWritten);
    }
  }

  get tuples(): number {
    return this.writers.reduce((sum, writer) => sum + writer.tuples, 0);
  }

  get written(): WrittenTuple[] {
    return this.writers.flatMap((writer) => writer.written);
  }
}

export interface ExpectedPanels {
  total: number;
  denied: number;
  /** Flows per time bucket (bucket start in ms) and action. */
  flowsOverTime: Map<number, { allowed: number; denied: number }>;
  /** Sum of network.bytes per time bucket and direction (documents without bytes add nothing). */
  bytesOverTime: Map<number, { inbound: number; outbound: number }>;
  bySourceIp: Map<string, number>;
  byDestinationIp: Map<string, number>;
  byDestinationPort: Map<number, number>;
  deniedByRule: Map<string, number>;
  /** `resource name|action` to flows. */
  byResourceAndAction: Map<string, number>;
}

export function expectedPanels(tuples: WrittenTuple[], bucketMs: number): ExpectedPanels {
  const add = <K>(map: Map<K, number>, key: K, n = 1) => map.set(key, (map.get(key) ?? 0) + n);
  const result: ExpectedPanels = {
    total: tuples.length, denied: 0, flowsOverTime: new Map(), bytesOverTime: new Map(), bySourceIp: new Map(),
    byDestinationIp: new Map(), byDestinationPort: new Map(), deniedByRule: new Map(), byResourceAndAction: new Map(),
  };
  for (const t of tuples) {
    const bucket = Math.floor(t.timestampMs / bucketMs) * bucketMs;
    const flows = result.flowsOverTime.get(bucket) ?? { allowed: 0, denied: 0 };
    flows[t.action]++;
    result.flowsOverTime.set(bucket, flows);
    const bytes = result.bytesOverTime.get(bucket) ?? { inbound: 0, outbound: 0 };
    bytes[t.direction] += t.bytes ?? 0;
    result.bytesOverTime.set(bucket, bytes);
    add(result.bySourceIp, t.sourceIp);
    add(result.byDestinationIp, t.destinationIp);
    add(result.byDestinationPort, t.destinationPort);
    add(result.byResourceAndAction, `${t.resourceName}|${t.action}`);
    if (t.action === "denied") {
      result.denied++;
      add(result.deniedByRule, t.rule);
    }
  }
  return result;
}

/** The `size` largest entries by count (ties by key), for printing. */
export function topN<K>(counts: Map<K, number>, size: number): Array<[K, number]> {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))).slice(0, size);
}
