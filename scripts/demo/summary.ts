// The demo's terminal summary. Every number comes from Elasticsearch: the dashboard panels' own searches
// (./panels), run on the demo's data stream over the simulated hour.
import type { Client } from "@elastic/elasticsearch";
import { panelRows, panelSearches, type PanelRow } from "./panels";
import { detectionsOver } from "./detections";
import { connectionLines } from "./connections";
import { externalTrafficLines } from "./external";
import { KIBANA_DEFAULTS } from "../../infra/elastic/kibana/config";
import { countedMinutes } from "../../infra/elastic/kibana/schedule";

export interface SummaryInput {
  es: Client;
  dataStream: string;
  hour: Date;
  /** Wall-clock seconds the collector ran. */
  collectorSeconds: number;
  /** What the writers wrote, printed next to what Elasticsearch holds (not used for any other number). */
  tuplesWritten: number;
  nics: string;
  /** Minutes of the hour written (detections are evaluated over them). */
  minutes: number;
  /** Sources of the planted attacks, marked as such in the detections. */
  plantedSources: string[];
}

export interface DemoSummary {
  text: string;
  documents: number;
}

const number = (n: number) => n.toLocaleString("en-US");
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

export async function demoSummary(input: SummaryInput): Promise<DemoSummary> {
  const from = input.hour.toISOString();
  const to = new Date(input.hour.getTime() + 3_600_000 - 1).toISOString();
  const panels = panelSearches(input.dataStream, { from, to }, "5m");
  const rows = async (id: string): Promise<PanelRow[]> => {
    if (!panels[id]) throw new Error(`the dashboard has no panel ${id}: update scripts/demo/summary.ts`);
    return (await panelRows(input.es, panels[id])).rows;
  };
  const [total] = await rows("flowlogs-total-flows");
  const [denied] = await rows("flowlogs-denied-flows");
  const documents = Number(total.flows);
  const lines: string[] = [];
  const out = (line = "") => lines.push(line);

  out("Azure flow logs -> Elasticsearch: demo summary");
  out(`  data stream        ${input.dataStream}`);
  out(`  simulated hour     ${from.slice(0, 16)}Z, ${input.nics}`);
  out(`  documents indexed  ${number(documents)}  (tuples written: ${number(input.tuplesWritten)}${documents === input.tuplesWritten ? ", all accounted for" : ", MISMATCH"})`);
  out(`  denied flows       ${number(Number(denied.flows))}  (${percent(Number(denied.flows), documents)})`);
  out(`  throughput         ${number(Math.round(documents / Math.max(input.collectorSeconds, 0.001)))} docs/s  (${input.collectorSeconds.toFixed(1)} s collecting)`);

  out();
  out("Allowed vs denied per 5 minutes  (# allowed, x denied)");
  const perBucket = new Map<number, { allowed: number; denied: number }>();
  for (const row of await rows("flowlogs-flows-over-time-by-action")) {
    const bucket = perBucket.get(row.timestamp as number) ?? { allowed: 0, denied: 0 };
    bucket[row.action as "allowed" | "denied"] = row.flows as number;
    perBucket.set(row.timestamp as number, bucket);
  }
  const widest = Math.max(1, ...[...perBucket.values()].map((b) => b.allowed + b.denied));
  for (const [at, { allowed, denied: no }] of [...perBucket.entries()].sort((a, b) => a[0] - b[0])) {
    const bar = "#".repeat(Math.round((allowed / widest) * 50)) + "x".repeat(Math.round((no / widest) * 50));
    out(`  ${hhmm(at)}  ${bar.padEnd(50)}  ${number(allowed).padStart(7)} allowed ${number(no).padStart(6)} denied`);
  }

  const table = (title: string, id: string, key: string, value: string, label = (k: PanelRow[string]) => String(k)) => async () => {
    out();
    out(title);
    const found = await rows(id);
    if (!found.length) out("  (none)");
    for (const row of found) out(`  ${label(row[key]).padEnd(36)} ${number(row[value] as number).padStart(9)}`);
  };
  await table("Top 10 sources (flows)", "flowlogs-top-source-ips", "source_ip", "flows")();
  await table("Top 10 destinations (flows)", "flowlogs-top-destination-ips", "destination_ip", "flows")();
  await table("Top 10 destination ports (flows)", "flowlogs-top-destination-ports", "destination_port", "flows")();
  await table("Denied flows by rule", "flowlogs-denied-flows-by-rule", "rule", "flows")();

  out();
  out("Flows by NSG / VNet");
  for (const row of await rows("flowlogs-flows-by-resource")) {
    out(`  ${`${row.resource} (${row.action})`.padEnd(36)} ${number(row.flows as number).padStart(9)}`);
  }
  out();
  out("Bytes by direction (sent + received, where the flow log carries counters)");
  const bytes = new Map<string, number>();
  for (const row of await rows("flowlogs-bytes-over-time-by-direction")) {
    bytes.set(row.direction as string, (bytes.get(row.direction as string) ?? 0) + Number(row.bytes ?? 0));
  }
  for (const [direction, sum] of bytes) out(`  ${direction.padEnd(36)} ${megabytes(sum).padStart(9)}`);

  const t = KIBANA_DEFAULTS;
  out();
  out(`Detections that would fire (the declared rules' own searches every ${t.interval}, each over ${countedMinutes(t)} minutes ending ${t.lateArrivalMinutes} minutes before the run, default thresholds;`);
  out("  bucket_selector/stats_bucket left out of each search and their conditions applied to the buckets in code, as the test");
  out("  Elasticsearch lacks the module that provides them: the same alerts)");
  const detections = await detectionsOver(input.es, input.dataStream, input.hour, new Date(input.hour.getTime() + input.minutes * 60_000));
  if (!detections.length) out("  (none)");
  for (const d of detections) {
    const planted = input.plantedSources.includes(d.group) ? "  [planted]" : "";
    out(`  ${d.rule.padEnd(12)} ${d.group.padEnd(16)} ${String(d.peak).padStart(6)} ${d.unit}  (first at ${hhmm(d.firstMs)}Z, ${d.alerts} alert${d.alerts === 1 ? "" : "s"}, found by ${d.runs} run${d.runs === 1 ? "" : "s"})${planted}`);
  }

  out();
  out("Rule hits (every rule per resource)");
  out(`  ${"resource".padEnd(12)} ${"rule".padEnd(36)} ${"allowed".padStart(8)} ${"denied".padStart(8)} ${"bytes".padStart(10)}  last hit`);
  for (const row of await rows("flowlogs-rule-hits")) {
    out(`  ${String(row.resource).padEnd(12)} ${String(row.rule).padEnd(36)} ${number(row.allowed as number).padStart(8)} ${number(row.denied as number).padStart(8)} ${megabytes(Number(row.bytes ?? 0)).padStart(10)}  ${row.last_hit === null ? "-" : hhmm(row.last_hit as number)}`);
  }

  out();
  out("Top connections (per Community ID, by flow records; duration = last seen - first seen; states in lifecycle order: B begin, C continuing, E end, D denied)");
  for (const line of connectionLines(await rows("flowlogs-connections"))) out(line);
  out();
  const written = new Date(input.hour.getTime() + input.minutes * 60_000);
  for (const line of await externalTrafficLines(input.es, input.dataStream, input.hour, written, rows)) out(line);
  return { text: `${lines.join("\n")}\n`, documents };
}

function percent(part: number, whole: number): string {
  return whole ? `${((part / whole) * 100).toFixed(1)} %` : "-";
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
