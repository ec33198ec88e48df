import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlowLogText } from "../../collector/src/format";
import { toBulkNdjson } from "../../collector/src/ecs";

test("toBulkNdjson writes a create action with _index and _id, then the document, newline-terminated", () => {
  const { documents } = parseFlowLogText(readFileSync(join(__dirname, "..", "fixtures", "vnet-v4.json"), "utf8"));
  const body = toBulkNdjson(documents, "logs-azure.flowlogs-default");
  assert.ok(body.endsWith("\n"));
  const lines = body.slice(0, -1).split("\n");
  assert.equal(lines.length, documents.length * 2);
  documents.forEach(({ id, doc }, i) => {
    assert.deepEqual(JSON.parse(lines[2 * i]), { create: { _index: "logs-azure.flowlogs-default", _id: id } });
    assert.deepEqual(JSON.parse(lines[2 * i + 1]), doc);
  });
});

test("toBulkNdjson of nothing is an empty body, and index names are JSON-escaped", () => {
  assert.equal(toBulkNdjson([], "x"), "");
  const { documents } = parseFlowLogText(readFileSync(join(__dirname, "..", "fixtures", "nsg-v1.json"), "utf8"));
  const first = toBulkNdjson(documents.slice(0, 1), 'odd"name').split("\n")[0];
  assert.deepEqual(JSON.parse(first), { create: { _index: 'odd"name', _id: documents[0].id } });
});
