// Values made from a flow-log context's content (its parts of the document text and of the id's hash input). Every
// minute's records repeat a NIC's resource, MAC, flow log and rules in new context objects, so the values are kept by
// content, a bounded number: the cache starts over when full rather than tracking use.
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
