// ECS `network.transport` names for IANA protocol numbers (lower-case IANA keywords, as ECS recommends).
// Numbers not listed here still get `network.iana_number`; `network.transport` is then omitted, not guessed.
const TRANSPORTS: ReadonlyMap<number, string> = new Map([
  [1, "icmp"],
  [2, "igmp"],
  [4, "ipv4"],
  [6, "tcp"],
  [17, "udp"],
  [41, "ipv6"],
  [47, "gre"],
  [50, "esp"],
  [51, "ah"],
  [58, "ipv6-icmp"],
  [89, "ospf"],
  [112, "vrrp"],
  [132, "sctp"],
]);

export function transportName(ianaNumber: number): string | undefined {
  return TRANSPORTS.get(ianaNumber);
}
