// Community ID flow hashing, version 1 (corelight/community-id-spec): base64(sha1(seed, addresses, protocol,
// padding, ports)) prefixed with "1:". Endpoints are ordered so both directions of a flow get the same id.
//   seed:      2 bytes, network order
//   addresses: the smaller endpoint's address bytes, then the other's (4 bytes IPv4, 16 bytes IPv6)
//   protocol:  1 byte IANA number, then 1 zero byte of padding
//   ports:     2 bytes each, network order, same order as the addresses; only for TCP, UDP and SCTP
// "Smaller" compares addresses bytewise, then ports. ICMP/ICMPv6 need type/code mapping that flow logs cannot
// supply (they do not log ICMP), so no id is computed for them.
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";

const PORT_PROTOCOLS = new Set([6, 17, 132]);
const ICMP_PROTOCOLS = new Set([1, 58]);

export interface FiveTuple {
  sourceIp: string;
  destinationIp: string;
  sourcePort: number;
  destinationPort: number;
  ianaNumber: number;
}

/** The Community ID v1 string, or undefined when it cannot be computed (ICMP, mixed or invalid addresses). */
export function communityId(flow: FiveTuple, seed = 0): string | undefined {
  if (ICMP_PROTOCOLS.has(flow.ianaNumber)) return undefined;
  const source = ipBytes(flow.sourceIp);
  const destination = ipBytes(flow.destinationIp);
  if (!source || !destination || source.length !== destination.length) return undefined;
  const withPorts = PORT_PROTOCOLS.has(flow.ianaNumber);
  let order: number = Buffer.compare(source, destination);
  if (order === 0 && withPorts) order = Math.sign(flow.sourcePort - flow.destinationPort);
  const sourceFirst = order <= 0;
  const size = 2 + source.length * 2 + 2 + (withPorts ? 4 : 0);
  const input = Buffer.alloc(size);
  let at = input.writeUInt16BE(seed & 0xffff, 0);
  at += (sourceFirst ? source : destination).copy(input, at);
  at += (sourceFirst ? destination : source).copy(input, at);
  at = input.writeUInt8(flow.ianaNumber, at);
  at = input.writeUInt8(0, at);
  if (withPorts) {
    at = input.writeUInt16BE(sourceFirst ? flow.sourcePort : flow.destinationPort, at);
    input.writeUInt16BE(sourceFirst ? flow.destinationPort : flow.sourcePort, at);
  }
  return `1:${createHash("sha1").update(input).digest("base64")}`;
}

/** Network-order bytes of an IPv4 or IPv6 address (IPv6 may use "::" and an embedded dotted IPv4 tail). */
export function ipBytes(ip: string): Buffer | undefined {
  if (isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  if (!isIPv6(ip)) return undefined;
  let text = ip.includes("%") ? ip.slice(0, ip.indexOf("%")) : ip; // a zone index is not part of the address
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    // "::ffff:192.0.2.1" -> "::ffff:c000:201"
    const [a, b, c, d] = tail.split(".").map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  const toGroups = (part: string): number[] => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const head = toGroups(halves[0]);
  const rest = halves.length > 1 ? toGroups(halves[1]) : [];
  const groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  if (groups.length !== 8) return undefined;
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
  return bytes;
}
