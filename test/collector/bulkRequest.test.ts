// Bulk requests written as documents arrive (collector/src/sink/bulkRequest.ts) must be the bytes the former path
// sent: the same requests (sizedBatches' cuts by count and bytes), each body toBulkNdjson of its documents, and each
// document's lines read back unchanged for retries and dead letters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlowLogText } from "../../collector/src/format";
import { identifiedDocument, toBulkNdjson } from "../../collector/src/ecs";
import type { IdentifiedDocument } from "../../collector/src/model";
import { BulkRequest, BulkRequestWriter, reusedBodies } from "../../collector/src/sink/bulkRequest";
import { bulkCreate, sizedBatches } from "../../collector/src/sink/httpBulk";

const INDEX = "logs-azure.flowlogs-default";
const position = { container: "c", blob: "b", offset: 7 };

function documents(): IdentifiedDocument[] {
  const fixtures = ["nsg-v1.json", "nsg-v2.json", "vnet-v4.json"]
    .flatMap((name) => parseFlowLogText(readFileSync(join(__dirname, "..", "fixtures", name), "utf8")).documents);
  const [first] = fixtures;
  // Multi-byte and escaped text: the byte counts must be UTF-8's, not the string lengths.
  const odd = ["Zürich-ÄÖÜ", "規則_名前", "emoji 🚦 rule", 'quote " and \\ backslash', "line\nbreak\u2028"].map((name, i) =>
    identifiedDocument(`odd-${i}-ü`, { ...first!.doc, rule: { name } }));
  return [...fixtures, ...odd, ...fixtures];
}

function written(docs: IdentifiedDocument[], maxCount: number, maxBytes: number): BulkRequest[] {
  const writer = new BulkRequestWriter(maxCount, maxBytes, position, INDEX);
  // The sink's path: the parser's documents write their own bytes, the others go as text.
  for (const document of docs) writer.addDocument(document);
  assert.equal(writer.length, docs.length);
  return writer.finish();
}

test("requests written as documents arrive are byte for byte the former batches' bodies, for any count and byte bounds", () => {
  const docs = documents();
  const items = docs.map(({ id, source }) => bulkCreate(INDEX, id, source, position));
  const sizes = items.map((item) => item.bytes);
  const bounds: Array<[number, number]> = [
    [1000, 5 * 1024 * 1024], [1, 1 << 30], [7, 1 << 30], [docs.length, 1], [50, Math.max(...sizes)],
    [50, 3 * Math.max(...sizes) - 1], [3, 2500], [docs.length + 1, sizes.reduce((a, b) => a + b, 0)],
  ];
  for (const [maxCount, maxBytes] of bounds) {
    const expected = [...sizedBatches(items, (item) => item.bytes, maxCount, maxBytes)];
    const requests = written(docs, maxCount, maxBytes);
    assert.equal(requests.length, expected.length, `request count at ${maxCount} documents / ${maxBytes} bytes`);
    let at = 0;
    requests.forEach((request, r) => {
      const batch = docs.slice(at, at + expected[r]!.length);
      at += batch.length;
      assert.equal(request.length, batch.length);
      assert.ok(request.body.equals(Buffer.from(toBulkNdjson(batch, INDEX))), `body of request ${r} at ${maxCount} / ${maxBytes}`);
      assert.deepEqual(request.ids, batch.map((d) => d.id));
      // Each document's lines as a retry or a dead letter needs them.
      batch.forEach((document, i) => assert.deepEqual(request.item(i), bulkCreate(INDEX, document.id, document.source, position)));
    });
    assert.equal(at, docs.length);
  }
});

test("one writer's requests of hundreds of documents each, sized by the request before: every line where it belongs", () => {
  // Where the lines start is kept in arrays grown as documents come and sized by the writer's last request.
  const fixtures = documents();
  const docs = Array.from({ length: 1500 }, (_, i) => fixtures[i % fixtures.length]!);
  const requests = written(docs, 700, 1 << 30);
  assert.deepEqual(requests.map((request) => request.length), [700, 700, 100]);
  let at = 0;
  for (const request of requests) {
    const batch = docs.slice(at, at + request.length);
    assert.ok(request.body.equals(Buffer.from(toBulkNdjson(batch, INDEX))));
    assert.deepEqual(request.ids, batch.map((d) => d.id));
    for (const i of [0, 63, 64, 65, 127, 128, request.length - 1]) {
      if (i < request.length) assert.deepEqual(request.item(i), bulkCreate(INDEX, batch[i]!.id, batch[i]!.source, position));
    }
    at += batch.length;
  }
  const shared = BulkRequest.concat(requests);
  assert.ok(shared.body.equals(Buffer.from(toBulkNdjson(docs, INDEX))));
  assert.deepEqual(shared.item(1499), bulkCreate(INDEX, docs[1499]!.id, docs[1499]!.source, position));
  assert.equal(shared.originOf(1400), 2);
});

