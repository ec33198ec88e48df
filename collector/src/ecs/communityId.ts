// Community ID flow hashing, version 1 (corelight/community-id-spec): base64(sha1(seed, addresses, protocol,
// padding, ports)) prefixed with "1:". Endpoints are ordered so both directions of a flow get the same id.
//   seed:      2 bytes, network order
//   addresses: the smaller endpoint's address bytes, then the other's (4 bytes IPv4, 16 bytes IPv6)
//   protocol:  1 byte IANA number, then 1 zero byte of padding
//   ports:     2 bytes each, network order, same order as the addresses; only for TCP, UDP and SCTP
// "Smaller" compares addresses bytewise, then ports. ICMP/ICMPv6 need type/code mapping that flow logs cannot
// supply (they do not log ICMP), so no id is computed for them.
import { hash } from "node:crypto";
import { ipBytes, ipv4Value } from "../ipAddress";

const PORT_PROTOCOLS = new Set([6, 17, 132]);
const ICMP_PROTOCOLS = new Set([1, 58]);

export interface FiveTuple {
  sourceIp: string;
  destinationIp: string;
  /** The addresses' IPv4 values when the parser already read them (else they are read here). */
  sourceIpv4?: number;
  destinationIpv4?: number;
  sourcePort: number;
  destinationPort: number;
  ianaNumber: number;
}

// Scratch space reused by every call (the function is synchronous): source address at 0, destination at 16, and
// the hash input. Per-tuple Buffers were a measurable share of the collector's garbage.
const addresses = Buffer.alloc(32);
const input = Buffer.alloc(2 + 32 + 2 + 4);

// The hash input of an IPv4 flow, with and without ports: written in place and hashed whole, no copies or views.
const v4WithPorts = Buffer.alloc(2 + 8 + 2 + 4);
const v4WithoutPorts = Buffer.alloc(2 + 8 + 2);

/** The Community ID v1 string, or undefined when it cannot be computed (ICMP, mixed or invalid addresses). */
export function communityId(flow: FiveTuple, seed = 0): string | undefined {
  const digest = communityIdDigest(flow, seed);
  return digest === undefined ? undefined : `${COMMUNITY_ID_VERSION}${digest}`;
}

/** The version prefix of a Community ID v1. */
export const COMMUNITY_ID_VERSION = "1:";

/** The Community ID without its version prefix (the base64 of the hash), for writers that put the prefix themselves. */
export function communityIdDigest(flow: FiveTuple, seed = 0): string | undefined {
  if (ICMP_PROTOCOLS.has(flow.ianaNumber)) return undefined;
  const source = flow.sourceIpv4 ?? ipv4Value(flow.sourceIp);
  if (source !== undefined) {
    // Most flows are IPv4: the same bytes as below, compared as numbers (big-endian order is numeric order).
    const destination = flow.destinationIpv4 ?? ipv4Value(flow.destinationIp);
    if (destination === undefined) return undefined; // IPv6 or invalid on the other side: no id, as below
    const withPorts = PORT_PROTOCOLS.has(flow.ianaNumber);
    const sourceFirst = source < destination || (source === destination && (!withPorts || flow.sourcePort <= flow.destinationPort));
    const target = withPorts ? v4WithPorts : v4WithoutPorts;
    target.writeUInt16BE(seed & 0xffff, 0);
    target.writeUInt32BE(sourceFirst ? source : destination, 2);
    target.writeUInt32BE(sourceFirst ? destination : source, 6);
    target[10] = flow.ianaNumber;
    target[11] = 0;
    if (withPorts) {
      target.writeUInt16BE(sourceFirst ? flow.sourcePort : flow.destinationPort, 12);
      target.writeUInt16BE(sourceFirst ? flow.destinationPort : flow.sourcePort, 14);
    }
    return hash("sha1", target, "base64");
  }
  const length = writeIp(flow.sourceIp, addresses, 0);
  if (length === 0 || writeIp(flow.destinationIp, addresses, 16) !== length) return undefined;
  const withPorts = PORT_PROTOCOLS.has(flow.ianaNumber);
  let order: number = addresses.compare(addresses, 16, 16 + length, 0, length);
  if (order === 0 && withPorts) order = Math.sign(flow.sourcePort - flow.destinationPort);
  const sourceFirst = order <= 0;
  const [first, second] = sourceFirst ? [0, 16] : [16, 0];
  let at = input.writeUInt16BE(seed & 0xffff, 0);
  at += addresses.copy(input, at, first, first + length);
  at += addresses.copy(input, at, second, second + length);
  at = input.writeUInt8(flow.ianaNumber, at);
  at = input.writeUInt8(0, at);
  if (withPorts) {
    at = input.writeUInt16BE(sourceFirst ? flow.sourcePort : flow.destinationPort, at);
    at = input.writeUInt16BE(sourceFirst ? flow.destinationPort : flow.sourcePort, at);
  }
  return hash("sha1", input.subarray(0, at), "base64");
}

/** Writes an address's network-order bytes at `offset`; returns how many (4 or 16), or 0 when it is not an IP. */
function writeIp(ip: string, target: Buffer, offset: number): number {
  const v4 = ipv4Value(ip);
  if (v4 !== undefined) return target.writeUInt32BE(v4, offset) - offset;
  const bytes = ipBytes(ip);
  return bytes ? bytes.copy(target, offset) : 0;
}
