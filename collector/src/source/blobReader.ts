// Reads the new records of one PT1H.json, window by window (bounded memory), and hands them to `handle`. Records
// are found by a byte scanner, so block and window boundaries never decide how the data is split. The checkpoint
// is advanced (through `save`) only after `handle` resolved, i.e. after the sink acknowledged every document before
// it; it lies at the end of the last record handled, with a digest of the blocks before it.
import type { ContainerClient } from "@azure/storage-blob";
import { restartCheckpoint, type BlobCheckpoint } from "../checkpoint/state";
import { getCommittedBlocks } from "./blockList";
import { blocksDigest, coveringBlocks, planRead } from "./blockPlan";
import { BlobChangedError, downloadRange, normalizeEtag, translate } from "./download";
import { ITEMS_PER_STEP, RecordScanner, type LongRecordObserver, type ScanItem, type Unfinished } from "./recordScanner";

export type { LongRecordObserver };

/** A source blob as seen in the listing. */
export interface BlobRef {
  container: string;
  name: string;
  etag?: string;
  createdOn?: Date;
  lastModified?: Date;
  contentLength?: number;
}

/** Bytes that could not be taken as a record, with where they are. */
export interface MalformedBlock {
  offset: number;
  length: number;
  reason: string;
  raw: string;
}

/**
 * A record longer than the whole-record bound: handed over as a byte range, with the observer (ReadOptions'
 * observeLongRecord) that saw its bytes while the reader scanned them, for the caller to read once more.
 */
export interface LargeRecord<Observer extends LongRecordObserver = LongRecordObserver> {
  /** Index among all records of the blob. */
  index: number;
  start: number;
  end: number;
  /** The record's first 2,000 bytes (for a dead letter's excerpt: no download needed). */
  head: Buffer;
  /** The observer that saw all of the record's bytes, in order (absent without observeLongRecord). */
  observer?: Observer;
  /** Downloads bytes [from, to) of the same blob version. */
  read(from: number, to: number): Promise<Buffer>;
  /**
   * The most one `read` should ask for: the window less the bytes the scan keeps meanwhile (what follows the record
   * in its window), so a job holds at most FLOWLOGS_WINDOW_BYTES of downloads, as its reservation says.
   */
  readBytes: number;
}

/**
 * One record's exact bytes (a view of the downloaded window) and its range, `start` including any separator before
 * it. JSON-parsed only when delivered (parseRecordBytes), one record at a time: a window's records then wait as
 * bytes instead of as parsed objects, which lived long enough on the JS heap to be promoted and cost full GCs.
 */
export interface RecordBytes {
  start: number;
  end: number;
  bytes: Buffer;
}

/** Records read from one window of the blob. */
export interface ReadChunk<Observer extends LongRecordObserver = LongRecordObserver> {
  blob: BlobRef;
  /** Byte range of the blob this chunk accounts for (from the previous checkpoint to the end of its last item). */
  start: number;
  end: number;
  /** The records, in order, not yet parsed (parseRecordBytes). The reader does not look at them once the chunk is handed over. */
  records: RecordBytes[];
  /** Index of `records[0]` (or of `large`) among all records of the blob. */
  firstRecord: number;
  malformed: MalformedBlock[];
  /** Set on a chunk that carries one record too long to parse whole (then `records` is empty). */
  large?: LargeRecord<Observer>;
}

