// VNet flow log records (flowLogVersion 4):
//   { time, flowLogVersion, flowLogGUID, macAddress, category: "FlowLogFlowEvent", flowLogResourceID,
//     targetResourceID, operationName, flowRecords: { flows: [ { aclID, flowGroups: [ { rule, flowTuples } ] } ] } }
// aclID and rule may be "unspecified" (traffic denied for encryption); rule names may carry GUID suffixes. Both are
// kept as written.
import type { FlowContext } from "./flow";
import { quote } from "../safeText";
import { rejectBadMetadata, describe, isObject, optionalString, walkTuples, type RecordSink, type TupleCounter } from "./walk";

export const VNET_CATEGORY = "FlowLogFlowEvent";

export function walkVnetRecord(record: Record<string, unknown>, sink: RecordSink): void {
  const version = record.flowLogVersion;
  if (version !== 4) {
    sink.reject(`VNet record: flowLogVersion ${quote(version)} is not supported (expected the number 4)`, record);
    return;
  }
  const flowRecords = record.flowRecords;
  const acls = isObject(flowRecords) ? flowRecords.flows : undefined;
  if (!Array.isArray(acls)) {
    const what = isObject(flowRecords) ? `flowRecords.flows is ${describe(acls)}` : `flowRecords is ${describe(flowRecords)}`;
    sink.reject(`VNet record: ${what}, expected ${isObject(flowRecords) ? "an array" : "an object"}`, record);
    return;
  }
  if (rejectBadMetadata(sink, "VNet record", record, ["time", "targetResourceID", "macAddress", "flowLogResourceID", "flowLogGUID"])) return;
  const base: FlowContext = {
    family: "vnet",
    version,
    recordTime: optionalString(record.time),
    resourceId: optionalString(record.targetResourceID),
    mac: optionalString(record.macAddress),
    flowLogId: optionalString(record.flowLogResourceID),
    flowLogGuid: optionalString(record.flowLogGUID),
  };
  const counter: TupleCounter = { next: 0 };
  acls.forEach((acl: unknown, a) => {
    const aclPath = `flowRecords.flows[${a}]`;
    if (!isObject(acl) || !Array.isArray(acl.flowGroups)) {
      const what = isObject(acl) ? `${aclPath}.flowGroups is ${describe(acl.flowGroups)}` : `${aclPath} is ${describe(acl)}`;
      sink.reject(`VNet record: ${what}, expected ${isObject(acl) ? "an array" : "an object"}`, acl);
      return;
    }
    if (rejectBadMetadata(sink, "VNet record", acl, ["aclID"], `${aclPath}.`)) return;
    const aclId = optionalString(acl.aclID);
    acl.flowGroups.forEach((group: unknown, g) => {
      const groupPath = `${aclPath}.flowGroups[${g}]`;
      if (!isObject(group)) {
        sink.reject(`VNet record: ${groupPath} is ${describe(group)}, expected an object`, group);
        return;
      }
      if (rejectBadMetadata(sink, "VNet record", group, ["rule"], `${groupPath}.`)) return;
      const context: FlowContext = { ...base, aclId, rule: optionalString(group.rule) };
      walkTuples(group.flowTuples, `${groupPath}.flowTuples`, "vnet-v4", context, counter, sink);
    });
  });
}
