// Small MaxMind-format test databases, written by MaxMind's own writer (github.com/maxmind/mmdbwriter, a Go module)
// from test/support/mmdbWriter/main.go: a GeoIP2-City-shaped and a GeoLite2-ASN-shaped one (MaxMind's nested
// records) and a flat ip-location-db-shaped city one. Built once per machine into the cache (keyed by the
// generator's source), then copied nowhere: tests read them in place. Needs Go, like the Pulumi CLI build.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "./maven";

const SOURCE = join(__dirname, "mmdbWriter");

export interface TestDatabases {
  /** GeoIP2-City shape: 20.50.0.0/16 NL/North Holland/Amsterdam with a location, 52.0.0.0/11 US (country only), 2a01:111::/32 IE, 192.0.2.0/24 JP. */
  city: string;
  /** GeoLite2-ASN shape: 20.50.0.0/16 AS8075 MICROSOFT-CORP-MSN-AS-BLOCK, 52.0.0.0/11 AS16509 AMAZON-02, 2a01:111::/32 AS8075 (no name). */
  asn: string;
  /** ip-location-db flat city shape: 20.50.0.0/16 Amsterdam, NL, state1 North Holland, 52.37/4.89. */
  flatCity: string;
}

export function testDatabases(): TestDatabases {
  const hash = createHash("sha256");
  for (const file of ["main.go", "go.mod", "go.sum"]) hash.update(readFileSync(join(SOURCE, file)));
  const dir = join(cacheDir(), `mmdb-test-${hash.digest("hex").slice(0, 16)}`);
  if (!existsSync(dir)) {
    const scratch = mkdtempSync(join(cacheDir(), ".mmdb-"));
    try {
      execFileSync("go", ["run", ".", scratch], {
        cwd: SOURCE, stdio: ["ignore", "ignore", "pipe"], timeout: 600_000,
        env: { ...process.env, GOFLAGS: "-p=2 -modcacherw -buildvcs=false" },
      });
      // One rename of the whole folder: a test file running beside this one sees all three files or none.
      try {
        renameSync(scratch, dir);
      } catch (error) {
        if (!existsSync(dir)) throw error; // another test file finished first: use its copy
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return { city: join(dir, "City-Test.mmdb"), asn: join(dir, "ASN-Test.mmdb"), flatCity: join(dir, "flat-city-Test.mmdb") };
}
