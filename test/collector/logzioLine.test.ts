// The Logz.io line written into the document's JSON text (collector/src/sink/logzioLine.ts) must be exactly what
// the former recipe gave, JSON.stringify({ ...doc, event: { ...doc.event, id } }), for real documents and for
// documents built to trip a text scanner (braces, quotes, escapes and `"event":` inside strings; an event that
// already has an id; no event at all).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseFlowLogText } from "../../collector/src/format";
import { identifiedDocument } from "../../collector/src/ecs";
import type { IdentifiedDocument } from "../../collector/src/model";
import { logzioLine } from "../../collector/src/sink/logzioLine";
import { costDataset } from "../../scripts/bench/costDataset";

const former = ({ id, doc }: IdentifiedDocument): string => JSON.stringify({ ...doc, event: { ...doc.event, id } });

test("the id goes into event as the object recipe put it, for every fixture document", () => {
  const dir = join(__dirname, "..", "fixtures");
  let documents = 0;
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    let parsed;
    try {
      parsed = parseFlowLogText(readFileSync(join(dir, name), "utf8"));
    } catch {
      continue; // not a flow-log document at all
    }
    for (const document of parsed.documents) {
      assert.equal(logzioLine(document), former(document), `${name} ${document.id}`);
      documents++;
    }
  }
  assert.ok(documents >= 21, `${documents} documents compared`);
});

test("the same over generated VNet blobs with the bench's traffic mix (13,200 documents)", async () => {
  const dataset = await costDataset();
  for (const { blob } of dataset.blobs.slice(0, 2)) {
    for (const document of parseFlowLogText(blob.text()).documents) {
      // Written from the text alone: the object is never asked for (that would be the re-parse this avoids).
      const textOnly = { id: document.id, source: document.source, get doc(): never { throw new Error("parsed again"); } };
      assert.equal(logzioLine(textOnly), former(document), document.id);
    }
  }
});

test("strings that look like JSON, an event with an id already, an empty event and none at all: the object recipe's text", () => {
  const base = parseFlowLogText(readFileSync(join(__dirname, "..", "fixtures", "vnet-v4.json"), "utf8")).documents[0]!.doc;
  const tricky = ['"event":{"id":1}', "}", "{", '\\"', '\\', "\u2028", "]}", '","id":"x'];
  const variants: Array<Record<string, unknown>> = [
    ...tricky.map((text) => ({ ...base, rule: { name: text }, event: { ...base.event, action: text } })),
    ...tricky.map((text) => ({ [`"event"${text}`]: text, ...base })),
    { ...base, event: { ...base.event, id: "already" } },
    { ...base, event: {} },
    { ...base, event: { nested: { id: "deeper", event: { id: 1 } }, list: [{ id: 2 }] } },
    Object.fromEntries(Object.entries(base).filter(([key]) => key !== "event")),
    { ...base, event: "not an object" },
    { ...base, event: null },
    { ...base, event: [1, 2] },
  ];
  for (const [i, doc] of variants.entries()) {
    const document = identifiedDocument(`id-${i}-"quoted"`, doc as never);
    assert.equal(logzioLine(document), former(document), `variant ${i}: ${document.source.slice(0, 120)}`);
  }
});
