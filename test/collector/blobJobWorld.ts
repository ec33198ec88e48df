// Blob jobs on Azurite for the try-accounting tests (service.tries.test.ts, service.tryAccount.test.ts): a job's
// context with a clock inside the blobs' hour, and one tailed blob with its checkpoint container.
import type { ContainerClient } from "@azure/storage-blob";
import type { CheckpointStore } from "../../collector/src/checkpoint/store";
import { parseRecords } from "../../collector/src/format/parse";
import type { Sink } from "../../collector/src/model";
import type { JobContext } from "../../collector/src/service/blobJob";
import { Metrics } from "../../collector/src/service/metrics";
import { listFlowLogBlobs } from "../../collector/src/source/listing";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import type { ScratchContainers } from "../support/scratchContainers";
import type { RecordingSink } from "./serviceRecordingSink";

/**
 * A job's context on Azurite: 1 MiB windows and records, writes of 100, 2 tries, and a clock within the blobs' hour
 * (2026-11-20T10:00Z), so they are tailed, not over; `overrides` set anything else.
 */
export function jobContext(source: ContainerClient, store: CheckpointStore, sink: Sink, overrides: Partial<JobContext> = {}): JobContext {
  return {
    container: source, store, sink, parse: parseRecords, metrics: new Metrics(), log: () => {},
    windowBytes: 1024 * 1024, recordBytes: 1024 * 1024, batchDocuments: 100, maxAttempts: 2, doneGraceMinutes: 10,
    now: () => Date.parse("2026-11-20T10:10:00Z"),
    ...overrides,
  };
}

/** A job context on Azurite with a recording sink, for the tries on a checkpoint a process wrote itself. */
export function recordingContext(source: ContainerClient, store: CheckpointStore, sink: RecordingSink, parse = parseRecords): JobContext {
  return jobContext(source, store, sink, { parse });
}

/** One tailed blob (its first minute written) with its checkpoint container, and a listing of it. */
export async function tailedBlobOf(scratch: ScratchContainers, name: string, seed: number, first: { records: number; tuplesPerRecord: number }) {
  const source = scratch.container(`${name}-src`);
  await source.create();
  const checkpoints = scratch.container(`${name}-cp`);
  const writer = new FlowLogBlobWriter(source, { kind: "vnet-v4", hour: new Date("2026-11-20T10:00:00Z"), seed });
  await writer.appendMinute(first);
  const listed = async () => { for await (const ref of listFlowLogBlobs(scratch.service, source.containerName)) return ref; throw new Error("no blob"); };
  return { source, checkpoints, writer, listed };
}

