// Seeded damage in growing PT1H.json blobs, through the real service on Azurite (deterministic: fixed seeds). Between
// Azure's minute blocks come blocks of damage (an unclosed record or string, a mismatched bracket, junk, a stray
// bracket, a record that is JSON but not a flow record), some with a good record after the damage in the same block.
// The collector polls at random points while the blob grows, with small and odd ranged-download windows. Whatever
// the damage and wherever a poll or a window cuts it: every good tuple is indexed exactly once, nothing else is, the
// damage is dead-lettered, and no blob job fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter, type FlowLogKind } from "../support/flowLogWriter";
import { azuriteCollectorConfig } from "../support/collectorConfig";
import { cases } from "../support/fuzz";
import { RecordingSink, expectedIds } from "./serviceRecordingSink";
import { parseRecords } from "../../collector/src/format";
import { runCollector } from "../../collector/src/service/collector";

const HOUR = new Date("2026-11-20T10:00:00Z");
const scratch = scratchContainers(azuriteConnectionString());

/** Good records of other NICs (the fixtures), each starting with `"time"` as Azure writes them, to follow damage. */
const GOOD_RECORDS = ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json"].flatMap((name) =>
  (JSON.parse(readFileSync(resolve(__dirname, "../fixtures", name), "utf8")) as { records: unknown[] }).records)
  .map((record) => JSON.stringify(record))
  .filter((text) => text.startsWith('{"time":'));

const DAMAGE = [
  '{"time":"2026-11-20T10:00:00Z","category":"broken",', // a record cut off
  '{"time":"2026-11-20T10:00:00Z","flowTuples":["1,2"}]', // mismatched brackets
  '{"time":"2026-11-20T10:0', // an unclosed string
  '{"time":tru}', // balanced, not JSON
  "garbage", "42", '"text"', "]", "}", // junk and stray brackets between records
  '{"time":"2026-11-20T10:00:00Z","category":"SomethingElse"}', // JSON, not a flow record
  '{"time":{"time":{"time":', // record starts inside a record that never closes
  '{"note":"{\\"time\\":1}","time":[', // an escaped record start inside a string, then unclosed
];

test("fuzz: 6 growing blobs with seeded damage blocks, polled at random points through 4-64 KiB windows: every good tuple exactly once", { timeout: 240_000 }, async () => {
  let damaged = 0;
  let embedded = 0;
  for (const { mutate, label } of cases([31, 32, 33, 34, 35, 36], 1)) {
    const kind = mutate.pick<FlowLogKind>(["nsg-v1", "nsg-v2", "vnet-v4"]);
    const source = scratch.container("damage-src");
    const shadow = scratch.container("damage-shadow");
    const checkpoints = scratch.container("damage-cp");
    await source.create();
    await shadow.create();
    const spec = { kind, hour: HOUR, seed: 100 + mutate.int(1000) };
    // The same writer without the damage: the same seed writes the same minutes, so its ids are the good tuples'.
    const writer = new FlowLogBlobWriter(source, spec);
    const clean = new FlowLogBlobWriter(shadow, spec);
    const window = mutate.pick([4096, 5000, 8192, 65536]);
    const config = azuriteCollectorConfig(source.containerName, checkpoints.containerName, {
      FLOWLOGS_WINDOW_BYTES: String(window), FLOWLOGS_RECORD_BYTES: "4096", FLOWLOGS_REPLICA_ID: "fuzz",
    });
    const sink = new RecordingSink();
    const poll = async () => {
      const summary = await runCollector({ config, sink, once: true, blobService: scratch.service, writeLog: () => {} });
      assert.equal(summary.metrics.blobsFailed, 0, `${label}: a blob job failed`);
    };
    const extraIds = new Set<string>();
    const unused = [...GOOD_RECORDS];
    let damage = 0;
    for (let step = 0, steps = 8 + mutate.int(7); step < steps; step++) {
      if (step > 0 && mutate.next() < 0.4) {
        let text = mutate.pick(DAMAGE);
        if (unused.length && mutate.next() < 0.5) {
          const record = unused.splice(mutate.int(unused.length), 1)[0]!;
          text += `,${record}`;
          for (const document of parseRecords([JSON.parse(record)]).documents) extraIds.add(document.id);
          embedded++;
        }
        await writer.appendMalformedBlock(text);
        damage++;
      } else {
        const records = 1 + mutate.int(3);
        await writer.appendMinute({ records });
        await clean.appendMinute({ records });
      }
      if (mutate.next() < 0.4) await poll();
    }
    await poll();
    const expected = new Set([...await expectedIds([clean]), ...extraIds]);
    const shown = `${label} (${kind}, window ${window}, ${damage} damage blocks)`;
    assert.deepEqual(new Set(sink.documents.keys()), expected, `${shown}: the good tuples, and nothing else`);
    assert.equal(sink.duplicates, 0, `${shown}: nothing sent twice`);
    if (damage > 0) assert.ok(sink.deadLetters.length > 0, `${shown}: damage is dead-lettered`);
    for (const letter of sink.deadLetters) assert.equal(letter.position?.blob, writer.blobName, shown);
    damaged += damage;
  }
  assert.ok(damaged >= 10 && embedded >= 3, `${damaged} damage blocks, ${embedded} with a good record after the damage`);
});
