// What the record scanner keeps of a downloaded window once its records are handed over: nothing. A window is up to
// 4 MiB, so a byte kept as a view of it would keep the whole window alive while the next one downloads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { RecordScanner, type ScanItem } from "../../collector/src/source/recordScanner";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const WINDOW = 4 << 20;

async function collected(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  gc();
}

/** A window of `text`, then the start of a record whose string fills the rest of it (`x`s). */
function window(text: string): Buffer {
  const buffer = Buffer.alloc(WINDOW, 0x78);
  Buffer.from(text).copy(buffer, 0);
  return buffer;
}

test("a window is released once its records are handed over, while a record that started in it spans the next windows", async () => {
  // Separators, whitespace and junk before the open record: the bytes the scanner keeps for a dead letter's excerpt.
  const cases = ['{"records":[{"time":"a"},{"time":"', '{"records":[{"time":"a"}, \n{"time":"', '{"records":[{"time":"a"},42,{"time":"'];
  for (const head of cases) {
    const scanner = new RecordScanner(0, true, 1 << 20);
    let first: Buffer | undefined = window(head);
    const released = new WeakRef(first.buffer);
    const items: ScanItem[] = scanner.push(first).map((item) => (item.kind === "record" ? { ...item, bytes: Buffer.from(item.bytes) } : item));
    first = undefined;
    scanner.push(Buffer.alloc(WINDOW, 0x78));
    await collected();
    assert.ok(released.deref() === undefined, `${JSON.stringify(head)}: the first window is not kept two windows later`);
    items.push(...scanner.push(Buffer.from('"}]}')), ...scanner.finish().items);
    // The junk's excerpt still shows the bytes kept, separators included.
    const shown = items.map((item) => item.kind === "record" ? item.bytes.toString() : `${item.kind}:${item.start}-${item.end}:${item.kind === "malformed" ? item.raw : ""}`);
    assert.deepEqual(shown, ['{"time":"a"}', ...(head.includes("42") ? ["malformed:24-28:,42,"] : []), `large:${head.lastIndexOf("{")}-${2 * WINDOW + 2}:`]);
  }
});
