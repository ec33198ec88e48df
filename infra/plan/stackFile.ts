// Turns Pulumi.yaml + Pulumi.<stack>.yaml into the flat config the Pulumi CLI would hand the program: declared
// project defaults first, stack values over them, structures as JSON text, encrypted values as "[secret]".
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export interface StackConfig {
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
}

export interface StackFileOptions {
  stack: string;
  /** Folder holding Pulumi.yaml (and, unless `configFile` is given, Pulumi.<stack>.yaml). */
  dir: string;
  /** Explicit stack settings file. */
  configFile?: string;
}

export function loadStackConfigFiles(options: StackFileOptions): StackConfig {
  const projectFile = join(options.dir, "Pulumi.yaml");
  const project = readYaml(projectFile) as { name?: unknown; config?: Record<string, unknown> } | null;
  if (!project || typeof project.name !== "string") throw new Error(`${projectFile}: no project \`name\``);
  const stackFile = options.configFile ?? join(options.dir, `Pulumi.${options.stack}.yaml`);
  if (!existsSync(stackFile)) {
    throw new Error(`${stackFile} does not exist: create it (\`pulumi stack init ${options.stack}\`, then \`pulumi config set ...\`) or pass --config-file`);
  }
  const stackSettings = readYaml(stackFile) as { config?: Record<string, unknown> } | null;
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const qualify = (key: string): string => (key.includes(":") ? key : `${project.name}:${key}`);

  for (const [key, declaration] of Object.entries(project.config ?? {})) {
    // Project config is either a bare value or a declaration { type, description, default } / { value }.
    const isDeclaration = declaration !== null && typeof declaration === "object" && !Array.isArray(declaration);
    const value = isDeclaration ? ((declaration as Record<string, unknown>).value ?? (declaration as Record<string, unknown>).default) : declaration;
    if (value !== undefined) config[qualify(key)] = encode(value);
  }
  for (const [key, value] of Object.entries(stackSettings?.config ?? {})) {
    const fullKey = qualify(key);
    const hidden = hideSecure(value, [fullKey.slice(fullKey.indexOf(":") + 1)]);
    config[fullKey] = encode(hidden.value);
    if (hidden.found) secretKeys.push(fullKey);
  }
  return { project: project.name, stack: options.stack, config, secretKeys };
}

/**
 * Encrypted values (`secure: v1:...`), also nested in structured config, cannot be decrypted offline: each is stood in
 * by "[secret]", or, at a path that must hold a URL whose secrecy is its point (SECRET_URL_PATHS), by a URL the config
 * check takes. `path`: the key without its namespace, then the nested keys down to `value`.
 */
function hideSecure(value: unknown, path: string[]): { value: unknown; found: boolean } {
  if (value === null || typeof value !== "object") return { value, found: false };
  if (!Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value) {
    return { value: SECRET_URL_PATHS.includes(path.join(".")) ? SECRET_URL_STAND_IN : "[secret]", found: true };
  }
  let found = false;
  const walk = (item: unknown, itemPath: string[]) => {
    const result = hideSecure(item, itemPath);
    found ||= result.found;
    return result.value;
  };
  const copy = Array.isArray(value) ? value.map((item, i) => walk(item, [...path, String(i)]))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
  return { value: copy, found };
}

/**
 * Keys kept encrypted because the URL is the credential (Slack's and Teams' webhooks carry their token). Other URLs
 * (the clusters') are read as "[secret]", which the config check refuses, rather than passed unchecked.
 */
const SECRET_URL_PATHS = ["kibana.alert.webhook.url"];

/** What the plan reads for an encrypted URL (`pulumi config set --secret --path kibana.alert.webhook.url ...`). */
export const SECRET_URL_STAND_IN = "https://secret.invalid/";

function encode(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function readYaml(path: string): unknown {
  try {
    return parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
