// Turn downloaded record blocks back into records. A block is `{...}` or `,{...},{...}`; re-wrapped as a JSON
// array it parses alone. The common case parses the whole window at once; if that fails each block is parsed
// alone so one malformed block is set aside with its position while its neighbours are still processed.
import type { DataBlock } from "./blockPlan";

export interface ParsedBlock {
  block: DataBlock;
  /** The records, or undefined when the block is not valid JSON. */
  records?: unknown[];
  error?: string;
  /** The block's text, kept only for malformed blocks (for the dead letter), truncated. */
  raw?: string;
}

const RAW_LIMIT = 2_000;

/** `buffer` holds bytes [blocks[0].start, blocks[last].end) of the blob. */
export function parseWindow(buffer: Buffer, windowStart: number, blocks: readonly DataBlock[]): ParsedBlock[] {
  const texts = blocks.map((block) => stripComma(buffer.toString("utf8", block.start - windowStart, block.end - windowStart)));
  const whole = tryParse(texts.join(","));
  if (whole.ok && blocks.length === 1) return [{ block: blocks[0], records: whole.records }];
  // Several blocks and the combined text is fine: record counts per block are not needed, only the total; the
  // first block carries them all so record indices stay in blob order.
  if (whole.ok) return blocks.map((block, i) => ({ block, records: i === 0 ? whole.records : [] }));
  return blocks.map((block, i) => {
    let one = tryParse(texts[i]);
    // A blob committed without a separate tail block ends its last block with `]}`.
    if (!one.ok && texts[i].trimEnd().endsWith("]}")) {
      const untailed = tryParse(texts[i].trimEnd().slice(0, -2));
      if (untailed.ok) one = untailed;
    }
    return one.ok
      ? { block, records: one.records }
      : { block, error: one.error, raw: texts[i].length > RAW_LIMIT ? `${texts[i].slice(0, RAW_LIMIT)}…` : texts[i] };
  });
}

function stripComma(text: string): string {
  const trimmed = text.trimStart();
  return trimmed.startsWith(",") ? trimmed.slice(1) : trimmed;
}

function tryParse(text: string): { ok: true; records: unknown[] } | { ok: false; error: string } {
  if (text.trim() === "") return { ok: false, error: "empty record block" };
  try {
    const records: unknown = JSON.parse(`[${text}]`);
    return { ok: true, records: records as unknown[] };
  } catch (error) {
    return { ok: false, error: `record block is not valid JSON: ${(error as Error).message}` };
  }
}
