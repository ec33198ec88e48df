// The tuple parser as it was before it stopped splitting tuples into arrays of strings (collector/src/format/tuple.ts
// until #12): kept only as the reference the fast parser is compared against (test/collector/tuple-reference.test.ts),
// results and error messages alike.
import { isIP, isIPv4 } from "node:net";
import type { Decision, Direction, FlowCounters, FlowState, FlowTuple } from "../../collector/src/format/flow";
import { quote } from "../../collector/src/safeText";

class TupleError extends Error {}

import { checkTotals, type TupleLayout } from "../../collector/src/format/tuple";

const FIELD_COUNT: Record<TupleLayout, number> = { "nsg-v1": 8, "nsg-v2": 13, "vnet-v4": 13 };

/** A dotted quad's 32-bit value, by node:net's rules; undefined for anything else. */
function ipv4Number(text: string): number | undefined {
  return isIPv4(text) ? text.split(".").reduce((value, part) => value * 256 + Number(part), 0) : undefined;
}

export function splitParseTuple(text: string, layout: TupleLayout): FlowTuple {
  const parts = text.split(",");
  const expected = FIELD_COUNT[layout];
  if (parts.length !== expected) {
    throw new TupleError(`${layout} tuple has ${parts.length} comma-separated fields, expected ${expected}`);
  }
  const vnet = layout === "vnet-v4";
  const tuple: FlowTuple = {
    timestampMs: vnet ? parseTimestamp(parts[0], "ms") : parseTimestamp(parts[0], "s"),
    sourceIp: parseIp(parts[1], "source IP"),
    destinationIp: parseIp(parts[2], "destination IP"),
    sourceIpv4: ipv4Number(parts[1]),
    destinationIpv4: ipv4Number(parts[2]),
    sourcePort: parsePort(parts[3], "source port"),
    destinationPort: parsePort(parts[4], "destination port"),
    ianaNumber: vnet ? parseIanaNumber(parts[5]) : parseNsgProtocol(parts[5]),
    direction: parseDirection(parts[6]),
    decision: "allowed",
    counters: {},
  };
  if (layout === "vnet-v4") {
    tuple.state = parseState(parts[7], VNET_STATES);
    tuple.decision = tuple.state === "deny" ? "denied" : "allowed";
    if (parts[8] !== "") tuple.encryption = parseEncryption(parts[8]);
    tuple.counters = parseCounters(parts.slice(9, 13));
  } else {
    tuple.decision = parseDecision(parts[7]);
    if (layout === "nsg-v2") {
      tuple.state = parseState(parts[8], NSG_STATES);
      tuple.counters = parseCounters(parts.slice(9, 13));
    }
  }
  return tuple;
}

const DIGITS = /^[0-9]+$/;

// NSG writes 10-digit epoch seconds, VNet 13-digit epoch milliseconds. A value with the other unit's digit count
// is rejected rather than guessed, so a unit mix-up shows up as rejects instead of documents decades off.
function parseTimestamp(field: string, unit: "s" | "ms"): number {
  const digits = unit === "s" ? 10 : 13;
  if (!DIGITS.test(field) || field.length !== digits) {
    throw new TupleError(
      `timestamp ${quote(field)} is not ${digits}-digit epoch ${unit === "s" ? "seconds (NSG)" : "milliseconds (VNet)"}`,
    );
  }
  const value = Number(field);
  return unit === "s" ? value * 1000 : value;
}

function parseIp(field: string, what: string): string {
  if (isIP(field) === 0) throw new TupleError(`${what} ${quote(field)} is not an IPv4 or IPv6 address`);
  return field;
}

function parsePort(field: string, what: string): number {
  const port = DIGITS.test(field) && field.length <= 5 ? Number(field) : NaN;
  if (!(port <= 65535)) throw new TupleError(`${what} ${quote(field)} is not a port number (0-65535)`);
  return port;
}

function parseNsgProtocol(field: string): number {
  if (field === "T") return 6;
  if (field === "U") return 17;
  throw new TupleError(`protocol ${quote(field)} is not T (TCP) or U (UDP)`);
}

function parseIanaNumber(field: string): number {
  const value = DIGITS.test(field) && field.length <= 3 ? Number(field) : NaN;
  if (!(value <= 255)) throw new TupleError(`protocol ${quote(field)} is not an IANA protocol number (0-255)`);
  return value;
}

function parseDirection(field: string): Direction {
  if (field === "I") return "inbound";
  if (field === "O") return "outbound";
  throw new TupleError(`direction ${quote(field)} is not I (inbound) or O (outbound)`);
}

function parseDecision(field: string): Decision {
  if (field === "A") return "allowed";
  if (field === "D") return "denied";
  throw new TupleError(`decision ${quote(field)} is not A (allowed) or D (denied)`);
}

const NSG_STATES: Record<string, FlowState> = { B: "begin", C: "continuing", E: "end" };
const VNET_STATES: Record<string, FlowState> = { ...NSG_STATES, D: "deny" };

function parseState(field: string, states: Record<string, FlowState>): FlowState {
  const state = Object.prototype.hasOwnProperty.call(states, field) ? states[field] : undefined;
  if (!state) throw new TupleError(`flow state ${quote(field)} is not one of ${Object.keys(states).join(", ")}`);
  return state;
}

// Encryption is a word such as X, NX, NX_FALLBACK; kept as written, but it must look like one.
const ENCRYPTION = /^[A-Za-z0-9_]{1,64}$/;

function parseEncryption(field: string): string {
  if (!ENCRYPTION.test(field)) throw new TupleError(`encryption ${quote(field)} is not a word like X, NX or NX_FALLBACK`);
  return field;
}

const COUNTER_NAMES = ["packets sent", "bytes sent", "packets received", "bytes received"] as const;
const COUNTER_KEYS = ["packetsSent", "bytesSent", "packetsReceived", "bytesReceived"] as const;

function parseCounters(fields: string[]): FlowCounters {
  const counters: FlowCounters = {};
  fields.forEach((field, i) => {
    if (field === "") return; // not reported: the field is omitted, never invented as 0
    const value = DIGITS.test(field) ? Number(field) : NaN;
    if (!Number.isSafeInteger(value)) {
      throw new TupleError(`${COUNTER_NAMES[i]} ${quote(field)} is not a non-negative whole number or empty`);
    }
    counters[COUNTER_KEYS[i]] = value;
  });
  checkTotals(counters); // added with the fast parser's check (sums past 2^53 - 1), not re-derived here
  return counters;
}
