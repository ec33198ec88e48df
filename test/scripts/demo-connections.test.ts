// The demo's planted conversations and how its connections table writes a state sequence: what the end-to-end demo
// test compares with Elasticsearch rests on these being right for any number of written minutes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoConversations } from "../../scripts/demo/conversations";
import { connectionLines, stateSequence } from "../../scripts/demo/connections";
import { demoIncidents } from "../../scripts/demo/incidents";

const summary = (minutes: number) => demoConversations(minutes).map((c) => ({ records: c.records, duration: c.durationSeconds, states: c.states, minutes: c.traffic.map((t) => t.minute) }));

test("a full hour: B, C each minute, E; a short one; three denied retries, each reported once a minute", () => {
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  assert.deepEqual(summary(60), [
    { records: 57, duration: 3360, states: "B C×55 E", minutes: range(1, 57) },
    { records: 5, duration: 240, states: "B C×3 E", minutes: range(2, 6) },
    { records: 3, duration: 120, states: "D×3", minutes: [3, 4, 5] },
  ]);
  const [session] = demoConversations(60);
  const tuples = session.traffic.flatMap((t) => t.tuples);
  assert.deepEqual([...new Set(tuples.map((t) => `${t.sourceIp}:${t.sourcePort}>${t.destinationIp}:${t.destinationPort}`))], ["192.0.2.10:51000>10.1.0.4:443"], "one 5-tuple");
  assert.equal(tuples[0].sent, undefined, "B carries no counters");
  assert.deepEqual(tuples.map((t) => t.state), ["B", ...Array(55).fill("C"), "E"]);
});

test("fewer minutes cut the conversations: one still open has no E, one not yet begun is left out", () => {
  assert.deepEqual(summary(4).map(({ records, states }) => ({ records, states })), [
    { records: 3, states: "B C×2" },
    { records: 2, states: "B C" },
    { records: 1, states: "D" },
  ]);
  assert.deepEqual(summary(1), []);
  assert.deepEqual(summary(2).map((c) => c.states), ["B"]);
});

test("the conversations stay clear of the planted attacks' sources and ports (they must not change the detections)", () => {
  const attackSources = new Set(demoIncidents(60).flatMap((i) => i.tuples.map((t) => t.sourceIp)));
  for (const c of demoConversations(60)) {
    for (const t of c.traffic.flatMap((p) => p.tuples)) {
      assert.ok(!attackSources.has(t.sourceIp), c.what);
      // Flows to the watched ports only from private addresses (the brute-force rule counts public sources).
      if ([22, 3389, 1433].includes(t.destinationPort)) assert.match(t.sourceIp, /^10\./, c.what);
    }
  }
});

test("state sequence: lifecycle order, counts over one, '-' without states (NSG v1)", () => {
  assert.equal(stateSequence({ state_begin: 1, state_continuing: 3, state_end: 1, state_deny: 0 }), "B C×3 E");
  assert.equal(stateSequence({ state_begin: 0, state_continuing: 2, state_end: 0, state_deny: 0 }), "C×2");
  assert.equal(stateSequence({ state_begin: 2, state_continuing: 0, state_end: 2, state_deny: 0 }), "B×2 E×2");
  assert.equal(stateSequence({ state_begin: 0, state_continuing: 0, state_end: 0, state_deny: 0 }), "-");
  const [header, row] = connectionLines([{
    community_id: "1:abc", flows: 5, first_seen: Date.parse("2026-11-20T09:02:30Z"), last_seen: Date.parse("2026-11-20T09:06:30Z"), duration: 240,
    bytes_sent: 18_000, bytes_received: 90_000, state_begin: 1, state_continuing: 3, state_end: 1, state_deny: 0,
  }]);
  assert.match(header, /community id +records +first seen +last seen +duration +bytes sent +received +states/);
  assert.equal(row.trim().split(/ {2,}/).join("|"), "1:abc|5|09:02:30|09:06:30|240 s|18,000|90,000|B C×3 E");
  assert.deepEqual(connectionLines([]).slice(1), ["  (none)"]);
});
