// Values made from a flow-log context's content (its parts of the document text and of the id's hash input). Every
// minute's records repeat a NIC's resource, MAC, flow log and rules in new context objects, so the values are kept by
// content, a bounded number: the cache starts over when full rather than tracking use.
import type { FlowContext } from "../format/flow";

export class ContentCache<T> {
  private readonly values = new Map<string, T>();

  constructor(private readonly maxEntries = 4096) {}

  get(key: string, make: () => T): T {
    let value = this.values.get(key);
    if (value === undefined) {
      if (this.values.size >= this.maxEntries) this.values.clear();
      this.values.set(key, value = make());
    }
    return value;
  }
}

/** One value of a content key: length-prefixed, so no value can run into the next; "-" when absent. */
export function keyField(value: string | undefined): string {
  return value === undefined ? "-" : `${value.length}:${value}`;
}

/**
 * Whether two contexts have the same record-level content: what every group of a record shares (and the records of
 * one NIC's blob, one after another). Compared field by field, which for the same string costs a pointer check and
 * for an equal one a memory compare, instead of building and hashing a key of a few hundred characters per group.
 */
export function sameRecordFields(a: FlowContext, b: FlowContext): boolean {
  return a.resourceId === b.resourceId && a.mac === b.mac && a.flowLogId === b.flowLogId && a.flowLogGuid === b.flowLogGuid &&
    a.version === b.version && a.family === b.family;
}

/** The content key of a context's record-level fields (those sameRecordFields compares). */
export function recordFieldsKey(context: FlowContext): string {
  return `${context.family}${context.version}|${keyField(context.resourceId)}${keyField(context.mac)}` +
    `${keyField(context.flowLogId)}${keyField(context.flowLogGuid)}`;
}
