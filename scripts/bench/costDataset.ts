// The dataset the cost figures are measured on: 16 VNet NICs over 3 hours, written minute by minute as Azure does
// (in memory, by the same writer the tests use), with a realistic mix of flow states (B/C/E, some D), a few rules
// and address pools the size of a small estate. 16 × 3 × 60 minutes × 2 records × 55 tuples = 316,800 tuples.
import { parseFlowLogText } from "../../collector/src/format";
import type { IdentifiedDocument } from "../../collector/src/model";
import { FlowLogBlobWriter, type FlowLogBlobSpec, type TrafficProfile } from "../../test/support/flowLogWriter";
import { memoryContainer, type MemoryBlob } from "./memoryBlobs";

export const COST_NICS = 16;
export const COST_HOURS = 3;
export const RECORDS_PER_MINUTE = 2;
export const TUPLES_PER_RECORD = 55;

export interface CostBlob {
  name: string;
  blob: MemoryBlob;
  tuples: number;
}

export interface CostDataset {
  blobs: CostBlob[];
  tuples: number;
  /** Bytes of all PT1H.json blobs. */
  bytes: number;
}

function traffic(nic: number): TrafficProfile {
  const sources = Array.from({ length: 24 }, (_, i) => `10.${20 + (nic % 4)}.${nic}.${4 + i}`);
  const destinations = [
    ...Array.from({ length: 40 }, (_, i) => `20.${50 + (i % 7)}.${i}.${(i * 37) % 250 + 1}`),
    ...Array.from({ length: 12 }, (_, i) => `10.${20 + ((nic + 1) % 4)}.${i}.4`),
  ];
  return {
    rules: [
      { name: "DefaultRule_AllowInternetOutBound" }, { name: "DefaultRule_AllowInternetOutBound" },
      { name: "UserRule_AllowHttps", destinationPorts: [443] }, { name: "DefaultRule_AllowVnetInBound" },
      { name: "UserRule_DenySql", deny: true, destinationPorts: [1433] },
    ],
    sources, destinations,
    destinationPorts: [443, 443, 443, 80, 53, 53, 8080, 5432, 1433],
  };
}

/** NIC `nic`'s VNet PT1H.json of `hour`: four VNets with one flow log each, the NIC's own MAC and traffic. */
export function costBlobSpec(nic: number, hour: Date, seed: number): FlowLogBlobSpec {
  return {
    kind: "vnet-v4", hour, seed, mac: `000D3AF88${String(100 + nic).padStart(3, "0")}`, vnetName: `vnet-${nic % 4}`,
    flowLogName: `vnet-${nic % 4}-flowlog`, traffic: traffic(nic),
  };
}

export async function costDataset(): Promise<CostDataset> {
  const { container, blobs } = memoryContainer();
  const made: CostBlob[] = [];
  for (let hour = 0; hour < COST_HOURS; hour++) {
    for (let nic = 0; nic < COST_NICS; nic++) {
      const writer = new FlowLogBlobWriter(container, costBlobSpec(nic, new Date(Date.UTC(2026, 10, 20, 10 + hour)), 1000 + hour * 100 + nic));
      for (let minute = 0; minute < 60; minute++) {
        await writer.appendMinute({ records: RECORDS_PER_MINUTE, tuplesPerRecord: TUPLES_PER_RECORD });
      }
      made.push({ name: writer.blobName, blob: blobs.get(writer.blobName)!, tuples: writer.tuples });
    }
  }
  return {
    blobs: made,
    tuples: made.reduce((n, b) => n + b.tuples, 0),
    bytes: made.reduce((n, b) => n + b.blob.size(), 0),
  };
}

/** The collector's documents for the dataset (parser + mapper, as the collector makes them). */
export function costDocuments(dataset: CostDataset): IdentifiedDocument[] {
  return dataset.blobs.flatMap((b) => parseFlowLogText(b.blob.text()).documents);
}
