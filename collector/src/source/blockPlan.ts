// Pure planning of what to download from a PT1H.json, from its committed block list and the checkpoint.
// Layout (REFERENCE Part 1 §3.2): block 0 is the 12-byte head `{"records":[`, the last block is the 2-byte tail
// `]}`, every block between holds whole records (later ones starting with `,`). Bytes before the tail never change.
import type { BlobCheckpoint } from "../checkpoint/state";

export const HEAD_TEXT = '{"records":[';
export const TAIL_TEXT = "]}";

/** A committed record block: its index in the block list and its byte range in the blob. */
export interface DataBlock {
  index: number;
  start: number;
  end: number;
}

/** Consecutive blocks fetched with one ranged download. */
export interface Window {
  start: number;
  end: number;
  blocks: DataBlock[];
}

export type Plan =
  | { kind: "blocks"; restart?: string; windows: Window[]; dataEnd: number; blockCount: number }
  | { kind: "single-put"; restart?: string; length: number };

/**
 * Decide which bytes are new. `sizes` are the committed block sizes in order; `length` is the blob length.
 * `restart` is set (with the reason) when the checkpoint no longer fits the blob and reading must start over.
 */
export function planRead(sizes: readonly number[], length: number, checkpoint: BlobCheckpoint, windowBytes: number): Plan {
  let restart: string | undefined;
  if (length < checkpoint.offset) restart = `blob shrank from at least ${checkpoint.offset} to ${length} bytes`;
  if (sizes.length === 0) {
    // Uploaded in one Put: no blocks to tail; the whole blob is one document.
    if (!restart && checkpoint.blocks > 0) restart = "blob was re-uploaded in one Put";
    return { kind: "single-put", restart, length };
  }
  let offset = checkpoint.offset;
  let consumed = checkpoint.blocks;
  if (!restart && consumed > 0) {
    if (consumed > sizes.length) restart = `blob has ${sizes.length} blocks, fewer than the ${consumed} already read`;
    else if (sum(sizes, consumed) !== offset) restart = `the first ${consumed} blocks no longer end at byte ${offset}`;
  }
  let firstStart: number | undefined;
  if (restart || consumed === 0) {
    if (sizes[0] === HEAD_TEXT.length) {
      consumed = 1; // the head block alone, as Azure writes it
      offset = sizes[0];
    } else {
      // Block 0 is not the bare head: read it too (after the head's 12 bytes when it is longer), so records in it
      // are not skipped; if it is not what we expect, parsing fails and the block is dead-lettered, not dropped.
      consumed = 0;
      offset = 0;
      firstStart = sizes[0] > HEAD_TEXT.length ? HEAD_TEXT.length : 0;
    }
  }
  // The tail is the last block when it is 2 bytes long and is not the head.
  const tailIndex = sizes.length > 1 && sizes[sizes.length - 1] === TAIL_TEXT.length ? sizes.length - 1 : sizes.length;
  const windows: Window[] = [];
  let current: Window | undefined;
  let position = offset;
  for (let index = consumed; index < tailIndex; index++) {
    const block = { index, start: index === 0 && firstStart !== undefined ? firstStart : position, end: position + sizes[index] };
    position = block.end;
    if (!current || (current.end - current.start) + (block.end - block.start) > windowBytes) {
      current = { start: block.start, end: block.end, blocks: [block] };
      windows.push(current);
    } else {
      current.end = block.end;
      current.blocks.push(block);
    }
  }
  return { kind: "blocks", restart, windows, dataEnd: position, blockCount: tailIndex };
}

function sum(values: readonly number[], count: number): number {
  let total = 0;
  for (let i = 0; i < count; i++) total += values[i];
  return total;
}
