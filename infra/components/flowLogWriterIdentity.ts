// When shared-key access is off, Network Watcher writes flow logs with a user-assigned managed identity that holds
// Storage Blob Data Contributor on the flow-log account.
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import { RoleAssignmentPropagation } from "./roleAssignmentPropagation";
import { STORAGE_BLOB_DATA_CONTRIBUTOR } from "./builtInRoles";

export interface FlowLogWriterIdentityArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** The storage account id: the role assignment's scope. */
  storageAccountId: pulumi.Input<string>;
  /** How long a new assignment is given to take effect before the flow logs that write with it are created. */
  roleAssignmentWaitSeconds: number;
  tags: Record<string, string>;
}

export class FlowLogWriterIdentity extends pulumi.ComponentResource {
  readonly identity: managedidentity.UserAssignedIdentity;
  readonly roleAssignment: authorization.RoleAssignment;
  /** Depending on this component waits for it too: Azure accepts the flow log only once the role is effective. */
  readonly propagation: RoleAssignmentPropagation;
  readonly identityId: pulumi.Output<string>;

  constructor(name: string, args: FlowLogWriterIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:FlowLogWriterIdentity", name, {}, opts);
    this.identity = new managedidentity.UserAssignedIdentity(`${name}-identity`, {
      resourceGroupName: args.resourceGroupName,
      resourceName: "flowlog-writer",
      location: args.location,
      tags: args.tags,
    }, { parent: this });
    const subscriptionId = pulumi.output(args.storageAccountId).apply((id) => id.split("/")[2]);
    this.roleAssignment = new authorization.RoleAssignment(`${name}-blob-writer`, {
      scope: args.storageAccountId,
      principalId: this.identity.principalId,
      // A new identity may not have replicated yet; the principal type skips the lookup that would fail.
      principalType: "ServicePrincipal",
      roleDefinitionId: pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${STORAGE_BLOB_DATA_CONTRIBUTOR}`,
      description: "Network Watcher writes flow logs with this identity",
    }, { parent: this });
    this.propagation = new RoleAssignmentPropagation(`${name}-propagation`, {
      assignmentIds: [this.roleAssignment.id],
      waitSeconds: args.roleAssignmentWaitSeconds,
    }, { parent: this, dependsOn: [this.roleAssignment] });
    this.identityId = this.identity.id;
    this.registerOutputs({ identityId: this.identityId, roleAssignmentId: this.roleAssignment.id });
  }
}
