// One container whose listings keep failing (a role assignment removed, a container-level firewall) must not make
// every poll list the other containers' whole retention: the poll's listing counts for the others, the failed
// container is listed again in that scope at each poll until it succeeds, a full listing's resume token survives,
// and deleted blobs of the others are forgotten once the failure has lasted a day.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
import { createHttpHeaders, type PipelinePolicy } from "@azure/core-rest-pipeline";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { withSignPolicy } from "../support/storagePolicy";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { loadConfig } from "../../collector/src/service/config";
import { listChanged, listingScope, newPollState, type PollState } from "../../collector/src/service/pollListing";
import { Metrics } from "../../collector/src/service/metrics";
import { AuthorizationGrace } from "../../collector/src/service/authorizationGrace";
import { blobKey } from "../../collector/src/blobKey";

const scratch = scratchContainers(azuriteConnectionString());

/** A storage client whose listings of `refused.name` are answered 403 (as Azure answers a missing role) while `refused.on`. */
function refusingClient(refused: { name: string; on: boolean }): BlobServiceClient {
  const client = BlobServiceClient.fromConnectionString(azuriteConnectionString());
  const policy: PipelinePolicy = {
    name: "refuseOneContainer",
    async sendRequest(request, next) {
      const url = new URL(request.url);
      if (refused.on && url.pathname.endsWith(`/${refused.name}`) && url.searchParams.get("comp") === "list") {
        return {
          request, status: 403, headers: createHttpHeaders({ "content-type": "application/xml", "x-ms-error-code": "AuthorizationPermissionMismatch" }),
          bodyAsText: `<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>refused by the test</Message></Error>`,
        };
      }
      return next(request);
    },
  };
  return withSignPolicy(client, policy);
}

test("a container refused at every poll: the others' listing counts (no full listing per poll, resume kept), it is listed in full until it succeeds, deleted blobs go after a day", async () => {
  const healthy = scratch.container("owe-a");
  const refusedContainer = scratch.container("owe-b");
  await healthy.create();
  await refusedContainer.create();
  // Three old hours in the healthy container, one blob each; one in the refused one.
  for (const hour of ["2026-11-18T01:00:00Z", "2026-11-18T02:00:00Z", "2026-11-18T03:00:00Z"]) {
    await new FlowLogBlobWriter(healthy, { kind: "vnet-v4", hour: new Date(hour), seed: 3 }).appendMinute({ records: 1, tuplesPerRecord: 1 });
  }
  await new FlowLogBlobWriter(refusedContainer, { kind: "vnet-v4", hour: new Date("2026-11-18T05:00:00Z"), seed: 4 }).appendMinute({ records: 1, tuplesPerRecord: 1 });
  const refused = { name: refusedContainer.containerName, on: true };
  const service = refusingClient(refused);
  const config = loadConfig({
    FLOWLOGS_STORAGE_CONNECTION_STRING: azuriteConnectionString(), FLOWLOGS_SINK: "stdout",
    FLOWLOGS_CONTAINERS: `${healthy.containerName},${refusedContainer.containerName}`, FLOWLOGS_FULL_LISTING_MINUTES: "15",
  });
  // One backlog blob per poll and one blob per page: the first full listing leaves two of the healthy container's for later.
  const state: PollState = newPollState(new Map(), { count: 0 }, { fullListingBelowBlobs: 0, backlogBlobsPerPoll: 1, fullListingPageBlobs: 1 });
  const deleted = blobKey(`${healthy.containerName}/resourceId=/deleted-by-retention/PT1H.json`);
  state.caughtUp.set(deleted, "\"0x1\"");
  const start = Date.parse("2026-11-20T12:00:00Z");
  const log = (): void => {};
  const poll = async (now: number) => {
    const scope = listingScope(config, state, false, now);
    const context = { metrics: new Metrics(), log, now: () => now, signal: undefined };
    const result = await listChanged(service, config, context, state, scope, now, new AuthorizationGrace(now, 0, log));
    const containers = [...result.candidates.values()].map((ref) => ref.container);
    // Each candidate taken is read by the scheduler; here it is simply dropped from what is pending.
    state.pending.clear();
    return { scope, containers, result };
  };

  const first = await poll(start);
  assert.equal(first.scope, "full");
  assert.deepEqual(first.containers, [healthy.containerName], "the healthy container's first backlog blob");
  assert.match(first.result.listingFailure ?? "", /^$/, "one container refused is not a failed poll");
  assert.ok(state.caughtUp.has(deleted), "a listing with a container refused for minutes forgets nothing");

  const second = await poll(start + 60_000);
  assert.equal(second.scope, "recent", "the healthy container's full listing counted: not listed in full again");
  // From the page it left the second blob on (taken now) to the next, where it leaves the third.
  assert.equal(second.result.resumed, 2, "the full listing's resume token was kept and listed on from");
  assert.deepEqual(second.containers, [healthy.containerName], "the next blob left for later");

  refused.on = false;
  const third = await poll(start + 120_000);
  assert.equal(third.scope, "recent");
  assert.ok(third.containers.includes(refusedContainer.containerName), "the refused container, owed a full listing, is listed in full once it answers");
  assert.equal(state.owed.size, 0, "nothing owed after it succeeded");

  // Refused again at the next daily full listing and at every poll for a day after: only the daily full listing
  // after that forgets the healthy container's deleted blob.
  refused.on = true;
  const day = 24 * 3_600_000;
  assert.equal((await poll(start + day)).scope, "full");
  assert.ok(state.caughtUp.has(deleted), "refused since this listing: nothing forgotten yet");
  const owed = await poll(start + day + 60_000);
  assert.equal(owed.scope, "recent");
  assert.equal(state.owed.get(refusedContainer.containerName)?.scope, "full", "still owed a full listing");
  const dayLater = await poll(start + 2 * day + 120_000);
  assert.equal(dayLater.scope, "full");
  assert.ok(!state.caughtUp.has(deleted), "refused for over a day: the others' deleted blobs are forgotten");
});
