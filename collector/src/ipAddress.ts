// An address as written in a tuple, read as numbers and bytes: shared by the parser (which validates addresses),
// the ECS mapper (classes, Community ID) and the enrichment lookups, so it belongs to none of them.
import { isIPv4, isIPv6 } from "node:net";

/** A dotted-quad IPv4 address as an unsigned number, without allocating; leading zeros are refused as node:net does. */
export function ipv4Value(ip: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return undefined;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else return undefined;
  }
  return dots === 3 && digits > 0 ? value * 256 + part : undefined;
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
