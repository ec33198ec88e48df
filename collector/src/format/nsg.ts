// NSG flow log records (versions 1 and 2):
//   { time, systemId, macAddress?, category: "NetworkSecurityGroupFlowEvent", resourceId, operationName,
//     properties: { Version, flows: [ { rule, flows: [ { mac, flowTuples: ["csv", ...] } ] } ] } }
// Record-level macAddress is optional (Microsoft's docs omit it, real data has it); a rule may have an empty
// inner flows list.
import type { FlowContext } from "./flow";
import { quote } from "../safeText";
import { rejectBadMetadata, describe, isObject, optionalString, walkTuples, type RecordSink, type TupleCounter } from "./walk";

export const NSG_CATEGORY = "NetworkSecurityGroupFlowEvent";

export function walkNsgRecord(record: Record<string, unknown>, sink: RecordSink): void {
  const properties = record.properties;
  if (!isObject(properties)) {
    sink.reject(`NSG record: properties is ${describe(properties)}, expected an object`, record);
    return;
  }
  const version = properties.Version;
  if (version !== 1 && version !== 2) {
    sink.reject(`NSG record: properties.Version ${quote(version)} is not supported (expected the number 1 or 2)`, record);
    return;
  }
  const rules = properties.flows;
  if (!Array.isArray(rules)) {
    sink.reject(`NSG record: properties.flows is ${describe(rules)}, expected an array`, record);
    return;
  }
  if (rejectBadMetadata(sink, "NSG record", record, ["time", "resourceId", "macAddress"])) return;
  const recordMac = optionalString(record.macAddress);
  const base: FlowContext = {
    family: "nsg",
    version,
    recordTime: optionalString(record.time),
    resourceId: optionalString(record.resourceId),
  };
  const layout = version === 1 ? "nsg-v1" : "nsg-v2";
  const counter: TupleCounter = { next: 0 };
  rules.forEach((ruleEntry: unknown, r) => {
    const rulePath = `properties.flows[${r}]`;
    if (!isObject(ruleEntry) || !Array.isArray(ruleEntry.flows)) {
      const what = isObject(ruleEntry) ? `${rulePath}.flows is ${describe(ruleEntry.flows)}` : `${rulePath} is ${describe(ruleEntry)}`;
      sink.reject(`NSG record: ${what}, expected ${isObject(ruleEntry) ? "an array" : "an object"}`, ruleEntry);
      return;
    }
    if (rejectBadMetadata(sink, "NSG record", ruleEntry, ["rule"], `${rulePath}.`)) return;
    const rule = optionalString(ruleEntry.rule);
    ruleEntry.flows.forEach((macEntry: unknown, m) => {
      const macPath = `${rulePath}.flows[${m}]`;
      if (!isObject(macEntry)) {
        sink.reject(`NSG record: ${macPath} is ${describe(macEntry)}, expected an object`, macEntry);
        return;
      }
      if (rejectBadMetadata(sink, "NSG record", macEntry, ["mac"], `${macPath}.`)) return;
      const context: FlowContext = { ...base, rule, mac: optionalString(macEntry.mac) ?? recordMac };
      walkTuples(macEntry.flowTuples, `${macPath}.flowTuples`, layout, context, counter, sink);
    });
  });
}
