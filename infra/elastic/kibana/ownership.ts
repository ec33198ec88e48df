// What a stack is told when Kibana objects it is about to take already exist in its space: with the data stream
// namespace in every id and rule_id (./namespace.ts), they belong to the stack that writes that namespace. Taking
// them over would leave two stacks owning one set of objects, and either one's next update or destroy deletes them.

/** Who owns them, and the fix; `namespace` is undefined for state written before it was recorded. */
export function takenByAnotherStack(namespace: string | undefined, space: string): string {
  const owner = namespace === undefined ? "another stack" : `the stack that writes namespace "${namespace}"`;
  return `their owner is ${owner} in Kibana space "${space}". ` +
    "Fix: set elasticsearch.namespace to a namespace no other stack in this Kibana space uses, or destroy that stack first " +
    "(objects made by hand, or left by an interrupted `pulumi up`, can be deleted in Kibana instead)";
}
