// Long-lived conversations the demo writes besides its short random flows, so the Connections table has something
// to show: one 5-tuple reported minute after minute with its flow states, as Azure reports a connection that stays
// open (B when it begins, C while it continues, E when it ends; a denied VNet flow is D each time it is tried).
// They are ordinary traffic (web and east-west), below every detection threshold.
import type { PlantedTraffic } from "../../test/support/dataset";
import type { PlantedTuple } from "../../test/support/flowLogWriter";

export interface DemoConversation {
  what: string;
  /** The panel's row for it, known by construction: records, duration in seconds and the state sequence. */
  records: number;
  durationSeconds: number;
  states: string;
  traffic: PlantedTraffic[];
}

interface Shape {
  what: string;
  mac: string;
  tuple: Omit<PlantedTuple, "state" | "sent" | "received" | "offsetMs">;
  /** First and last minute (0-based) it is reported in; the last is cut to the written minutes. */
  from: number;
  to: number;
  /** The last minute reported is its end (E), unless the written minutes stop before. */
  ends: boolean;
}

const OFFSET_MS = 30_000; // every report half a minute into its minute: whole seconds, so NSG and VNet agree

/** The demo's conversations over `minutes` written minutes (those that fit). */
export function demoConversations(minutes: number): DemoConversation[] {
  const shapes: Shape[] = [
    {
      what: "HTTPS session 192.0.2.10:51000 -> 10.1.0.4:443 on nsg-web (NSG v2)", mac: "000D3A0B0001", from: 1, to: 57, ends: true,
      tuple: { sourceIp: "192.0.2.10", sourcePort: 51_000, destinationIp: "10.1.0.4", destinationPort: 443, rule: "UserRule_AllowWeb", deny: false },
    },
    {
      what: "east-west HTTPS 10.2.1.4:50500 -> 10.2.0.4:443 on vnet-app (VNet)", mac: "000D3A0C0001", from: 2, to: 6, ends: true,
      tuple: { sourceIp: "10.2.1.4", sourcePort: 50_500, destinationIp: "10.2.0.4", destinationPort: 443, rule: "UserRule_AllowHttps", deny: false },
    },
    {
      what: "denied SQL retries 10.2.0.5:50600 -> 10.2.1.4:1433 on vnet-app (VNet)", mac: "000D3A0C0001", from: 3, to: 5, ends: false,
      tuple: { sourceIp: "10.2.0.5", sourcePort: 50_600, destinationIp: "10.2.1.4", destinationPort: 1433, rule: "UserRule_DenySql", deny: true },
    },
  ];
  const result: DemoConversation[] = [];
  for (const shape of shapes) {
    if (shape.from > minutes - 1) continue;
    const to = Math.min(shape.to, minutes - 1);
    const ends = shape.ends && to === shape.to;
    const traffic: PlantedTraffic[] = [];
    for (let minute = shape.from; minute <= to; minute++) {
      const state = shape.tuple.deny ? undefined : minute === shape.from ? "B" : minute === to && ends ? "E" : "C";
      const counters = state === "C" || state === "E"
        ? { sent: { packets: 10 + minute, bytes: 1_000 * minute }, received: { packets: 20 + minute, bytes: 5_000 * minute } }
        : {};
      traffic.push({ minute, mac: shape.mac, tuples: [{ ...shape.tuple, offsetMs: OFFSET_MS, ...(state ? { state } : {}), ...counters }] });
    }
    const records = traffic.length;
    const continuing = records - 1 - (ends ? 1 : 0);
    const states = shape.tuple.deny
      ? (records === 1 ? "D" : `D×${records}`)
      : ["B", continuing === 1 ? "C" : continuing > 1 ? `C×${continuing}` : "", ends ? "E" : ""].filter(Boolean).join(" ");
    result.push({ what: shape.what, records, durationSeconds: (to - shape.from) * 60, states, traffic });
  }
  return result;
}
