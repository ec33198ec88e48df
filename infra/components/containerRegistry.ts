// The Azure Container Registry the collector image is pushed to, with the admin user OFF: the push authenticates
// as the identity that runs `pulumi up` (its ARM token exchanged for an ACR refresh token, as `az acr login` does),
// and the collector pulls with its managed identity (AcrPull).
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import type { RegistrySku } from "../config";

/**
 * The registry's own Entra audience. A registry can refuse ARM-audience tokens (its policy
 * `azureADAuthenticationAsArmPolicy` disabled; Azure Policy has a built-in "Configure container registries to
 * disable ARM audience token authentication", Azure/azure-policy ACR_AADAuthenticationAsArmDisabled_Modify.json);
 * tokens for this audience are accepted either way (MicrosoftDocs azure-docs
 * articles/container-registry/container-registry-disable-authentication-as-arm.md). azure-native's getClientToken
 * asks Entra for `<endpoint>/.default` (pulumi/pulumi-azure-native, provider `getClientToken`/`tokenEndpoint`).
 */
export const ACR_TOKEN_AUDIENCE = "https://containerregistry.azure.net";

/** The user name ACR expects with a refresh token obtained by token exchange (documented for `az acr login --expose-token`). */
export const ACR_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000";

export interface ContainerRegistryArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** 5-50 letters and digits, globally unique. */
  registryName: string;
  sku: RegistrySku;
  tags: Record<string, string>;
}

export class ContainerRegistry extends pulumi.ComponentResource {
  readonly registry: containerregistry.Registry;
  readonly registryId: pulumi.Output<string>;
  readonly loginServer: pulumi.Output<string>;
  /** Docker credentials of the deploying identity for this registry; secret, short-lived (never stored in the image). */
  readonly pushCredentials: pulumi.Output<{ username: string; password: string }>;

  constructor(name: string, args: ContainerRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flowlogs:azure:ContainerRegistry", name, {}, opts);
    this.registry = new containerregistry.Registry(`${name}-registry`, {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      registryName: args.registryName,
      sku: { name: args.sku },
      adminUserEnabled: false,
      anonymousPullEnabled: false,
      // ACI's managed-identity pull needs the registry's trusted-services bypass (using-azure-container-registry-mi.md).
      networkRuleBypassOptions: "AzureServices",
      tags: args.tags,
    }, { parent: this });
    this.registryId = this.registry.id;
    this.loginServer = this.registry.loginServer;

    // The deploying login's Entra token (the same login `pulumi up` uses for Azure), for the registry's audience.
    const token = authorization.getClientTokenOutput({ endpoint: ACR_TOKEN_AUDIENCE }, { parent: this }).token;
    const tenantId = authorization.getClientConfigOutput({ parent: this }).tenantId;
    this.pushCredentials = pulumi.secret(pulumi.all([this.loginServer, token, tenantId]).apply(async ([loginServer, aadToken, tenant]) => ({
      username: ACR_TOKEN_USERNAME,
      password: await exchangeForAcrRefreshToken({ loginServer, aadToken, tenant }),
    })));
    this.registerOutputs({ registryId: this.registryId, loginServer: this.loginServer });
  }
}

export interface TokenExchange {
  loginServer: string;
  aadToken: string;
  tenant?: string;
}

/**
 * POST https://<loginServer>/oauth2/exchange (grant_type=access_token) turns an Entra access token into an ACR
 * refresh token that `docker login` accepts as password with user ACR_TOKEN_USERNAME. Errors never carry a token.
 */
export async function exchangeForAcrRefreshToken(request: TokenExchange, fetchImpl: typeof fetch = fetch): Promise<string> {
  if (!request.aadToken) {
    throw new Error(`no Azure token to push to ${request.loginServer}: sign in (az login, or ARM_* / OIDC variables) before pulumi up`);
  }
  const body = new URLSearchParams({ grant_type: "access_token", service: request.loginServer, access_token: request.aadToken });
  if (request.tenant) body.set("tenant", request.tenant);
  const url = `https://${request.loginServer}/oauth2/exchange`;
  const response = await fetchImpl(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`ACR token exchange at ${url} answered HTTP ${response.status} (${text.slice(0, 300)}); the identity running ` +
      "pulumi up needs AcrPush, Contributor or Owner on the registry (Container Registry Repository Writer if the registry is in " +
      "ABAC repository-permissions mode)");
  }
  let refreshToken: unknown;
  try {
    refreshToken = (JSON.parse(text) as { refresh_token?: unknown }).refresh_token;
  } catch {
    refreshToken = undefined;
  }
  if (typeof refreshToken !== "string" || refreshToken === "") throw new Error(`ACR token exchange at ${url} answered without a refresh_token`);
  return refreshToken;
}
