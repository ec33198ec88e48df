// The address class of flow endpoints (private / azure_platform / public) and the flow's locality: every listed
// range at its first and last address and one address either side, IPv6 forms, and both document paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { addressClass, flowLocality } from "../../collector/src/ecs/addressClass";
import { parseFlowLogText } from "../../collector/src/format";

function expectClasses(cases: Array<[string, string]>): void {
  for (const [ip, expected] of cases) assert.equal(addressClass(ip), expected, ip);
}

test("IPv4 private ranges: first and last address are private, the neighbours outside are public", () => {
  const ranges: Array<[before: string, first: string, last: string, after: string]> = [
    ["9.255.255.255", "10.0.0.0", "10.255.255.255", "11.0.0.0"], // RFC 1918
    ["172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0"], // RFC 1918
    ["192.167.255.255", "192.168.0.0", "192.168.255.255", "192.169.0.0"], // RFC 1918
    ["100.63.255.255", "100.64.0.0", "100.127.255.255", "100.128.0.0"], // RFC 6598
    ["169.253.255.255", "169.254.0.0", "169.254.255.255", "169.255.0.0"], // link-local
    ["126.255.255.255", "127.0.0.0", "127.255.255.255", "128.0.0.0"], // loopback
  ];
  for (const [before, first, last, after] of ranges) {
    expectClasses([[before, "public"], [first, "private"], [last, "private"], [after, "public"]]);
  }
  expectClasses([["10.0.0.4", "private"], ["172.20.1.1", "private"], ["192.168.1.10", "private"], ["100.100.0.1", "private"], ["127.0.0.1", "private"]]);
});

test("the Azure platform addresses are azure_platform; their neighbours keep their own class", () => {
  expectClasses([
    ["168.63.129.16", "azure_platform"], ["168.63.129.15", "public"], ["168.63.129.17", "public"],
    ["169.254.169.254", "azure_platform"], ["169.254.169.253", "private"], ["169.254.169.255", "private"],
  ]);
});

test("public IPv4 addresses, including the extremes of the address space", () => {
  expectClasses([["0.0.0.0", "public"], ["255.255.255.255", "public"], ["8.8.8.8", "public"], ["52.239.169.4", "public"], ["20.50.2.1", "public"]]);
});

test("IPv6: ULA fc00::/7, link-local fe80::/10 and ::1 are private at their edges; the rest is public", () => {
  expectClasses([
    ["fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public"], ["fc00::", "private"], ["fd12:3456:789a::1", "private"],
    ["fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"], ["fe00::", "public"],
    ["fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public"], ["fe80::", "private"], ["fe80::1%eth0", "private"],
    ["febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"], ["fec0::", "public"],
    ["::1", "private"], ["0:0:0:0:0:0:0:1", "private"], ["::", "public"], ["::2", "public"], ["::1:0:0:1", "public"],
    ["2001:db8::1", "public"], ["2607:f8b0:400c:c03::1a", "public"], ["FD00::A", "private"],
  ]);
});

test("IPv4-mapped IPv6 addresses take the class of the IPv4 address they carry", () => {
  expectClasses([
    ["::ffff:10.0.0.1", "private"], ["::ffff:a00:1", "private"], ["::ffff:8.8.8.8", "public"],
    ["::ffff:168.63.129.16", "azure_platform"], ["::fffe:10.0.0.1", "public"],
  ]);
});

test("locality: internal when neither side is public, from/to the internet by the public side, external when both are", () => {
  assert.equal(flowLocality("private", "private"), "internal");
  assert.equal(flowLocality("private", "azure_platform"), "internal");
  assert.equal(flowLocality("azure_platform", "private"), "internal");
  assert.equal(flowLocality("public", "private"), "from_internet");
  assert.equal(flowLocality("public", "azure_platform"), "from_internet");
  assert.equal(flowLocality("private", "public"), "to_internet");
  assert.equal(flowLocality("azure_platform", "public"), "to_internet");
  assert.equal(flowLocality("public", "public"), "external");
});

test("fixture documents carry the classes and locality of their own addresses, in the object and the JSON text alike", () => {
  const seen = new Set<string>();
  for (const name of ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json", "mixed-records.json"]) {
    const text = readFileSync(join(__dirname, "..", "fixtures", name), "utf8");
    for (const document of parseFlowLogText(text).documents) {
      const { source, destination, azure } = document.doc;
      const flowlog = azure.flowlog;
      assert.equal(flowlog.source_address_class, addressClass(source.ip), `${name} ${source.ip}`);
      assert.equal(flowlog.destination_address_class, addressClass(destination.ip), `${name} ${destination.ip}`);
      assert.equal(flowlog.locality, flowLocality(flowlog.source_address_class, flowlog.destination_address_class));
      assert.deepEqual(JSON.parse(document.source).azure.flowlog, flowlog);
      seen.add(flowlog.locality);
    }
  }
  assert.ok(seen.has("internal") && seen.has("from_internet") && seen.has("to_internet"), [...seen].join(","));
});
