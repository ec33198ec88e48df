// Parses one comma-separated flow tuple. Field orders (Microsoft's NSG and VNet flow log overviews):
//   NSG v1 (8):  time(s), src ip, dst ip, src port, dst port, T|U, I|O, A|D
//   NSG v2 (13): v1 + state B|C|E, packets sent, bytes sent, packets received, bytes received
//   VNet v4 (13): time(ms), src ip, dst ip, src port, dst port, IANA protocol, I|O, state B|C|E|D, encryption,
//                 packets sent, bytes sent, packets received, bytes received
// Counters may be empty ('' = not reported). Anything else that does not fit throws TupleError with the reason.
import { isIP } from "node:net";
import type { Decision, Direction, FlowCounters, FlowState, FlowTuple } from "./flow";
import { quote } from "../safeText";
import { ipv4Value } from "../ipAddress";

export class TupleError extends Error {}

export type TupleLayout = "nsg-v1" | "nsg-v2" | "vnet-v4";

const FIELD_COUNT: Record<TupleLayout, number> = { "nsg-v1": 8, "nsg-v2": 13, "vnet-v4": 13 };

// Fields are found by their commas and numbers read from the characters, without splitting the tuple into an array
// of strings: at hundreds of thousands of tuples a second those strings were a large share of the collector's
// garbage. Only addresses and encryption become strings; a field is cut out as text only to report it.
const commas = new Int32Array(16);
const start = (i: number): number => (i === 0 ? 0 : commas[i - 1]! + 1);
const end = (i: number): number => commas[i]!;

export function parseTuple(text: string, layout: TupleLayout): FlowTuple {
  let count = 0;
  for (let at = text.indexOf(","); at !== -1; at = text.indexOf(",", at + 1)) {
    if (count < commas.length) commas[count] = at;
    count++;
  }
  const expected = FIELD_COUNT[layout];
  if (count + 1 !== expected) {
    throw new TupleError(`${layout} tuple has ${count + 1} comma-separated fields, expected ${expected}`);
  }
  commas[expected - 1] = text.length; // the last field ends where the text does
  const vnet = layout === "vnet-v4";
  const sourceIp = text.slice(start(1), end(1));
  const destinationIp = text.slice(start(2), end(2));
  const sourceIpv4 = ipv4Value(sourceIp);
  const destinationIpv4 = ipv4Value(destinationIp);
  const tuple: FlowTuple = {
    timestampMs: parseTimestamp(text, start(0), end(0), vnet ? "ms" : "s"),
    sourceIp: sourceIpv4 === undefined ? parseIp(sourceIp, "source IP") : sourceIp,
    destinationIp: destinationIpv4 === undefined ? parseIp(destinationIp, "destination IP") : destinationIp,
    sourceIpv4,
    destinationIpv4,
    sourcePort: parsePort(text, start(3), end(3), "source port"),
    destinationPort: parsePort(text, start(4), end(4), "destination port"),
    ianaNumber: vnet ? parseIanaNumber(text, start(5), end(5)) : parseNsgProtocol(text.slice(start(5), end(5))),
    direction: parseDirection(text.slice(start(6), end(6))),
    decision: "allowed",
    counters: {},
  };
  if (vnet) {
    tuple.state = parseState(text.slice(start(7), end(7)), VNET_STATES);
    tuple.decision = tuple.state === "deny" ? "denied" : "allowed";
    if (start(8) !== end(8)) tuple.encryption = parseEncryption(text.slice(start(8), end(8)));
    tuple.counters = parseCounters(text);
  } else {
    tuple.decision = parseDecision(text.slice(start(7), end(7)));
    if (layout === "nsg-v2") {
      tuple.state = parseState(text.slice(start(8), end(8)), NSG_STATES);
      tuple.counters = parseCounters(text);
    }
  }
  return tuple;
}

/** The decimal value of text[from, to) when it is 1..maxDigits ASCII digits, else NaN. */
function digitsValue(text: string, from: number, to: number, maxDigits: number): number {
  if (to <= from || to - from > maxDigits) return NaN;
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    value = value * 10 + c;
  }
  return value;
}

// NSG writes 10-digit epoch seconds, VNet 13-digit epoch milliseconds. A value with the other unit's digit count
// is rejected rather than guessed, so a unit mix-up shows up as rejects instead of documents decades off.
function parseTimestamp(text: string, from: number, to: number, unit: "s" | "ms"): number {
  const digits = unit === "s" ? 10 : 13;
  const value = to - from === digits ? digitsValue(text, from, to, digits) : NaN;
  if (Number.isNaN(value)) {
    throw new TupleError(
      `timestamp ${quote(text.slice(from, to))} is not ${digits}-digit epoch ${unit === "s" ? "seconds (NSG)" : "milliseconds (VNet)"}`,
    );
  }
  return unit === "s" ? value * 1000 : value;
}

