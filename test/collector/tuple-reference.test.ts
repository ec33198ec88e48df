// The tuple parser reads fields by their commas instead of splitting (#12): it must accept, type and refuse exactly
// what the split-based parser did, with the same error messages. Compared over generated good tuples and over
// mutations of them (wrong field counts, empty, signed, padded, overlong, non-ASCII and non-digit fields).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTuple, type TupleLayout } from "../../collector/src/format/tuple";
import { splitParseTuple } from "../support/splitTupleReference";
import { mulberry32 } from "../support/flowLogWriter";

function outcome(parse: (text: string, layout: TupleLayout) => unknown, text: string, layout: TupleLayout): unknown {
  try {
    return { ok: parse(text, layout) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const random = mulberry32(7);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const ODD = ["", "0", "00", "-1", "+1", " 1", "1 ", "1.5", "1e3", "0x1F", "٣", "１", "65535", "65536", "255", "256", "999999", "000443", "0000255",
  "9007199254740991", "9007199254740992", "000000000000000000001", "1".repeat(400), "NaN", "Infinity", "\u0000", "\"", "I", "O",
  "A", "D", "B", "C", "E", "T", "U", "X", "NX_FALLBACK", "nx!", "10.0.0.1", "::1", "1700000000", "1700000000000",
  "W".repeat(64), "W".repeat(65), "NX\u00e9", "NX\u{1F600}", "Z_z9"];

function goodTuple(layout: TupleLayout): string[] {
  const ip = () => pick(["10.0.0.1", "192.0.2.9", "2001:db8::1", "::ffff:10.0.0.1"]);
  const port = () => String(Math.floor(random() * 65536));
  const counter = () => pick(["", "0", "17", String(Math.floor(random() * 2 ** 50))]);
  if (layout === "vnet-v4") {
    return ["1700000000123", ip(), ip(), port(), port(), pick(["6", "17", "1", "0", "255"]), pick(["I", "O"]), pick(["B", "C", "E", "D"]),
      pick(["", "X", "NX"]), counter(), counter(), counter(), counter()];
  }
  const v1 = ["1700000000", ip(), ip(), port(), port(), pick(["T", "U"]), pick(["I", "O"]), pick(["A", "D"])];
  return layout === "nsg-v1" ? v1 : [...v1, pick(["B", "C", "E"]), counter(), counter(), counter(), counter()];
}

test("comma-scanning tuple parser: same tuples and same error messages as the split-based parser", () => {
  let good = 0;
  let refused = 0;
  for (const layout of ["nsg-v1", "nsg-v2", "vnet-v4"] as const) {
    for (let n = 0; n < 4000; n++) {
      const fields = goodTuple(layout);
      if (n % 4 !== 0) fields[Math.floor(random() * fields.length)] = pick(ODD);
      if (n % 29 === 0) fields.splice(Math.floor(random() * fields.length), 1);
      if (n % 31 === 0) fields.push(pick(ODD));
      const text = fields.join(",");
      const expected = outcome(splitParseTuple, text, layout);
      assert.deepEqual(outcome(parseTuple, text, layout), expected, `${layout} ${JSON.stringify(text)}`);
      if ("ok" in (expected as object)) good++;
      else refused++;
    }
  }
  assert.ok(good > 3000 && refused > 3000, `${good} parsed, ${refused} refused`);
});

// The document and id writers quote a parsed tuple's text and addresses as they are (ecs/documentId.ts,
// ecs/documentJson.ts): that holds only while nothing the parser accepts has a character JSON escapes.
const ESCAPED = ["\"", "\\", "\u0000", "\n", "\u001f", "\ud800", "é"];

test("nothing the parser accepts needs JSON escaping: its text and addresses are quoted as they are", () => {
  let accepted = 0;
  for (const layout of ["nsg-v1", "nsg-v2", "vnet-v4"] as const) {
    for (let n = 0; n < 4000; n++) {
      const fields = goodTuple(layout);
      const at = Math.floor(random() * fields.length);
      // One character JSON would escape put into, before or after one field (addresses with a zone index too).
      const odd = pick(ESCAPED);
      fields[at] = pick([`${odd}${fields[at]}`, `${fields[at]}${odd}`, `fe80::1%${odd}`, `fe80::1%eth0${odd}`, fields[at]!]);
      const text = fields.join(",");
      const result = outcome(parseTuple, text, layout) as { ok?: { sourceIp: string; destinationIp: string; encryption?: string } };
      if (!result.ok) continue;
      accepted++;
      for (const value of [text, result.ok.sourceIp, result.ok.destinationIp, result.ok.encryption ?? ""]) {
        assert.equal(JSON.stringify(value), `"${value}"`, `${layout} ${JSON.stringify(text)}`);
      }
    }
  }
  assert.ok(accepted > 2000, `${accepted} accepted`);
});
