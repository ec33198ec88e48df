// The scheduler's job sizes (state.caughtUpAt) are for blobs that may still grow. A blob whose hour's last append is
// read within the grace gets no later job (its ETag does not change), so the listing drops its entry once the hour
// and the grace are over; otherwise it stayed for the blob's whole retention.
import { test } from "node:test";
import assert from "node:assert/strict";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { loadConfig } from "../../collector/src/service/config";
import { listChanged, newPollState } from "../../collector/src/service/pollListing";
import { Metrics } from "../../collector/src/service/metrics";
import { AuthorizationGrace } from "../../collector/src/service/authorizationGrace";
import { listFlowLogBlobs } from "../../collector/src/source/listing";
import { blobRefKey } from "../../collector/src/blobKey";

const scratch = scratchContainers(azuriteConnectionString());

test("a caught-up blob's job size is dropped by the first listing after its hour and the grace, not before", async () => {
  const source = scratch.container("cua-src");
  await source.create();
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed: 5 });
  await writer.appendMinute({ records: 1, tuplesPerRecord: 2 });
  const [ref] = await (async () => { const refs = []; for await (const r of listFlowLogBlobs(scratch.service, source.containerName)) refs.push(r); return refs; })();
  const key = blobRefKey(ref!);
  const config = loadConfig({ FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(), FLOWLOGS_CONTAINERS: source.containerName, FLOWLOGS_SINK: "stdout" });
  const state = newPollState(new Map([[key, ref!.etag!]]), { count: 0 });
  const log = (): void => {};
  for (const [at, kept] of [["2026-11-20T11:03:00Z", true], ["2026-11-20T11:20:00Z", false]] as const) {
    state.caughtUpAt.set(key, { offset: 100 });
    const now = Date.parse(at);
    const context = { metrics: new Metrics(), log, now: () => now, signal: undefined };
    const { candidates } = await listChanged(scratch.service, config, context, state, "full", now, new AuthorizationGrace(now, 0, log));
    assert.equal(candidates.size, 0, "caught up: no job");
    assert.equal(state.caughtUpAt.has(key), kept, `${at} (grace ${config.doneGraceMinutes} minutes)`);
  }
});