test("a request rebuilt from some of its documents (retries, known ids dropped) carries exactly their lines", () => {
  const docs = documents();
  const [request] = written(docs, Infinity, Infinity);
  const dropped = new Set(docs.filter((_, i) => i % 3 === 0).map((d) => d.id));
  const kept = docs.filter((d) => !dropped.has(d.id));
  const without = request!.without(dropped);
  assert.ok(without.body.equals(Buffer.from(toBulkNdjson(kept, INDEX))));
  assert.equal(request!.without(new Set(["no-such-id"])), request, "nothing dropped: the same request, not a copy");
  const again = BulkRequest.of([request!.item(4), request!.item(1)]);
  assert.ok(again.body.equals(Buffer.from(toBulkNdjson([docs[4]!, docs[1]!], INDEX))));
  assert.deepEqual(again.item(0), request!.item(4));
  assert.equal(BulkRequest.of([]).length, 0);
});

test("writes' requests joined into one keep each document's write and position, through retries and dropped ids", () => {
  const docs = documents();
  const positions = [position, { container: "c", blob: "other", offset: 9 }, { container: "d", blob: "third" }];
  const slices = [docs.slice(0, 3), docs.slice(3, 10), docs.slice(10, 12)];
  const parts = slices.map((slice, k) => {
    const writer = new BulkRequestWriter(Infinity, Infinity, positions[k], INDEX);
    for (const document of slice) writer.addDocument(document);
    return writer.finish()[0]!;
  });
  const shared = BulkRequest.concat(parts);
  const all = slices.flat();
  assert.ok(shared.body.equals(Buffer.from(toBulkNdjson(all, INDEX))), "the parts' bodies, in order");
  assert.deepEqual(shared.ids, all.map((d) => d.id));
  const origins = slices.flatMap((slice, k) => slice.map(() => k));
  all.forEach((document, i) => {
    assert.equal(shared.originOf(i), origins[i]);
    assert.deepEqual(shared.item(i), bulkCreate(INDEX, document.id, document.source, positions[origins[i]!]));
  });
  // Items sent again (settle picks them by index) and known ids dropped keep their write and position.
  const again = shared.pick([1, 2, 5, 11]);
  assert.ok(again.body.equals(Buffer.from(toBulkNdjson([all[1]!, all[2]!, all[5]!, all[11]!], INDEX))));
  assert.deepEqual([0, 1, 2, 3].map((i) => again.originOf(i)), [0, 0, 1, 2]);
  assert.deepEqual([0, 1, 2, 3].map((i) => again.item(i)), [1, 2, 5, 11].map((i) => shared.item(i)));
  const kept = again.without(new Set([all[2]!.id]));
  assert.deepEqual([0, 1, 2].map((i) => kept.originOf(i)), [0, 1, 2]);
  assert.deepEqual([0, 1, 2].map((i) => kept.item(i)), [1, 5, 11].map((i) => shared.item(i)));
  assert.equal(shared.pick([...all.keys()]), shared, "all kept: the same request");
  assert.equal(shared.pick([]).length, 0);
  assert.equal(BulkRequest.concat([parts[1]!]), parts[1], "one write's request is sent as it is");
});

test("a document that fails while writing its own bytes leaves no part of its lines in the request", () => {
  const docs = documents().slice(0, 4);
  const writer = new BulkRequestWriter(Infinity, Infinity, position, INDEX);
  writer.addDocument(docs[0]!);
  const failing: IdentifiedDocument = {
    id: docs[1]!.id, source: docs[1]!.source, doc: docs[1]!.doc,
    writeSource(out) {
      out.reserve(3);
      out.bytes.write('{"p', out.at);
      out.at += 3;
      throw new Error("broken enrichment");
    },
  };
  assert.throws(() => writer.addDocument(failing), /broken enrichment/);
  for (const document of docs.slice(2)) writer.addDocument(document);
  assert.equal(writer.length, 3);
  const [request] = writer.finish();
  assert.ok(request!.body.equals(Buffer.from(toBulkNdjson([docs[0]!, ...docs.slice(2)], INDEX))));
});

