import { test } from "node:test";
import assert from "node:assert/strict";
import { communityId } from "../../collector/src/ecs";
import { createHash } from "node:crypto";
import { ipBytes } from "../../collector/src/ipAddress";
import { mulberry32 } from "../support/flowLogWriter";

// Published vectors from the Community ID spec's baseline (corelight/community-id-spec, baseline/baseline_deflt.json,
// seed 0). Each flow appears in both orderings and must give the same id.
const VECTORS: Array<[protocol: number, source: string, destination: string, sourcePort: number, destinationPort: number, id: string]> = [
  [6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
  [6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
  [17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
  [17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
  [6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="],
  [6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="],
  [132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="],
  [132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="],
  // A protocol without ports (46, RSVP): ports are left out of the hash.
  [46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="],
  [46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="],
];

test("Community ID v1 matches the spec's published vectors (TCP, UDP, SCTP, portless; IPv4 and IPv6; both orders)", () => {
  for (const [ianaNumber, sourceIp, destinationIp, sourcePort, destinationPort, expected] of VECTORS) {
    assert.equal(communityId({ ianaNumber, sourceIp, destinationIp, sourcePort, destinationPort }), expected, `${sourceIp} -> ${destinationIp}`);
  }
});

test("Community ID orders equal addresses by port, so both directions still agree", () => {
  const a = communityId({ ianaNumber: 6, sourceIp: "10.0.0.1", destinationIp: "10.0.0.1", sourcePort: 5000, destinationPort: 80 });
  const b = communityId({ ianaNumber: 6, sourceIp: "10.0.0.1", destinationIp: "10.0.0.1", sourcePort: 80, destinationPort: 5000 });
  assert.equal(a, b);
  const c = communityId({ ianaNumber: 6, sourceIp: "10.0.0.1", destinationIp: "10.0.0.1", sourcePort: 80, destinationPort: 5001 });
  assert.notEqual(a, c);
});

test("Community ID is omitted for ICMP (flow logs have no type/code) and for mixed address families", () => {
  assert.equal(communityId({ ianaNumber: 1, sourceIp: "192.168.0.89", destinationIp: "192.168.0.1", sourcePort: 8, destinationPort: 0 }), undefined);
  assert.equal(communityId({ ianaNumber: 58, sourceIp: "fe80::1", destinationIp: "fe80::2", sourcePort: 135, destinationPort: 136 }), undefined);
  assert.equal(communityId({ ianaNumber: 6, sourceIp: "10.0.0.1", destinationIp: "2001:db8::1", sourcePort: 1, destinationPort: 2 }), undefined);
});

test("a different seed gives a different id", () => {
  const flow = { ianaNumber: 6, sourceIp: "128.232.110.120", destinationIp: "66.35.250.204", sourcePort: 34855, destinationPort: 80 };
  assert.notEqual(communityId(flow, 1), communityId(flow, 0));
});

test("ipBytes expands IPv6 shorthand, embedded IPv4 tails and zones to 16 network-order bytes", () => {
  assert.equal(ipBytes("192.0.2.1")?.toString("hex"), "c0000201");
  assert.equal(ipBytes("::")?.toString("hex"), "0".repeat(32));
  assert.equal(ipBytes("2001:db8::1")?.toString("hex"), "20010db8000000000000000000000001");
  assert.equal(ipBytes("1:2:3:4:5:6:7:8")?.toString("hex"), "00010002000300040005000600070008");
  assert.equal(ipBytes("::ffff:192.0.2.1")?.toString("hex"), "00000000000000000000ffffc0000201");
  assert.equal(ipBytes("fe80::1%eth0")?.toString("hex"), "fe800000000000000000000000000001");
  assert.equal(ipBytes("2001:DB8::A")?.toString("hex"), "20010db800000000000000000000000a");
  assert.equal(ipBytes("not-an-ip"), undefined);
});

test("Community ID refuses malformed IPv4 text (out of range, leading zeros, missing or extra parts) instead of hashing it", () => {
  const flow = (sourceIp: string) => ({ ianaNumber: 6, sourceIp, destinationIp: "10.0.0.1", sourcePort: 1, destinationPort: 2 });
  for (const bad of ["10.0.0.256", "01.2.3.4", "1.2.3", "1.2.3.4.", ".1.2.3", "1..2.3", "1.2.3.4.5", "1.2.3.1000", "a.b.c.d", ""]) {
    assert.equal(communityId(flow(bad)), undefined, bad);
  }
  for (const good of ["0.0.0.0", "255.255.255.255", "10.0.0.1"]) assert.match(communityId(flow(good)) ?? "", /^1:[A-Za-z0-9+/]{27}=$/, good);
});

// The spec's layout written out with node's Hash, byte by byte: the oracle for the collector's IPv4 fast path.
function referenceCommunityId(ianaNumber: number, source: string, destination: string, sourcePort: number, destinationPort: number, seed: number): string {
  const bytes = (ip: string) => Buffer.from(ip.split(".").map(Number));
  const port = (value: number) => Buffer.from([value >> 8, value & 0xff]);
  const withPorts = [6, 17, 132].includes(ianaNumber);
  let order: number = Buffer.compare(bytes(source), bytes(destination));
  if (order === 0 && withPorts) order = Math.sign(sourcePort - destinationPort);
  const [a, b, pa, pb] = order <= 0 ? [source, destination, sourcePort, destinationPort] : [destination, source, destinationPort, sourcePort];
  const parts = [port(seed), bytes(a), bytes(b), Buffer.from([ianaNumber, 0]), ...(withPorts ? [port(pa), port(pb)] : [])];
  return `1:${createHash("sha1").update(Buffer.concat(parts)).digest("base64")}`;
}

test("IPv4 Community IDs agree with the spec's byte layout over random flows, seeds, equal addresses and equal ports", () => {
  const random = mulberry32(11);
  const octet = () => Math.floor(random() * 256);
  for (let n = 0; n < 5000; n++) {
    const source = `${octet()}.${octet()}.${octet()}.${octet()}`;
    const destination = n % 5 === 0 ? source : `${octet()}.${octet()}.${octet()}.${octet()}`;
    const sourcePort = Math.floor(random() * 65536);
    const destinationPort = n % 7 === 0 ? sourcePort : Math.floor(random() * 65536);
    const ianaNumber = [6, 17, 132, 47, 50, 0][n % 6]!;
    const seed = n % 3 === 0 ? 0 : Math.floor(random() * 65536);
    assert.equal(
      communityId({ ianaNumber, sourceIp: source, destinationIp: destination, sourcePort, destinationPort }, seed),
      referenceCommunityId(ianaNumber, source, destination, sourcePort, destinationPort, seed),
      `${ianaNumber} ${source}:${sourcePort} -> ${destination}:${destinationPort} seed ${seed}`,
    );
  }
});
