import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { runDockerfile } from "../support/dockerfile";
import { imageNode } from "../support/env";
import { checkVersion, imageNodeVersion } from "../../scripts/image-node";

const root = resolve(__dirname, "../..");

test("the collector Dockerfile's steps (run without Docker, on the image's Node.js) build a non-root image with only collector dependencies that parses flow logs", { timeout: 300_000 }, () => {
  // Both stages on one pinned Node.js, which the tests and benchmarks run the image's steps and the collector on.
  const node = imageNode();
  checkVersion(node, imageNodeVersion());
  const stages = runDockerfile(join(root, "collector", "Dockerfile"), root, { node });
  try {
    assert.equal(stages.length, 2, "multi-stage: build, then runtime");
    const image = stages[stages.length - 1];
    for (const stage of stages) assert.equal(stage.base, `node:${imageNodeVersion()}-bookworm-slim`, "small Node 22 base, one pinned version");
    assert.match(imageNodeVersion(), /^22\./, "Node 22 LTS");
    assert.ok(image.user && image.user !== "root" && image.user !== "0", "runs as a non-root user");
    assert.equal(image.env.NODE_ENV, "production");
    assert.match(image.env.NODE_OPTIONS ?? "", /--max-old-space-size=\d+/, "the heap is capped so memory stays bounded");
    // Full GCs back to back otherwise (#12): a smaller young generation and a larger old-generation growth step.
    assert.match(image.env.NODE_OPTIONS ?? "", /--max-semi-space-size=8\b/, "young generation sized for the capped heap");
    assert.ok(image.entrypoint.includes("--heap-growing-percent=100"), "old generation growth step set on the node command line");
    // glibc (bookworm) keeps blocks of 4 MiB and more (download windows) mmapped rather than fragmenting its heap
    // after a large free, and bulk bodies below it come from the heap, not fresh pages: peak RSS and CPU (#12).
    assert.equal(image.env.MALLOC_MMAP_THRESHOLD_, "4194304", "glibc's mmap threshold fixed");
    const modules = join(image.dir, "node_modules");
    assert.ok(existsSync(join(modules, "@azure", "storage-blob")), "collector dependencies installed");
    assert.ok(!existsSync(join(modules, "@pulumi")), "no Pulumi packages in the image");
    assert.ok(!existsSync(join(modules, "typescript")), "no build tools in the image");
    assert.ok(!existsSync(join(image.dir, "collector", "src")), "no TypeScript sources in the image");
    const [program, ...entry] = image.entrypoint;
    assert.equal(program, "node");
    // The image's environment (NODE_OPTIONS, malloc settings): a flag the pinned Node.js refuses would stop every start.
    const env = { PATH: process.env.PATH ?? "", ...image.env };
    const out = execFileSync(node, [...entry, "parse", join(root, "test", "fixtures", "nsg-v1.json")], {
      cwd: image.dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
    });
    const documents = out.trim().split("\n").map((line) => JSON.parse(line));
    assert.ok(documents.length > 0);
    for (const doc of documents) assert.equal(doc.event.dataset, "azure.flowlogs");
    // The shipped geo database is in the image and the compiled collector enriches with it (on by default).
    assert.ok(existsSync(join(modules, "@ip-location-db", "geo-whois-asn-country-mmdb", "geo-whois-asn-country.mmdb")), "the shipped geo database");
    const vnet = execFileSync(node, [...entry, "parse", join(root, "test", "fixtures", "vnet-v4.json")], {
      cwd: image.dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
    }).trim().split("\n").map((line) => JSON.parse(line));
    assert.ok(vnet.some((doc) => doc.destination.geo?.country_iso_code), "public endpoints carry geo fields");
    // The shipped ASN data: pre-parsed by the build stage; the package's CSV files are left out, its licences stay. So
    // the AS fields below can only come from the pre-parsed tables.
    const asn = join(modules, "@ip-location-db", "asn");
    assert.ok(existsSync(join(image.dir, "collector", "dist", "enrich", "asn-tables.bin")), "the pre-parsed ASN tables");
    for (const file of ["README.md", "DBIP-LICENSE", "ROUTEVIEWS-LICENSE", "NRO_LICENSE", "package.json"]) assert.ok(existsSync(join(asn, file)), file);
    for (const file of ["asn-ipv4-num.csv", "asn-ipv6-num.csv", "asn-ipv4.csv", "asn-ipv6.csv"]) assert.ok(!existsSync(join(asn, file)), `${file} left out`);
    assert.ok(vnet.some((doc) => Number.isInteger(doc.destination.as?.number) && doc.destination.as?.organization?.name), "public endpoints carry AS fields");
    const help = execFileSync(node, [...entry, "--help"], { cwd: image.dir, env, encoding: "utf8" });
    for (const command of image.cmd) assert.match(help, new RegExp(`\\b${command}\\b`), `the default command "${command}" exists`);
  } finally {
    for (const stage of stages) rmSync(stage.dir, { recursive: true, force: true });
  }
});
