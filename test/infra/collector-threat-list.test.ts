// `collector.threatListFile`: the list is read and checked by the collector's own parser when the program runs (a
// bad line is a config problem naming the key and the line), then mounted read-only into the collector's container
// from a secret volume and named by FLOWLOGS_THREAT_LIST_FILE (offline plan).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../infra/config";
import { THREAT_LIST_MAX_BYTES } from "../../infra/collectorThreatList";
import { CONTEXT, only } from "./configProblems";
import { one, planJson, vnetId } from "./planHelpers";

const dir = mkdtempSync(join(tmpdir(), "threat-infra-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const DROP = "; Spamhaus DROP List\n1.10.16.0/20 ; SBL256894\n2001:db8:bad::/48\n";
function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const base = { location: "westeurope", storage: { accountName: "flowlogs001" }, demoNetwork: true };
const on = (threatListFile: unknown) => ({
  ...base, collector: { enabled: true, elasticsearch: { url: "https://es.example.com" }, threatListFile }, collectorEsApiKey: "[secret]",
});

test("collector.threatListFile: read and checked; absent by default", () => {
  const config = parseConfig(on(file("drop.txt", DROP)), CONTEXT).collector;
  assert.ok(config);
  assert.deepEqual(config.threatList, { fileName: "drop.txt", content: DROP });
  const { collector } = parseConfig(on(undefined), CONTEXT);
  assert.ok(collector && collector.threatList === undefined);
});

test("collector.threatListFile: a missing file, bad lines, no entries, a large or binary file, a bad name: problems naming the key", () => {
  assert.match(only(on(join(dir, "nope.txt")), "collector.threatListFile"), /is not a readable file \(resolved to .*nope\.txt; relative paths start at the Pulumi project directory\)/);
  assert.match(only(on(dir), "collector.threatListFile"), /is not a readable file/);
  assert.match(only(on(42), "collector.threatListFile"), /must be the path of a threat list file/);
  const bad = only(on(file("bad.txt", "192.0.2.0/24\n1.2.3.4/24\n\n300.0.0.1\n")), "collector.threatListFile");
  assert.match(bad, /has lines that are not an address or CIDR: line 2: host bits are set .*; line 4: "300\.0\.0\.1" is not an IPv4 or IPv6 address or CIDR/);
  assert.match(only(on(file("empty.txt", "; nothing yet\n")), "collector.threatListFile"), /lists no address or CIDR: add entries, or remove the key/);
  assert.match(only(on(file("big.txt", "192.0.2.0/24\n".repeat(THREAT_LIST_MAX_BYTES / 13 + 1))), "collector.threatListFile"), /bytes; lists deployed by this program are limited to 1048576 bytes/);
  assert.match(only(on(file("bin.txt", Buffer.from([0x31, 0xff, 0x0a]))), "collector.threatListFile"), /is not UTF-8 text/);
  assert.match(only(on(file("my list.txt", DROP)), "collector.threatListFile"), /the file name "my list\.txt" must be 1-100 of/);
  // Checked even while the collector is off, so a mistake surfaces before someone turns it on.
  const off = { ...base, collector: { enabled: false, threatListFile: join(dir, "nope.txt") } };
  assert.match(only(off, "collector.threatListFile"), /is not a readable file/);
});

test("plan: the list is mounted read-only from a secret volume and named by FLOWLOGS_THREAT_LIST_FILE", async () => {
  const resources = await planJson({
    location: "westeurope", storage: { accountName: "flowlogstest01", networkDefaultAction: "Allow" }, flowLogs: [vnetId("vnet1")],
    collector: { enabled: true, image: "ghcr.io/acme/flowlogs-collector:2.0.0", elasticsearch: { url: "https://es.example.com" }, threatListFile: file("drop.txt", DROP) },
  }); // the offline plan stands in for the missing collectorEsApiKey secret
  const group = one(resources, "azure-native:containerinstance:ContainerGroup");
  const container = (group.inputs.containers as any[])[0];
  const volume = (group.inputs.volumes as any[]).find((v) => v.name === "threat-list");
  assert.equal(Buffer.from(volume.secret["drop.txt"], "base64").toString(), DROP);
  const mount = (container.volumeMounts as any[]).find((m) => m.name === "threat-list");
  assert.equal(mount.readOnly, true);
  const env = Object.fromEntries((container.environmentVariables as any[]).filter((v) => "value" in v).map((v) => [v.name, v.value]));
  assert.equal(env.FLOWLOGS_THREAT_LIST_FILE, `${mount.mountPath}/drop.txt`);
  assert.equal((group.inputs.volumes as any[]).length, 1, "no CA volume without a CA");
});