export interface ReadOptions<Observer extends LongRecordObserver = LongRecordObserver> {
  /** Upper bound of one ranged download. */
  windowBytes: number;
  /** Records up to this many bytes are parsed whole; longer ones are streamed. Default: windowBytes. */
  recordBytes?: number;
  /**
   * Makes the observer of one record longer than recordBytes: it sees the record's bytes as the scan passes them
   * (so its first pass costs no download) and comes with the LargeRecord. One is handed over before the next is made.
   */
  observeLongRecord?: () => Observer;
  /** Called with the byte count of every download (metrics, tests). */
  onDownload?: (bytes: number) => void;
  /** Called when reading starts over, with the reason. */
  onRestart?: (reason: string) => void;
  /** Dead-letter the first item at the checkpoint with this reason instead of processing it (bounded tries). */
  skipFirst?: string;
  /**
   * A try at this position failed before: hand over and checkpoint every record alone, so a failure on a record that
   * is not the window's first is counted at that record, and it is the one set aside once the tries run out.
   */
  recordByRecord?: boolean;
  /**
   * The blob's hour is over (no more appends expected): the caught-up write marks the checkpoint done as well, so
   * the last job on a blob writes its checkpoint once, not twice.
   */
  doneWhenCaughtUp?: boolean;
  /** Ends the reading: between windows, and the block list or download under way (the stop, a lost lease). */
  signal?: AbortSignal;
  /**
   * Awaited once the block list says how many bytes are to be read, before the first download: the job's memory
   * budget (service/jobBudget.ts) is sized by a listing that may be minutes old.
   */
  beforeDownloads?: (newBytes: number) => Promise<void>;
}

export interface ReadResult {
  checkpoint: BlobCheckpoint;
  /** True when every committed record was consumed (the checkpoint carries the ETag). */
  caughtUp: boolean;
  bytes: number;
  /** The blob's ETag was already the checkpoint's: nothing read, the checkpoint returned as it came. */
  unchanged?: true;
  /**
   * Azure appended during the read, which went on under the new ETag: caught up with the planned version only, so
   * neither done nor caught up with what a listing now shows (the appended bytes are the next job's).
   */
  followed?: true;
  /**
   * A record still open at the end of the data, begun in its last block, was left for the next read (the blob may
   * still grow): the checkpoint sits before it, without the ETag, so the blob is read again, and it is not done.
   */
  held?: true;
}

const EXCERPT_CHARS = 2_000;
/** A blob that changes again between each block list and download (not Azure's minute) ends the job "changed". */
const MAX_FOLLOWS_PER_DOWNLOAD = 3;

