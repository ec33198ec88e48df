// The collector's user-assigned managed identity and the least it may do: read the flow-log containers, write its
// own checkpoint container (leases and checkpoint blobs), pull its image. Every assignment is scoped to a single
// container or registry, never to the account or the resource group.
//
// The image pull gets two roles because a registry honours one or the other, by its role assignment mode (ACR docs,
// container-registry-rbac-abac-repository-permissions.md): the default "RBAC Registry Permissions" mode only AcrPull
// (the repository roles have no effect there), "RBAC Registry + ABAC Repository Permissions" only the repository
// roles (AcrPull is not honoured). ACR says the ABAC mode will become the default, and azure-native's registry API
// version cannot state the mode; both roles only read, so the pull works in either mode without asking which.
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import { RoleAssignmentPropagation } from "./roleAssignmentPropagation";
import { ACR_PULL, ACR_REPOSITORY_READER, STORAGE_BLOB_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_READER } from "./builtInRoles";

export interface CollectorIdentityArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** Container ids to read, by container name. */
  readContainerIds: Record<string, pulumi.Input<string>>;
  /** The checkpoint container's id. */
  checkpointContainerId: pulumi.Input<string>;
  /** The registry the image is pulled from; absent for a public image. */
  registryId?: pulumi.Input<string>;
  /** How long new assignments are given to take effect before the container group (image pull, reads) starts. */
  roleAssignmentWaitSeconds: number;
  tags: Record<string, string>;
}

export class CollectorIdentity extends pulumi.ComponentResource {
  readonly identity: managedidentity.UserAssignedIdentity;
  readonly roleAssignments: authorization.RoleAssignment[];
  /** Depending on this component waits for it too, so the group's first pull and reads find the roles effective. */
  readonly propagation: RoleAssignmentPropagation;
  readonly identityId: pulumi.Output<string>;
  readonly clientId: pulumi.Output<string>;

  constructor(name: string, args: CollectorIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:CollectorIdentity", name, {}, opts);
    this.identity = new managedidentity.UserAssignedIdentity(`${name}-identity`, {
      resourceGroupName: args.resourceGroupName,
      resourceName: "flowlogs-collector",
      location: args.location,
      tags: args.tags,
    }, { parent: this });

    const assign = (logicalName: string, scope: pulumi.Input<string>, role: string, description: string) =>
      new authorization.RoleAssignment(`${name}-${logicalName}`, {
        scope,
        principalId: this.identity.principalId,
        // A new identity may not have replicated yet; the principal type skips the lookup that would fail.
        principalType: "ServicePrincipal",
        roleDefinitionId: roleDefinitionId(scope, role),
        description,
      }, { parent: this });

    this.roleAssignments = [
      ...Object.entries(args.readContainerIds).map(([container, id]) =>
        assign(`read-${container}`, id, STORAGE_BLOB_DATA_READER, `The flow-log collector reads ${container}`)),
      assign("checkpoints", args.checkpointContainerId, STORAGE_BLOB_DATA_CONTRIBUTOR, "The flow-log collector keeps its checkpoints and leases here"),
      ...(args.registryId ? [
        assign("acr-pull", args.registryId, ACR_PULL, "The flow-log collector's container group pulls its image"),
        assign("acr-repository-read", args.registryId, ACR_REPOSITORY_READER,
          "The flow-log collector's container group pulls its image (registries in ABAC repository-permissions mode)"),
      ] : []),
    ];
    this.propagation = new RoleAssignmentPropagation(`${name}-propagation`, {
      assignmentIds: this.roleAssignments.map((assignment) => assignment.id),
      waitSeconds: args.roleAssignmentWaitSeconds,
    }, { parent: this, dependsOn: this.roleAssignments });
    this.identityId = this.identity.id;
    this.clientId = this.identity.clientId;
    this.registerOutputs({ identityId: this.identityId, clientId: this.clientId });
  }
}

/** `/subscriptions/<scope's subscription>/providers/Microsoft.Authorization/roleDefinitions/<guid>`. */
function roleDefinitionId(scope: pulumi.Input<string>, role: string): pulumi.Output<string> {
  return pulumi.output(scope).apply((id) => `/subscriptions/${id.split("/")[2]}/providers/Microsoft.Authorization/roleDefinitions/${role}`);
}
