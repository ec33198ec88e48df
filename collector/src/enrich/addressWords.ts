// An address's text as the range tables look it up, without allocating on the common forms: plain dotted IPv4 and
// plain hex IPv6. IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4, as the tables hold it.
import { ipBytes, ipv4Value } from "../ipAddress";

/**
 * Writes the address into `words` (four big-endian 32-bit words; for IPv4 the value is in words[3]) and returns its
 * family, 4 or 6; 0 when the text is not an address.
 */
export function addressWords(ip: string, words: Uint32Array): 4 | 6 | 0 {
  const v4 = ipv4Value(ip);
  if (v4 !== undefined) {
    words[3] = v4;
    return 4;
  }
  if (!ipv6Words(ip, words)) {
    const bytes = ipBytes(ip); // an embedded dotted IPv4 tail or a zone index: the slow general parser
    if (!bytes || bytes.length !== 16) return 0;
    for (let word = 0; word < 4; word++) words[word] = bytes.readUInt32BE(word * 4);
  }
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff ? 4 : 6; // ::ffff:a.b.c.d
}

const groups = new Uint16Array(8);

/**
 * Plain hex IPv6 text (with or without "::") into four 32-bit words, without allocating. False for anything else
 * (a dotted IPv4 tail, a zone index), which the caller parses the slow way.
 */
function ipv6Words(ip: string, words: Uint32Array): boolean {
  let count = 0;
  let gap = -1;
  let i = 0;
  const length = ip.length;
  if (length >= 2 && ip.charCodeAt(0) === 58 && ip.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < length) {
    let value = 0;
    let digits = 0;
    for (; i < length && digits <= 4; i++) {
      const c = ip.charCodeAt(i);
      const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (digit < 0) break;
      value = value * 16 + digit;
      digits++;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = value;
    if (i === length) break;
    if (ip.charCodeAt(i) !== 58) return false;
    i++;
    if (i < length && ip.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === length) return false; // a trailing single ":"
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const shift = gap < 0 ? 0 : 8 - count;
  for (let word = 0; word < 4; word++) {
    const high = groupAt(2 * word, gap, shift, count);
    const low = groupAt(2 * word + 1, gap, shift, count);
    words[word] = ((high << 16) | low) >>> 0;
  }
  return true;
}

/** Group `position` of the full eight, given `count` parsed groups with a "::" gap of `shift` zero groups at `gap`. */
function groupAt(position: number, gap: number, shift: number, count: number): number {
  if (gap < 0 || position < gap) return groups[position]!;
  if (position < gap + shift) return 0;
  const index = position - shift;
  return index < count ? groups[index]! : 0;
}

