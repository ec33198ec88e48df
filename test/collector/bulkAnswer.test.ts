// Reading all-created `_bulk` answers without parsing them (sink/bulkAnswer.ts): the shortcut must agree with
// JSON.parse whenever it answers, and leave every other text to the client's parser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Serializer } from "@elastic/elasticsearch";
import { allCreatedItems, BulkAnswerSerializer } from "../../collector/src/sink/bulkAnswer";

const created = '{"create":{"status":201}}';
const answer = (items: string[]): string => `{"items":[${items.join(",")}]}`;

test("an answer that created every document is read as JSON.parse reads it, for 1, 2 and 2,000 items", () => {
  for (const count of [1, 2, 2000]) {
    const json = answer(Array(count).fill(created));
    const items = allCreatedItems(json);
    assert.ok(items, `${count} items`);
    assert.deepEqual(items, JSON.parse(json).items);
  }
});

test("any other answer is left to the parser: other statuses, errors, whitespace, other keys, broken text", () => {
  const others = [
    answer([created, '{"create":{"status":409}}', created]),
    answer([created, '{"create":{"status":200}}']),
    answer(['{"index":{"status":201}}']),
    answer([created, '{"create":{"status":400,"error":{"type":"document_parsing_exception","reason":"x"}}}']),
    answer([]),
    `{"items":[${created}, ${created}]}`,
    `{"items":[${created};${created}]}`, // the comma replaced
    `{"items":[${created},${created},]}`,
    `{"errors":false,"items":[${created}]}`,
    `{ "items":[${created}]}`,
    `{"items":[${created}]} `,
    `{"items":[${created}${created}`,
    "",
    "{}",
  ];
  for (const json of others) assert.equal(allCreatedItems(json), undefined, json);
});

test("a text as long as an all-created answer but different anywhere is not taken for one", () => {
  const json = answer(Array(5).fill(created));
  for (let at = 0; at < json.length; at++) {
    const changed = json.slice(0, at) + (json[at] === "1" ? "2" : "1") + json.slice(at + 1);
    assert.equal(allCreatedItems(changed), undefined, changed);
  }
});

test("the shared item cannot be changed by whoever reads it", () => {
  const items = allCreatedItems(answer([created, created]))!;
  assert.equal(items[0], items[1]);
  assert.ok(Object.isFrozen(items[0]) && Object.isFrozen(items[0]!.create));
});

test("the serializer reads every other body as the client's own does, its options included", () => {
  const bodies = [answer([created, '{"create":{"status":409}}']), '{"hits":{"hits":[]}}', '{"__proto__":{"polluted":true}}'];
  for (const options of [{}, { enablePrototypePoisoningProtection: true }]) {
    const ours = new BulkAnswerSerializer(options);
    const theirs = new Serializer(options);
    for (const body of bodies) {
      let expected: unknown;
      try {
        expected = theirs.deserialize(body);
      } catch (error) {
        assert.throws(() => ours.deserialize(body), { name: (error as Error).name, message: (error as Error).message });
        continue;
      }
      assert.deepEqual(ours.deserialize(body), expected);
    }
  }
  assert.deepEqual(new BulkAnswerSerializer().deserialize(answer([created])), { items: [{ create: { status: 201 } }] });
  assert.throws(() => new BulkAnswerSerializer().deserialize('{"items":['), { name: "DeserializationError" });
});
