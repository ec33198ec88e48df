// The collector image built from collector/Dockerfile (build context: the repository root, where the npm lockfile
// is) and pushed to the stack's registry. Its reference carries the pushed digest, so a new build redeploys.
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";

/** The repository root: the build context collector/Dockerfile expects. */
export const REPOSITORY_ROOT = resolve(__dirname, "..", "..");
export const COLLECTOR_DOCKERFILE = resolve(REPOSITORY_ROOT, "collector", "Dockerfile");
export const COLLECTOR_REPOSITORY = "flowlogs-collector";

export interface CollectorImageArgs {
  loginServer: pulumi.Input<string>;
  pushCredentials: pulumi.Input<{ username: string; password: string }>;
  /** Azure Container Instances runs linux/amd64. */
  platform?: string;
}

export class CollectorImage extends pulumi.ComponentResource {
  readonly image: docker.Image;
  /** `<loginServer>/flowlogs-collector:latest@sha256:...` */
  readonly reference: pulumi.Output<string>;

  constructor(name: string, args: CollectorImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:CollectorImage", name, {}, opts);
    const credentials = pulumi.output(args.pushCredentials);
    this.image = new docker.Image(`${name}-image`, {
      imageName: pulumi.interpolate`${args.loginServer}/${COLLECTOR_REPOSITORY}:latest`,
      build: { context: REPOSITORY_ROOT, dockerfile: COLLECTOR_DOCKERFILE, platform: args.platform ?? "linux/amd64" },
      registry: { server: args.loginServer, username: credentials.username, password: pulumi.secret(credentials.password) },
      skipPush: false,
      // `pulumi preview` shows the build without running it (and without a token exchange for a registry not yet created).
      buildOnPreview: false,
    }, { parent: this });
    this.reference = this.image.repoDigest;
    this.registerOutputs({ reference: this.reference });
  }
}
