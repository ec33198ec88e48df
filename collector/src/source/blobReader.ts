// Reads only the newly committed record blocks of one PT1H.json, window by window (bounded memory), and hands each
// window's records to `handle`. The checkpoint is advanced (through `save`) only after `handle` resolved, i.e.
// after the sink acknowledged every document of the window.
import type { ContainerClient } from "@azure/storage-blob";
import { restartCheckpoint, type BlobCheckpoint } from "../checkpoint/state";
import { HEAD_TEXT, planRead, type DataBlock } from "./blockPlan";
import { downloadRange, normalizeEtag, translate } from "./download";
import { parseWindow } from "./recordBlocks";

/** A source blob as seen in the listing. */
export interface BlobRef {
  container: string;
  name: string;
  etag?: string;
  createdOn?: Date;
  lastModified?: Date;
  contentLength?: number;
}

/** A block that could not be parsed, with where it is. */
export interface MalformedBlock {
  offset: number;
  length: number;
  reason: string;
  raw: string;
}

/** Records read from one window of the blob. */
export interface ReadChunk {
  blob: BlobRef;
  /** Byte range of the window in the blob. */
  start: number;
  end: number;
  records: unknown[];
  /** Index of `records[0]` among all records of the blob. */
  firstRecord: number;
  malformed: MalformedBlock[];
}

export interface ReadOptions {
  /** Upper bound of one ranged download (a single larger block is still fetched whole). */
  windowBytes: number;
  /** Called with the byte count of every download (metrics, tests). */
  onDownload?: (bytes: number) => void;
  /** Called when reading starts over, with the reason. */
  onRestart?: (reason: string) => void;
  signal?: AbortSignal;
}

export interface ReadResult {
  checkpoint: BlobCheckpoint;
  /** True when every committed record block was consumed (the checkpoint carries the ETag). */
  caughtUp: boolean;
  bytes: number;
}

export async function readNewData(
  container: ContainerClient,
  ref: BlobRef,
  start: BlobCheckpoint,
  options: ReadOptions,
  handle: (chunk: ReadChunk) => Promise<void>,
  save: (checkpoint: BlobCheckpoint) => Promise<void>,
): Promise<ReadResult> {
  const blob = container.getBlockBlobClient(ref.name);
  let checkpoint = start;
  if (checkpoint.createdOn && ref.createdOn && checkpoint.createdOn !== ref.createdOn.toISOString()) {
    options.onRestart?.(`blob was re-created (created ${ref.createdOn.toISOString()}, checkpoint says ${checkpoint.createdOn})`);
    checkpoint = restartCheckpoint(checkpoint);
  }
  const list = await blob.getBlockList("committed").catch((error) => translate(error, ref.name));
  const sizes = (list.committedBlocks ?? []).map((block) => block.size);
  const length = list.blobContentLength ?? sizes.reduce((a, b) => a + b, 0);
  // Conditions use the header form; the checkpoint keeps the normalized one (listings return it unquoted).
  const conditionEtag = list.etag;
  const etag = normalizeEtag(list.etag);
  const identity = {
    createdOn: ref.createdOn?.toISOString() ?? checkpoint.createdOn,
  };
  const plan = planRead(sizes, length, checkpoint, options.windowBytes);
  if (plan.restart) {
    options.onRestart?.(plan.restart);
    checkpoint = restartCheckpoint(checkpoint);
  }
  let bytes = 0;
  const fetch = async (from: number, to: number): Promise<Buffer> => {
    const body = await downloadRange(blob, from, to, conditionEtag);
    bytes += body.length;
    options.onDownload?.(body.length);
    return body;
  };

  if (plan.kind === "single-put") {
    if (checkpoint.etag === etag && checkpoint.offset === length) return { checkpoint, caughtUp: true, bytes };
    const body = await fetch(0, length);
    const chunk: ReadChunk = { blob: ref, start: 0, end: length, records: [], firstRecord: 0, malformed: [] };
    try {
      const parsed: unknown = JSON.parse(body.toString("utf8"));
      const records = (parsed as { records?: unknown })?.records;
      if (!Array.isArray(records)) throw new Error('top-level "records" array is missing');
      chunk.records = records;
    } catch (error) {
      chunk.malformed.push({ offset: 0, length, reason: `blob is not a flow-log JSON document: ${(error as Error).message}`, raw: body.toString("utf8", 0, 2_000) });
    }
    await handle(chunk);
    checkpoint = { ...checkpoint, ...identity, offset: length, blocks: 0, records: chunk.records.length, etag, lastModified: list.lastModified?.toISOString() };
    await save(checkpoint);
    return { checkpoint, caughtUp: true, bytes };
  }

  // Start after a bare head block (or keep the checkpoint position).
  if (checkpoint.blocks === 0 && sizes[0] === HEAD_TEXT.length) checkpoint = { ...checkpoint, offset: sizes[0], blocks: 1 };
  const caughtUpState = { etag, lastModified: list.lastModified?.toISOString() };
  for (const [i, window] of plan.windows.entries()) {
    if (options.signal?.aborted) return { checkpoint, caughtUp: false, bytes };
    const body = await fetch(window.start, window.end);
    if (body.length < window.end - window.start) {
      // The blob ended early: it was truncated or replaced between the block list and this download.
      return { checkpoint, caughtUp: false, bytes };
    }
    const parsed = parseWindow(body, window.start, window.blocks);
    const records: unknown[] = [];
    const malformed: MalformedBlock[] = [];
    for (const block of parsed) {
      if (block.records) for (const record of block.records) records.push(record);
      else malformed.push(malformedOf(block.block, block.error ?? "unparseable", block.raw ?? ""));
    }
    await handle({ blob: ref, start: window.start, end: window.end, records, firstRecord: checkpoint.records, malformed });
    const last = window.blocks[window.blocks.length - 1];
    checkpoint = { ...checkpoint, ...identity, offset: window.end, blocks: last.index + 1, records: checkpoint.records + records.length };
    delete checkpoint.etag;
    // The last window's save also records that the reader caught up (one write instead of two).
    if (i === plan.windows.length - 1) checkpoint = { ...checkpoint, ...caughtUpState };
    await save(checkpoint);
  }
  if (plan.windows.length === 0) {
    checkpoint = { ...checkpoint, ...identity, ...caughtUpState };
    await save(checkpoint);
  }
  return { checkpoint, caughtUp: true, bytes };
}

function malformedOf(block: DataBlock, reason: string, raw: string): MalformedBlock {
  return { offset: block.start, length: block.end - block.start, reason, raw };
}
