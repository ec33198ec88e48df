// The Log Analytics workspace traffic analytics writes into: an existing one (looked up for its GUID and region, or
// described in config when it is in another subscription) or a new one in the stack's resource group.
import * as pulumi from "@pulumi/pulumi";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";

export type TrafficAnalyticsWorkspaceArgs = {
  location: string;
  tags: Record<string, string>;
} & (
  | { create: true; resourceGroupName: pulumi.Input<string>; workspaceName: string }
  | { create: false; resourceId: string; resourceGroupName: string; workspaceName: string; known?: { guid: string; region: string } }
);

export class TrafficAnalyticsWorkspace extends pulumi.ComponentResource {
  /** ARM id of the workspace. */
  readonly resourceId: pulumi.Output<string>;
  /** The workspace GUID (`customerId`), which the flow log's `workspaceId` wants. */
  readonly workspaceGuid: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;
  readonly workspace?: operationalinsights.Workspace;

  constructor(name: string, args: TrafficAnalyticsWorkspaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:TrafficAnalyticsWorkspace", name, {}, opts);
    if (args.create) {
      this.workspace = new operationalinsights.Workspace(`${name}-workspace`, {
        resourceGroupName: args.resourceGroupName,
        workspaceName: args.workspaceName,
        location: args.location,
        sku: { name: "PerGB2018" },
        retentionInDays: 30,
        tags: args.tags,
      }, { parent: this });
      this.resourceId = this.workspace.id;
      this.workspaceGuid = this.workspace.customerId;
      this.region = this.workspace.location.apply((l) => l ?? args.location);
    } else if (args.known) {
      // Described in config: a workspace of another subscription, which the look-up below could not reach.
      this.resourceId = pulumi.output(args.resourceId);
      this.workspaceGuid = pulumi.output(args.known.guid);
      this.region = pulumi.output(args.known.region);
    } else {
      const existing = operationalinsights.getWorkspaceOutput(
        { resourceGroupName: args.resourceGroupName, workspaceName: args.workspaceName }, { parent: this });
      this.resourceId = pulumi.output(args.resourceId);
      this.workspaceGuid = existing.customerId;
      this.region = existing.location;
    }
    this.registerOutputs({ resourceId: this.resourceId, workspaceGuid: this.workspaceGuid, region: this.region });
  }
}