test("a released request's memory is written into again by the next request, once, and the released body can no longer be read", () => {
  const docs = Array.from({ length: 12 }, documents).flat();
  const expected = Buffer.from(toBulkNdjson(docs, INDEX));
  assert.ok(expected.length > 64 * 1024, "over the smallest body kept for reuse");
  // Sized by the hint (an eighth over the sink's last request): no growth, and the request keeps the memory as it is.
  const hint = { bytes: expected.length };
  reusedBodies.clear(); // earlier tests' bodies out of the way
  const write = (batch: IdentifiedDocument[]): BulkRequest => {
    const writer = new BulkRequestWriter(Infinity, Infinity, position, INDEX, hint);
    for (const document of batch) writer.addDocument(document);
    return writer.finish()[0]!;
  };
  const sent = write(docs);
  assert.ok(sent.body.equals(expected));
  const memory = sent.body.buffer;
  sent.release();
  sent.release(); // a second release gives nothing back a second time
  assert.throws(() => sent.body, /used after its release/);
  const reversed = [...docs].reverse();
  const next = write(reversed);
  assert.ok(next.body.buffer === memory, "the released memory is written into again");
  assert.ok(next.body.equals(Buffer.from(toBulkNdjson(reversed, INDEX))), "with exactly the new documents' bytes");
  assert.deepEqual(next.ids, reversed.map((document) => document.id));
  const third = write(docs);
  assert.ok(third.body.buffer !== memory, "handed out once: the request holding it still owns it");
  assert.ok(third.body.equals(expected));
  // A shared request is copied into reused memory where some fits: the same bytes either way.
  next.release();
  const half = write(docs.slice(0, 10));
  const shared = BulkRequest.concat([half, third]);
  assert.ok(shared.body.equals(Buffer.concat([Buffer.from(toBulkNdjson(docs.slice(0, 10), INDEX)), expected])));
  for (const request of [half, third, shared]) request.release();
});

test("a write that ends just full sizes the next: its body is written once into memory of about its size, neither grown nor copied when cut", () => {
  const docs = Array.from({ length: 8 }, documents).flat();
  const expected = Buffer.from(toBulkNdjson(docs, INDEX));
  const hint = { bytes: 0 };
  reusedBodies.clear();
  // Kept memory far larger than a request: a body sized by the hint must not take it (the request would be copied out).
  const oversized = Buffer.allocUnsafe(4 * expected.length);
  reusedBodies.give(oversized);
  const write = (): BulkRequest => {
    // The delivery's batches: exactly maxCount documents per write, so each ends just full (finish, no overflow).
    const writer = new BulkRequestWriter(docs.length, Infinity, position, INDEX, hint);
    for (const document of docs) writer.addDocument(document);
    const requests = writer.finish();
    assert.equal(requests.length, 1);
    return requests[0]!;
  };
  const first = write();
  assert.equal(hint.bytes, expected.length, "a write that ended full is the next one's size");
  const second = write();
  assert.ok(second.body.equals(expected));
  const memory = second.body.buffer.byteLength;
  assert.equal(memory, Math.ceil(expected.length * 1.125), "allocated once at the hint's size plus an eighth: not grown by doubling");
  assert.ok(second.body.buffer !== oversized.buffer, "not the oversized kept memory");
  assert.equal(second.body.byteOffset, 0, "sent in the memory it was written into: not copied when cut");
  // Sent and released, its memory is what the next full write takes, again without a copy.
  const secondMemory = second.body.buffer;
  second.release();
  const third = write();
  assert.ok(third.body.buffer === secondMemory, "the released memory, taken again");
  assert.ok(third.body.equals(expected));
  // A write that ends short of full leaves the hint as it was.
  const writer = new BulkRequestWriter(docs.length, Infinity, position, INDEX, hint);
  for (const document of docs.slice(0, 5)) writer.addDocument(document);
  writer.finish()[0]!.release();
  assert.equal(hint.bytes, expected.length);
  for (const request of [first, third]) request.release();
  reusedBodies.clear();
});
