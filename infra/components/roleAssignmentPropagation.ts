// A bounded wait after role assignments are created, before anything that acts with them: Azure RBAC is eventually
// consistent, and "when you assign roles or remove role assignments, it can take up to 10 minutes for changes to
// take effect" (MicrosoftDocs azure-docs articles/role-based-access-control/troubleshooting.md, "Role assignment
// changes are not being detected"; the same bound in articles/storage/blobs/authorize-access-azure-active-directory.md).
// Until then ACI's first create fails its AcrPull image pull, and the first blob reads or flow-log writes get 403.
//
// Why a wait and not a check: the identities that need the rights are managed identities; the deploying identity
// cannot ask the registry or Blob Storage whether ANOTHER principal's assignment is effective yet (ARM answers
// for the caller only), so nothing here could poll for it. A dynamic resource is used (not @pulumi/time's Sleep)
// because it needs no extra provider plugin. It waits only when created or replaced, that is when the set of
// assignments changes; every later `pulumi up` passes it without waiting, and `pulumi preview` never waits.
import * as pulumi from "@pulumi/pulumi";

/** Microsoft's documented upper bound for a role assignment to take effect (see above). */
export const DOCUMENTED_PROPAGATION_SECONDS = 600;
/** Pulumi's marker for a value not known during preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface PropagationInputs {
  /** The role assignments' ids; a different set (a new or replaced assignment) waits again. */
  assignmentIds: string[];
  waitSeconds: number;
}

export interface PropagationOutputs extends PropagationInputs {
  /** When the wait ended (ISO 8601). */
  waitedUntil: string;
}

function sameSet(a: string[] | undefined, b: string[] | undefined): boolean {
  const sorted = (ids: string[] | undefined) => [...(ids ?? [])].map((id) => id.toLowerCase()).sort().join("\n");
  return sorted(a) === sorted(b);
}

function unknown(ids: unknown): boolean {
  return ids === UNKNOWN || (Array.isArray(ids) && ids.some((id) => id === UNKNOWN));
}

export const propagationProvider: pulumi.dynamic.ResourceProvider<PropagationInputs, PropagationOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const seconds = news.waitSeconds as unknown;
    if (seconds !== UNKNOWN && (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 0 || seconds > 3600)) {
      failures.push({ property: "waitSeconds", reason: "must be a whole number of seconds from 0 to 3600" });
    }
    if (!unknown(news.assignmentIds) && (!Array.isArray(news.assignmentIds) || news.assignmentIds.length === 0)) {
      failures.push({ property: "assignmentIds", reason: "must list at least one role assignment id" });
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces = unknown(news.assignmentIds) || !sameSet(olds.assignmentIds, news.assignmentIds) ? ["assignmentIds"] : [];
    // A changed wait alone changes nothing in Azure: recorded without waiting.
    const changes = replaces.length > 0 || olds.waitSeconds !== news.waitSeconds;
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    await new Promise<void>((done) => setTimeout(done, inputs.waitSeconds * 1000));
    const waitedUntil = new Date().toISOString();
    return { id: `role-assignments-effective-${waitedUntil}`, outs: { ...inputs, waitedUntil } };
  },

  async update(_id, olds, news) {
    return { outs: { ...news, waitedUntil: olds.waitedUntil } };
  },

  // Nothing exists in Azure: deleting it is forgetting it.
  async delete() {},
};

export interface RoleAssignmentPropagationArgs {
  assignmentIds: pulumi.Input<pulumi.Input<string>[]>;
  waitSeconds: number;
}

/** Completes `waitSeconds` after the assignments exist; depend on it instead of on the assignments. */
export class RoleAssignmentPropagation extends pulumi.dynamic.Resource {
  declare readonly waitedUntil: pulumi.Output<string>;

  constructor(name: string, args: RoleAssignmentPropagationArgs, opts: pulumi.CustomResourceOptions) {
    super(propagationProvider, name, { ...args, waitedUntil: undefined }, opts, "flowlogs", "azure:RoleAssignmentPropagation");
  }
}
