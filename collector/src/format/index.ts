export { parseRecords, parseFlowLogText, FlowLogFormatError } from "./parse";
export { parseTuple, TupleError, type TupleLayout } from "./tuple";
export type { FlowContext, FlowCounters, FlowTuple, ParsedFlow, Direction, Decision, FlowState } from "./flow";
