// Reads this project's namespace from the Pulumi config and validates it with `parseConfig`. A bad config ends
// the run with one `RunError` (Pulumi prints its message without a stack trace) before any resource is declared.
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { ConfigError, SECRET_KEYS, parseConfig, type InfraConfig } from "./config";

export function loadStackConfig(): InfraConfig {
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  try {
    return parseConfig(rawProjectConfig(project), { project, stack, secretKeys: secretProjectKeys(project), deploySubscriptionId: deploySubscriptionId() });
  } catch (error) {
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** `{ key: value }` for every `<project>:key`; structured values arrive as JSON text, plain strings as-is. */
export function rawProjectConfig(project: string, all: Record<string, string> = pulumi.runtime.allConfig()): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const prefix = `${project}:`;
  for (const [fullKey, text] of Object.entries(all)) {
    if (!fullKey.startsWith(prefix)) continue;
    raw[fullKey.slice(prefix.length)] = decode(text);
  }
  return raw;
}

function decode(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Which of this project's secret-only keys Pulumi holds as secrets. `isConfigSecret` is exported by the SDK's
 * runtime but marked internal; without it nothing is reported (the check only guards against plain-text keys).
 */
function secretProjectKeys(project: string): string[] | undefined {
  const isConfigSecret = (runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (typeof isConfigSecret !== "function") return undefined;
  return SECRET_KEYS.filter((key) => isConfigSecret(`${project}:${key}`));
}

/** The subscription the azure-native provider deploys into, when its config or environment names it. */
function deploySubscriptionId(all: Record<string, string> = pulumi.runtime.allConfig()): string | undefined {
  return all["azure-native:subscriptionId"] || process.env.ARM_SUBSCRIPTION_ID || undefined;
}
