// Address blocks (CIDRs) flattened into sorted, non-overlapping ranges, each pointing at the most specific block
// that covers it, and looked up by binary search: about 17 comparisons for 100,000 blocks, no allocation for IPv4.
// The Ipv4Ranges/Ipv6Ranges underneath also serve ranges that come already flat (the shipped ASN data, asnCsv.ts).
// CIDRs either nest or are disjoint, so one sweep with a stack of the enclosing blocks flattens them.

export interface AddressBlock<T> {
  /** First and last address of the block, as unsigned numbers of the family's width. */
  first: bigint;
  last: bigint;
  value: T;
}

/**
 * Hands out non-overlapping ranges in address order to `emit`; where blocks nest, the innermost (longest prefix)
 * wins. Nothing per range is allocated here: the tables write them straight into typed arrays.
 */
function flatten<T>(blocks: readonly AddressBlock<T>[], emit: (first: bigint, last: bigint, value: T) => void): void {
  // Outer blocks before the blocks they contain. The sort is stable, so among identical blocks the first given
  // stays first (and wins: the later copies are skipped).
  const sorted = blocks.slice().sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : a.last > b.last ? -1 : a.last < b.last ? 1 : 0));
  const open: AddressBlock<T>[] = [];
  let cursor = 0n;
  const close = (last: bigint, block: AddressBlock<T>) => {
    if (cursor <= last) emit(cursor, last, block.value);
  };
  let previous: AddressBlock<T> | undefined;
  for (const block of sorted) {
    if (previous && previous.first === block.first && previous.last === block.last) continue;
    previous = block;
    while (open.length > 0 && open.at(-1)!.last < block.first) {
      const done = open.pop()!;
      close(done.last, done);
      cursor = done.last + 1n;
    }
    if (open.length > 0) close(block.first - 1n, open.at(-1)!);
    open.push(block);
    cursor = block.first;
  }
  while (open.length > 0) {
    const done = open.pop()!;
    close(done.last, done);
    cursor = done.last + 1n;
  }
}

/**
 * Sorted, non-overlapping IPv4 ranges in typed arrays, answering the index of the range holding an address. A
 * first-level index by the address's top 16 bits narrows each binary search to the ranges starting in that /16 (a
 * handful even for 400,000 ranges), which keeps lookups clear of cache misses.
 */
export class Ipv4Ranges {
  /** `starts[h]`: index of the first range starting at or after h << 16 (h = 0..65536). */
  private readonly starts = new Uint32Array(65_537);

  /** `firsts`/`lasts`: sorted and non-overlapping (the caller's promise; asnCsv.ts and flatten make them so). */
  constructor(readonly firsts: Uint32Array, readonly lasts: Uint32Array) {
    let index = 0;
    for (let high = 0; high <= 65_536; high++) {
      while (index < firsts.length && firsts[index]! < high * 65_536) index++;
      this.starts[high] = index;
    }
  }

  get size(): number {
    return this.firsts.length;
  }

  /** The index of the range holding `address`, or -1. */
  indexOf(address: number): number {
    const { firsts } = this;
    const bucket = address >>> 16;
    // The last range starting at or before the address is among this /16's ranges or, failing that, the one before.
    let low = this.starts[bucket]!;
    let high = this.starts[bucket + 1]! - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (firsts[middle]! <= address) low = middle + 1;
      else high = middle - 1;
    }
    return high >= 0 && address <= this.lasts[high]! ? high : -1;
  }
}

/** IPv4 blocks (nested or disjoint) with a value each; the innermost block holding an address answers. */
export class Ipv4RangeTable<T> {
  private readonly ranges: Ipv4Ranges;
  private readonly values: T[];

  constructor(blocks: readonly AddressBlock<T>[]) {
    // n nested or disjoint blocks make at most 2n - 1 ranges.
    const firsts = new Uint32Array(2 * blocks.length);
    const lasts = new Uint32Array(2 * blocks.length);
    const values: T[] = [];
    flatten(blocks, (first, last, value) => {
      firsts[values.length] = Number(first);
      lasts[values.length] = Number(last);
      values.push(value);
    });
    this.ranges = new Ipv4Ranges(firsts.slice(0, values.length), lasts.slice(0, values.length));
    this.values = values;
  }

  get size(): number {
    return this.values.length;
  }

  find(address: number): T | undefined {
    const index = this.ranges.indexOf(address);
    return index < 0 ? undefined : this.values[index];
  }
}

/** Sorted, non-overlapping IPv6 ranges as four big-endian 32-bit words each, compared word by word. */
export class Ipv6Ranges {
  /** `firsts`/`lasts`: four words per range, sorted and non-overlapping (the caller's promise). */
  constructor(readonly firsts: Uint32Array, readonly lasts: Uint32Array) {}

  get size(): number {
    return this.firsts.length / 4;
  }

  /** The index of the range holding the address (`words`: four big-endian 32-bit words), or -1. */
  indexOf(words: Uint32Array): number {
    let low = 0;
    let high = this.size - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (compareWords(this.firsts, middle, words) <= 0) low = middle + 1;
      else high = middle - 1;
    }
    return high >= 0 && compareWords(this.lasts, high, words) >= 0 ? high : -1;
  }
}

/** IPv6 blocks (nested or disjoint) with a value each; the innermost block holding an address answers. */
export class Ipv6RangeTable<T> {
  private readonly ranges: Ipv6Ranges;
  private readonly values: T[];

  constructor(blocks: readonly AddressBlock<T>[]) {
    const firsts = new Uint32Array(2 * blocks.length * 4);
    const lasts = new Uint32Array(2 * blocks.length * 4);
    const values: T[] = [];
    flatten(blocks, (first, last, value) => {
      writeWords(firsts, values.length, first);
      writeWords(lasts, values.length, last);
      values.push(value);
    });
    this.ranges = new Ipv6Ranges(firsts.slice(0, values.length * 4), lasts.slice(0, values.length * 4));
    this.values = values;
  }

  get size(): number {
    return this.values.length;
  }

  /** `words`: the address as four big-endian 32-bit words. */
  find(words: Uint32Array): T | undefined {
    const index = this.ranges.indexOf(words);
    return index < 0 ? undefined : this.values[index];
  }
}

function writeWords(target: Uint32Array, index: number, value: bigint): void {
  for (let word = 3; word >= 0; word--) {
    target[index * 4 + word] = Number(value & 0xffffffffn);
    value >>= 32n;
  }
}

/** Sign of (table[index] - words): `table` holds four words per entry. */
export function compareWords(table: Uint32Array, index: number, words: Uint32Array): number {
  const base = index * 4;
  for (let word = 0; word < 4; word++) {
    const difference = table[base + word]! - words[word]!;
    if (difference !== 0) return difference;
  }
  return 0;
}