export async function readNewData<Observer extends LongRecordObserver = LongRecordObserver>(
  container: ContainerClient,
  ref: BlobRef,
  start: BlobCheckpoint,
  options: ReadOptions<Observer>,
  handle: (chunk: ReadChunk<Observer>) => Promise<void>,
  save: (checkpoint: BlobCheckpoint) => Promise<void>,
): Promise<ReadResult> {
  const blob = container.getBlockBlobClient(ref.name);
  let checkpoint = start;
  const recreated = Boolean(checkpoint.createdOn && ref.createdOn && checkpoint.createdOn !== ref.createdOn.toISOString());
  if (recreated) {
    options.onRestart?.(`blob was re-created (created ${ref.createdOn!.toISOString()}, checkpoint says ${checkpoint.createdOn})`);
    checkpoint = restartCheckpoint(checkpoint);
  }
  const list = await getCommittedBlocks(blob, options.signal).catch((error) => translate(error, ref.name));
  const { blocks, length } = list;
  // Conditions use the header form; the checkpoint keeps the normalized one (listings return it unquoted).
  let conditionEtag = list.etag;
  const etag = normalizeEtag(list.etag);
  if (etag !== undefined && checkpoint.etag === etag) return { checkpoint, caughtUp: true, bytes: 0, unchanged: true };
  const plan = planRead(blocks, length, checkpoint, etag);
  if (plan.restart) {
    options.onRestart?.(plan.restart);
    checkpoint = restartCheckpoint(checkpoint);
  }
  const identity = { createdOn: ref.createdOn?.toISOString() ?? checkpoint.createdOn };
  if (checkpoint !== start && checkpoint.offset !== start.offset) {
    // Reading starts over: the position is written first, so the tries of later jobs are counted where they read.
    // Counted at the old position, a record that fails every time at the new one would never be set aside.
    checkpoint = { ...checkpoint, ...identity };
    await save(checkpoint);
  }
  await options.beforeDownloads?.(plan.dataEnd - plan.from);
  const recordBytes = Math.min(options.recordBytes ?? options.windowBytes, options.windowBytes);
  let bytes = 0;
  // Azure appends by committing the blocks it wrote before again, with the new ones ahead of the tail. A download
  // refused (412) for such an append is asked again under the new ETag when the blocks under the planned bytes are
  // still the same (ids and sizes: what a checkpoint's digest trusts). Without this, every job longer than a minute
  // (a catch-up, a long record's second pass) ended "changed" at the next append, and a long record that takes more
  // than a minute to send was never finished while its hour lasted. The caught-up checkpoint keeps the planned ETag,
  // so what came later is read by the next job.
  const planned = plan.kind === "blocks" ? coveringBlocks(blocks, plan.dataEnd) : undefined;
  const follow = async (refused: unknown): Promise<void> => {
    if (!(refused instanceof BlobChangedError) || !planned) throw refused;
    const now = await getCommittedBlocks(blob, options.signal).catch((error) => translate(error, ref.name));
    if (now.etag === undefined || now.blocks.length < planned.blocks || blocksDigest(now.blocks, planned.blocks) !== planned.blockDigest) throw refused;
    conditionEtag = now.etag;
  };
  const download = async (from: number, to: number): Promise<Buffer> => {
    for (let follows = 0; ; follows++) {
      try {
        return await downloadRange(blob, from, to, conditionEtag, options.windowBytes, options.signal);
      } catch (error) {
        if (follows === MAX_FOLLOWS_PER_DOWNLOAD) translate(error, ref.name);
        await follow(error).catch((cause) => translate(cause, ref.name));
      }
    }
  };
  const fetch = async (from: number, to: number): Promise<Buffer> => {
    const body = await download(from, to);
    bytes += body.length;
    options.onDownload?.(body.length);
    return body;
  };
  const at = (offset: number, records: number): BlobCheckpoint => {
    const next: BlobCheckpoint = { ...checkpoint, ...identity, format: 2, offset, records, blocks: 0 };
    delete next.etag;
    delete next.attempt; // progress: the tries at the old position are over
    delete next.blockDigest;
    delete next.partialEtag;
    if (plan.kind === "blocks") Object.assign(next, coveringBlocks(blocks, offset));
    else next.partialEtag = etag;
    return next;
  };

  // The position the tries were counted at is gone when reading starts over, or when they were another version's.
  let skip = checkpoint.offset === start.offset && !plan.restart && !recreated ? options.skipFirst : undefined;
  let recordIndex = checkpoint.records;
  let chunk = emptyChunk<Observer>(ref, plan.from, recordIndex);
  let lastEnd = plan.from;
  // The last window's checkpoint waits for the caught-up write that follows (the same position plus the ETag): one
  // checkpoint write fewer per job of the tailing service. Anything else that comes first writes it before it starts.
  let unsaved = false;
  const saveUnsaved = async (): Promise<void> => {
    if (unsaved) await save(checkpoint);
    unsaved = false;
  };
  const deliver = async (end: number, lastWindow = false): Promise<void> => {
    await saveUnsaved();
    chunk.end = end;
    await handle(chunk);
    checkpoint = at(end, recordIndex);
    if (lastWindow) unsaved = true;
    else await save(checkpoint);
    chunk = emptyChunk<Observer>(ref, end, recordIndex);
  };
  // Each record on its own (recordByRecord), else in pieces of at most ITEMS_PER_STEP (a window of tiny records).
  const chunkFull = (): boolean => options.recordByRecord === true || chunk.records.length + chunk.malformed.length >= ITEMS_PER_STEP;
  /** `heldBytes`: what the scan keeps downloaded while a long record's pass 2 runs (LargeRecord.readBytes). */
  const take = async (item: ScanItem<Observer>, heldBytes = 0): Promise<void> => {
    await saveUnsaved();
    lastEnd = item.end;
    if (skip !== undefined) {
      const raw = item.kind === "record" ? item.bytes.toString("utf8", 0, EXCERPT_CHARS)
        : item.kind === "large" ? item.head.toString("utf8") : item.raw;
      chunk.malformed.push({ offset: item.start, length: item.end - item.start, reason: skip, raw });
      if (item.kind !== "malformed") recordIndex++;
      skip = undefined;
      return deliver(item.end);
    }
    if (item.kind === "malformed") {
      chunk.malformed.push({ offset: item.start, length: item.end - item.start, reason: item.reason, raw: item.raw });
      if (chunkFull()) await deliver(item.end);
    } else if (item.kind === "record") {
      chunk.records.push({ start: item.start, end: item.end, bytes: item.bytes });
      recordIndex++;
      if (chunkFull()) await deliver(item.end);
    } else {
      // Deliver what precedes it first, so the checkpoint can sit right before the long record.
      if (chunk.records.length || chunk.malformed.length) await deliver(item.start);
      chunk.large = {
        index: recordIndex, start: item.start, end: item.end, head: item.head, observer: item.observer, read: fetch,
        readBytes: options.windowBytes - heldBytes,
      };
      recordIndex++;
      await deliver(item.end);
    }
  };

  // A record still open where the data ends, begun in the last block of a blob whose hour is not over, is not known
  // to be broken yet: Azure commits whole records a block at a time, but a writer that commits one in two pieces
  // would otherwise have it set aside, and its second half after it. It waits for the next read; it is set aside
  // once the hour is over, or as soon as later blocks show it does not close (it then spans more than the last block).
  const lastBlockStart = plan.blockStarts.filter((blockStart) => blockStart < plan.dataEnd).at(-1);
  const waitsForMore = (open: Unfinished): boolean => open.end === undefined && !options.doneWhenCaughtUp &&
    plan.kind === "blocks" && lastBlockStart !== undefined && open.recordStart >= lastBlockStart;
  // A long record ends a scan step: it is delivered (its observer done with, its pass 2 downloaded) before the scan
  // goes on. The window it was found in is let go first: what follows the record in it is kept as a copy when that
  // leaves room for pass 2's downloads within the window (at least FLOWLOGS_RECORD_BYTES), else downloaded again.
  // Scanned in this function, whose frame ends before pass 2 starts, the window is not kept alive by a suspended
  // scan step: a job with a long record held two windows for its one reserved.
  const scanUpToLong = async (scanner: RecordScanner<Observer>, window: Buffer, windowEnd: number) => {
    let last: number | undefined;
    for (const items of scanner.steps(window)) {
      for (const item of items) {
        if (item.kind === "large") {
          const restBytes = windowEnd - item.end;
          const kept = restBytes > 0 && restBytes <= options.windowBytes - recordBytes ? Buffer.from(window.subarray(window.length - restBytes)) : undefined;
          return { last, long: item, kept, restBytes };
        }
        await take(item);
        last = item.end;
      }
    }
    return { last };
  };
  let held = false;
  let from = plan.from;
  let inHead = plan.inHead;
  for (;;) {
    const scanner = new RecordScanner(from, inHead, recordBytes, options.observeLongRecord);
    let position = from;
    let broken: Unfinished | undefined;
    while (position < plan.dataEnd && !broken) {
      if (options.signal?.aborted) return { checkpoint, caughtUp: false, bytes };
      const to = Math.min(position + options.windowBytes, plan.dataEnd);
      let pending: Buffer | undefined = await fetch(position, to);
      // The blob ended early: it was truncated or replaced between the block list and this download.
      if (pending.length < to - position) return { checkpoint, caughtUp: false, bytes };
      position = to;
      let last: number | undefined;
      while (pending) {
        const scanned = await scanUpToLong(scanner, pending, position);
        pending = undefined;
        last = scanned.last ?? last;
        if (!scanned.long) break;
        // Not kept: the scan goes on from the record's end with the next download.
        if (!scanned.kept) position -= scanned.restBytes;
        await take(scanned.long, scanned.kept?.length ?? 0);
        last = scanned.long.end;
        pending = scanned.kept;
      }
      broken = scanner.broken;
      if (last !== undefined && (chunk.records.length || chunk.malformed.length)) await deliver(last, position >= plan.dataEnd);
    }
    if (!broken) {
      const finished = scanner.finish();
      for (const item of finished.items) await take(item);
      broken = finished.unfinished;
    }
    if (!broken) break;
    if (waitsForMore(broken)) {
      held = true;
      break;
    }
    await saveUnsaved();
    // A record that cannot be JSON (unbalanced or mismatched brackets): set aside up to the next plausible record
    // start and scan again from there (its bytes are downloaded again: broken data only).
    const limit = broken.end ?? plan.dataEnd;
    const resync = await findRecordStart(fetch, broken.recordStart + 1, limit, plan.blockStarts, options.windowBytes);
    const resume = resync ?? limit;
    await take({
      kind: "malformed", start: broken.start, end: resume, raw: broken.raw,
      reason: `record at offset ${broken.recordStart} is not valid JSON: ${broken.reason ?? "it does not close before the end of the data"}` +
        ` (set aside up to ${resume >= plan.dataEnd ? "the end of the data" : `offset ${resume}, where scanning resumes`})`,
    });
    if (resume >= plan.dataEnd) break;
    from = resume;
    inHead = false;
  }
  if (chunk.records.length || chunk.malformed.length) await deliver(lastEnd);
  if (held) {
    checkpoint = at(checkpoint.offset, recordIndex);
    unsaved = false;
    await save(checkpoint);
    return { checkpoint, caughtUp: true, bytes, held: true };
  }
  // Caught up: one write records the ETag too (and that the blob is done, when its hour is over and nothing was
  // appended while it was read).
  const followed = conditionEtag !== list.etag;
  checkpoint = {
    ...at(checkpoint.offset, recordIndex), etag, lastModified: list.lastModified?.toISOString(),
    ...(options.doneWhenCaughtUp && !followed ? { done: true } : {}),
  };
  await save(checkpoint);
  return { checkpoint, caughtUp: true, bytes, ...(followed ? { followed: true as const } : {}) };
}

