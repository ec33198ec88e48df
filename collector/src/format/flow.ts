// The format-neutral result of reading one flow tuple: what the Azure record said, already validated and typed,
// but before any ECS naming. The parser produces these; the ECS mapper turns them into documents.
import type { FlowLogFamily } from "../model";

export type Direction = "inbound" | "outbound";
export type Decision = "allowed" | "denied";
export type FlowState = "begin" | "continuing" | "end" | "deny";

/** The four v2/VNet counters. Each is absent when the tuple left it empty ('' means "not reported", not 0). */
export interface FlowCounters {
  packetsSent?: number;
  bytesSent?: number;
  packetsReceived?: number;
  bytesReceived?: number;
}

/** Record-level and group-level facts shared by every tuple filed under one rule/group. */
export interface FlowContext {
  family: FlowLogFamily;
  /** NSG `properties.Version` (1 or 2) or VNet `flowLogVersion` (4). */
  version: number;
  /** The record's `time` as written (used only for the document id). */
  recordTime?: string;
  /** NSG `resourceId` or VNet `targetResourceID`, as written. */
  resourceId?: string;
  /** NIC MAC as written: NSG `flows[].flows[].mac` (else record `macAddress`), VNet record `macAddress`. */
  mac?: string;
  /** VNet only: `flowRecords.flows[].aclID`, `flowLogResourceID`, `flowLogGUID`. */
  aclId?: string;
  flowLogId?: string;
  flowLogGuid?: string;
  /** NSG `flows[].rule` or VNet `flowGroups[].rule`. */
  rule?: string;
}

/** One validated tuple. */
export interface FlowTuple {
  /** Tuple time in epoch milliseconds (NSG seconds are scaled up). */
  timestampMs: number;
  sourceIp: string;
  destinationIp: string;
  /** An IPv4 address's 32-bit value, read once by the parser for the mapper's classification and hashing. */
  sourceIpv4?: number;
  destinationIpv4?: number;
  sourcePort: number;
  destinationPort: number;
  /** IANA protocol number (NSG `T`/`U` become 6/17). */
  ianaNumber: number;
  direction: Direction;
  decision: Decision;
  state?: FlowState;
  encryption?: string;
  counters: FlowCounters;
}

/** A tuple with everything needed to map it and to give it a stable id. */
export interface ParsedFlow {
  context: FlowContext;
  tuple: FlowTuple;
  /** Position of the tuple inside its flowTuples array (not inside the record or the blob). */
  indexInGroup: number;
  /** The tuple string exactly as written. */
  text: string;
}
