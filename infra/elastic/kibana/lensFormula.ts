// What Kibana computes in the browser after a Lens search answers: a formula column's value is its math column's,
// and a math column evaluates its tinymath AST over the values of the columns it names (Lens persists a formula as
// the formula column, hidden "Part of ..." helper columns with the aggregations, and one math column). Only the
// arithmetic the dashboards use is evaluated; anything else fails naming it, rather than giving a different number.
import type { Column } from "./lensQuery";

type TinymathNode = number | string | { type: "function"; name: string; args: TinymathNode[] } | { type: "variable"; value: string };

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  subtract: (a, b) => a - b,
  multiply: (a, b) => a * b,
  divide: (a, b) => a / b,
};

/** The formula's hidden helper columns (every column a formula or math column references, transitively). */
export function formulaHelperColumns(columns: Record<string, Column>): Set<string> {
  const helpers = new Set<string>();
  const visit = (id: string) => {
    for (const ref of columns[id]?.references ?? []) {
      if (!helpers.has(ref)) { helpers.add(ref); visit(ref); }
    }
  };
  for (const [id, column] of Object.entries(columns)) if (column.operationType === "formula") visit(id);
  return helpers;
}

/**
 * Fills in the formula and math columns of one row whose aggregation columns hold the search's values (dates as
 * epoch milliseconds, as Elasticsearch's min/max answer them). A missing operand makes the result null, as in Lens.
 */
export function evaluateFormulas(columns: Record<string, Column>, row: Record<string, unknown>, where = "lens"): void {
  const value = (id: string, seen: string[]): number | null => {
    const column = columns[id];
    if (!column) throw new Error(`${where}: a formula references "${id}", which is not a column`);
    if (seen.includes(id)) throw new Error(`${where}: formula columns reference each other in a cycle (${[...seen, id].join(" -> ")})`);
    if (column.operationType === "formula") {
      const [math] = column.references ?? [];
      if (!math) throw new Error(`${where}: formula column "${id}" references no column`);
      return value(math, [...seen, id]);
    }
    if (column.operationType === "math") return evaluate(column.params?.tinymathAst, [...seen, id]);
    const v = row[id];
    return typeof v === "number" ? v : v === null || v === undefined ? null : Number.NaN;
  };
  const evaluate = (node: TinymathNode, seen: string[]): number | null => {
    if (typeof node === "number") return node;
    if (typeof node === "string") return value(node, seen);
    if (node && node.type === "variable") return value(node.value, seen);
    if (node && node.type === "function") {
      const op = ARITHMETIC[node.name];
      if (!op || node.args.length !== 2) throw new Error(`${where}: tinymath function "${node.name}" with ${node.args?.length} arguments is not supported here`);
      const [a, b] = node.args.map((arg) => evaluate(arg, seen));
      return a === null || b === null ? null : op(a, b);
    }
    throw new Error(`${where}: cannot evaluate tinymath node ${JSON.stringify(node)}`);
  };
  for (const [id, column] of Object.entries(columns)) {
    if (column.operationType === "formula" || column.operationType === "math") row[id] = value(id, []);
  }
}
