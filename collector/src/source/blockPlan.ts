// Pure planning of what to read from a PT1H.json, from its committed block list and the checkpoint.
// Layout (REFERENCE Part 1 §3.2): block 0 is the 12-byte head `{"records":[`, the last block is the 2-byte tail
// `]}`, Azure's blocks between hold whole records. Copies and uploads cut blocks anywhere, so blocks only say what
// to download and whether the bytes before the checkpoint are unchanged; records are split by the scanner.
import { createHash } from "node:crypto";
import type { BlobCheckpoint } from "../checkpoint/state";

export const HEAD_TEXT = '{"records":[';
export const TAIL_TEXT = "]}";

/** A committed block as the block list names it. */
export interface CommittedBlock {
  id: string;
  size: number;
}

export interface Plan {
  kind: "blocks" | "single-put";
  /** Set (with the reason) when the checkpoint no longer fits the blob and reading starts over. */
  restart?: string;
  /** Where scanning starts, and whether it starts before the head (offset 0) or between records. */
  from: number;
  inHead: boolean;
  /** End of the bytes to scan: the start of a separate 2-byte tail block, else the blob's end. */
  dataEnd: number;
  /** Start offsets of the committed blocks (empty for a single Put): candidate record starts when resynchronising. */
  blockStarts: number[];
}

/**
 * Decide where to read from. `blocks` is the committed block list in order, `length` the blob length, `etag` its
 * current ETag (single-Put blobs resume mid-blob only for the same ETag).
 */
export function planRead(blocks: readonly CommittedBlock[], length: number, checkpoint: BlobCheckpoint, etag?: string): Plan {
  let restart: string | undefined;
  if (length < checkpoint.offset) restart = `blob shrank from at least ${checkpoint.offset} to ${length} bytes`;
  if (blocks.length === 0) {
    if (!restart && checkpoint.blocks > 0) restart = "blob was re-uploaded in one Put";
    // A part-way checkpoint is valid only for the version it was taken from; format 1 read single-Put blobs whole.
    if (!restart && checkpoint.offset > 0 && checkpoint.partialEtag !== etag) restart = "single-Put blob changed (new ETag)";
    const resume = !restart && checkpoint.offset > 0;
    return { kind: "single-put", restart, from: resume ? checkpoint.offset : 0, inHead: !resume, dataEnd: length, blockStarts: [] };
  }
  const starts: number[] = [];
  let position = 0;
  for (const block of blocks) {
    starts.push(position);
    position += block.size;
  }
  const consumed = checkpoint.blocks;
  // Taken on a single Put (offset but no blocks): nothing tells whether the blocks now hold the same bytes.
  if (!restart && consumed === 0 && checkpoint.offset > 0) restart = "blob read as one Put now has committed blocks (re-written)";
  if (!restart && consumed > 0) {
    if (consumed > blocks.length) restart = `blob has ${blocks.length} blocks, fewer than the ${consumed} already read`;
    else if (checkpoint.blockDigest !== undefined) {
      if (blocksDigest(blocks, consumed) !== checkpoint.blockDigest) restart = `the first ${consumed} blocks were rewritten (ids or sizes differ)`;
    } else if (starts[consumed - 1] + blocks[consumed - 1].size !== checkpoint.offset) {
      // Format 1 checkpoints end at a block end and carry sizes only.
      restart = `the first ${consumed} blocks no longer end at byte ${checkpoint.offset}`;
    }
  }
  // The tail is the last block when it is 2 bytes long and is not the head.
  const last = blocks.length - 1;
  const dataEnd = blocks.length > 1 && blocks[last].size === TAIL_TEXT.length ? starts[last] : length;
  let from = restart ? 0 : checkpoint.offset;
  let inHead = from === 0;
  // A bare head block, as Azure writes it, is skipped without downloading it.
  if (from === 0 && blocks[0].size === HEAD_TEXT.length) {
    from = HEAD_TEXT.length;
    inHead = false;
  }
  return { kind: "blocks", restart, from, inHead, dataEnd: Math.max(dataEnd, from), blockStarts: starts };
}

/** How many blocks cover bytes [0, offset), and the digest of their ids and sizes (what the checkpoint stores). */
export function coveringBlocks(blocks: readonly CommittedBlock[], offset: number): { blocks: number; blockDigest: string } {
  let count = 0;
  let end = 0;
  while (count < blocks.length && end < offset) end += blocks[count++].size;
  return { blocks: count, blockDigest: blocksDigest(blocks, count) };
}

export function blocksDigest(blocks: readonly CommittedBlock[], count: number): string {
  const hash = createHash("sha256");
  for (let i = 0; i < count; i++) hash.update(`${blocks[i].id}:${blocks[i].size}\n`);
  return hash.digest("base64url");
}