/** An address that is not dotted-quad IPv4: IPv6, or refused. */
function parseIp(field: string, what: string): string {
  if (isIP(field) === 0) throw new TupleError(`${what} ${quote(field)} is not an IPv4 or IPv6 address`);
  return field;
}

function parsePort(text: string, from: number, to: number, what: string): number {
  const port = digitsValue(text, from, to, 5);
  if (!(port <= 65535)) throw new TupleError(`${what} ${quote(text.slice(from, to))} is not a port number (0-65535)`);
  return port;
}

function parseNsgProtocol(field: string): number {
  if (field === "T") return 6;
  if (field === "U") return 17;
  throw new TupleError(`protocol ${quote(field)} is not T (TCP) or U (UDP)`);
}

function parseIanaNumber(text: string, from: number, to: number): number {
  const value = digitsValue(text, from, to, 3);
  if (!(value <= 255)) throw new TupleError(`protocol ${quote(text.slice(from, to))} is not an IANA protocol number (0-255)`);
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

// Encryption is a word such as X, NX, NX_FALLBACK of 1-64 characters [A-Za-z0-9_]; kept as written, but it must look
// like one. Checked character by character: a regular expression per tuple cost more.
const WORD_CHARACTER = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") WORD_CHARACTER[c.charCodeAt(0)] = 1;

function parseEncryption(field: string): string {
  let word = field.length >= 1 && field.length <= 64;
  for (let i = 0; word && i < field.length; i++) {
    const c = field.charCodeAt(i);
    word = c < 128 && WORD_CHARACTER[c] === 1;
  }
  if (!word) throw new TupleError(`encryption ${quote(field)} is not a word like X, NX or NX_FALLBACK`);
  return field;
}

const COUNTER_NAMES = ["packets sent", "bytes sent", "packets received", "bytes received"] as const;
const COUNTER_KEYS = ["packetsSent", "bytesSent", "packetsReceived", "bytesReceived"] as const;

function parseCounters(text: string): FlowCounters {
  // Most tuples report all four (VNet B, C and E): one object literal, the same shape every time.
  if (start(9) !== end(9) && start(10) !== end(10) && start(11) !== end(11) && start(12) !== end(12)) {
    const packetsSent = digitsValue(text, start(9), end(9), Infinity);
    const bytesSent = digitsValue(text, start(10), end(10), Infinity);
    const packetsReceived = digitsValue(text, start(11), end(11), Infinity);
    const bytesReceived = digitsValue(text, start(12), end(12), Infinity);
    if (Number.isSafeInteger(packetsSent) && Number.isSafeInteger(bytesSent) && Number.isSafeInteger(packetsReceived) &&
      Number.isSafeInteger(bytesReceived) && Number.isSafeInteger(packetsSent + packetsReceived) &&
      Number.isSafeInteger(bytesSent + bytesReceived)) return { packetsSent, bytesSent, packetsReceived, bytesReceived };
  }
  const counters: FlowCounters = {};
  for (let i = 0; i < 4; i++) {
    const from = start(9 + i);
    const to = end(9 + i);
    if (to !== from) { // empty = not reported: the field is omitted, never invented as 0
      // Exact below 2^53; anything larger stays at or above it, so it is refused as unsafe either way.
      const value = digitsValue(text, from, to, Infinity);
      if (!Number.isSafeInteger(value)) {
        throw new TupleError(`${COUNTER_NAMES[i]} ${quote(text.slice(from, to))} is not a non-negative whole number or empty`);
      }
      counters[COUNTER_KEYS[i]!] = value;
    }
  }
  checkTotals(counters);
  return counters;
}

/**
 * network.packets and network.bytes are the sums of both directions, added as numbers. Past 2^53 a number holds only
 * even integers, so an odd total there would be written rounded: such a tuple is refused whole, as a counter past 2^53
 * is, rather than written altered. (Below 2^54, where every sum of two counters lies, an even total is exact.)
 */
export function checkTotals(counters: FlowCounters): void {
  const { packetsSent, bytesSent, packetsReceived, bytesReceived } = counters;
  if (packetsSent !== undefined && packetsReceived !== undefined && !exactSum(packetsSent, packetsReceived)) {
    throw new TupleError(`packets sent + packets received (${packetsSent} + ${packetsReceived}) cannot be added exactly as a number, so network.packets would be rounded`);
  }
  if (bytesSent !== undefined && bytesReceived !== undefined && !exactSum(bytesSent, bytesReceived)) {
    throw new TupleError(`bytes sent + bytes received (${bytesSent} + ${bytesReceived}) cannot be added exactly as a number, so network.bytes would be rounded`);
  }
}

function exactSum(a: number, b: number): boolean {
  const sum = a + b;
  return Number.isSafeInteger(sum) || BigInt(a) + BigInt(b) === BigInt(sum);
}