/** A record's JSON value, or, when its bytes are not JSON, the malformed block to set aside (with an excerpt). */
export function parseRecordBytes(record: RecordBytes): { value: unknown; malformed?: undefined } | { malformed: MalformedBlock } {
  try {
    return { value: JSON.parse(record.bytes.toString("utf8")) };
  } catch (error) {
    const text = record.bytes.toString("utf8", 0, EXCERPT_CHARS + 1);
    return {
      malformed: {
        offset: record.start, length: record.end - record.start, reason: `record is not valid JSON: ${(error as Error).message}`,
        raw: text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text,
      },
    };
  }
}

const RECORD_START = Buffer.from('{"time":'); // Azure writes `time` first in every NSG and VNet record

/**
 * The first plausible record start in [from, to): a block that begins with `{` or `,{`, or `{"time":`. Only used
 * after a broken record, so its downloads are the price of broken data.
 */
async function findRecordStart(
  fetch: (from: number, to: number) => Promise<Buffer>, from: number, to: number, blockStarts: readonly number[], windowBytes: number,
): Promise<number | undefined> {
  for (let position = from; position < to; position += windowBytes) {
    // Overlap by the pattern's length so a start cut by the window is still seen.
    const end = Math.min(to, position + windowBytes + RECORD_START.length);
    const body = await fetch(position, end);
    let best = body.indexOf(RECORD_START);
    for (const start of blockStarts) {
      const i = start - position;
      if (i < 0 || i >= body.length || (best >= 0 && i >= best)) continue;
      if (body[i] === 0x7b || (body[i] === 0x2c && body[i + 1] === 0x7b)) best = i;
    }
    if (best >= 0) return position + best;
  }
  return undefined;
}

function emptyChunk<Observer extends LongRecordObserver>(blob: BlobRef, start: number, firstRecord: number): ReadChunk<Observer> {
  return { blob, start, end: start, records: [], firstRecord, malformed: [] };
}
