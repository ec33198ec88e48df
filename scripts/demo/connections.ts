// The demo's "Top connections" table: the dashboard's Connections panel (one row per Community ID) as text, with
// the duration the panel's formula computes and the state counts written as a sequence in lifecycle order.
import type { PanelRow } from "./panels";

/** The panel's state columns in lifecycle order, with the letter Azure's flow logs use for each. */
export const STATE_COLUMNS: Array<[column: string, letter: string]> = [["state_begin", "B"], ["state_continuing", "C"], ["state_end", "E"], ["state_deny", "D"]];

/** "B C×3 E": each state seen, in lifecycle order, with its record count when more than one; "-" for none (NSG v1). */
export function stateSequence(row: PanelRow): string {
  const parts = STATE_COLUMNS.flatMap(([column, letter]) => {
    const n = Number(row[column] ?? 0);
    return n === 0 ? [] : [n === 1 ? letter : `${letter}×${n}`];
  });
  return parts.length ? parts.join(" ") : "-";
}

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const number = (n: number) => n.toLocaleString("en-US");

/** The table's lines (header first), the first `limit` rows of the panel. */
export function connectionLines(rows: PanelRow[], limit = 10): string[] {
  const lines = [`  ${"community id".padEnd(30)} ${"records".padStart(7)}  ${"first seen".padEnd(8)}  ${"last seen".padEnd(9)} ${"duration".padStart(9)} ${"bytes sent".padStart(12)} ${"received".padStart(12)}  states`];
  if (!rows.length) lines.push("  (none)");
  for (const row of rows.slice(0, limit)) {
    lines.push(`  ${String(row.community_id).padEnd(30)} ${String(row.flows).padStart(7)}  ${hhmmss(row.first_seen as number)}  ${hhmmss(row.last_seen as number).padEnd(9)} ${`${Math.round(Number(row.duration))} s`.padStart(9)} ${number(Number(row.bytes_sent ?? 0)).padStart(12)} ${number(Number(row.bytes_received ?? 0)).padStart(12)}  ${stateSequence(row)}`);
  }
  return lines;
}
