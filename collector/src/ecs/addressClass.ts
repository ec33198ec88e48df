// The class of a flow endpoint's address and, from the two, where the flow sits relative to the internet: fields a
// Kibana user filters on ("what came in from the internet", "what left for it"). ECS has no per-endpoint field for
// this and its `network.direction` already holds the tuple's own inbound/outbound, so they live under
// azure.flowlog.* (collector/README.md, mapping table).
import type { FlowDocument } from "../model";
import { ipBytes, ipv4Value } from "../ipAddress";

/** private, azure_platform or public. */
export type AddressClass = FlowDocument["azure"]["flowlog"]["source_address_class"];
export const ADDRESS_CLASSES: readonly AddressClass[] = ["private", "azure_platform", "public"];
/** internal: neither side public; from_internet: public source only; to_internet: public destination only;
 * external: both public (ECS's word for traffic between two hosts outside the perimeter). */
export type FlowLocality = FlowDocument["azure"]["flowlog"]["locality"];

const AZURE_WIRESERVER = 0xa83f8110; // 168.63.129.16: DNS, DHCP, health probes, VM agent
const AZURE_IMDS = 0xa9fea9fe; // 169.254.169.254: instance metadata service

/** Classifies an IPv4 address given as its unsigned 32-bit value. */
export function ipv4Class(value: number): AddressClass {
  if (value === AZURE_WIRESERVER || value === AZURE_IMDS) return "azure_platform";
  const first = value >>> 24;
  const second = (value >>> 16) & 0xff;
  if (first === 10 || first === 127) return "private"; // RFC 1918 10/8, loopback 127/8
  if (first === 172 && (second & 0xf0) === 16) return "private"; // RFC 1918 172.16/12
  if (first === 192 && second === 168) return "private"; // RFC 1918 192.168/16
  if (first === 100 && (second & 0xc0) === 64) return "private"; // RFC 6598 shared address space 100.64/10
  if (first === 169 && second === 254) return "private"; // link-local 169.254/16 (IMDS handled above)
  return "public";
}

/** Classifies an IPv4 or IPv6 address as written in a tuple (already validated by the parser; `v4` its IPv4 value if read). */
export function addressClass(ip: string, v4 = ipv4Value(ip)): AddressClass {
  if (v4 !== undefined) return ipv4Class(v4);
  const bytes = ipBytes(ip);
  if (!bytes || bytes.length !== 16) return "public";
  const first = bytes[0]!;
  if ((first & 0xfe) === 0xfc) return "private"; // unique local fc00::/7
  if (first === 0xfe && (bytes[1]! & 0xc0) === 0x80) return "private"; // link-local fe80::/10
  let zeros = 0;
  while (zeros < 10 && bytes[zeros] === 0) zeros++;
  if (zeros === 10) {
    if (bytes[10] === 0xff && bytes[11] === 0xff) return ipv4Class(bytes.readUInt32BE(12)); // IPv4-mapped ::ffff:a.b.c.d
    if (bytes[10] === 0 && bytes[11] === 0 && bytes.readUInt32BE(12) === 1) return "private"; // loopback ::1
  }
  return "public";
}

export function flowLocality(source: AddressClass, destination: AddressClass): FlowLocality {
  if (source === "public") return destination === "public" ? "external" : "from_internet";
  return destination === "public" ? "to_internet" : "internal";
}
