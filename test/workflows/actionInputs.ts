// The inputs each action we use declares in its action.yml, at the major version we pin, and the runtime it
// declares (`runs.using`). Contract data read from the actions' own action.yml at these tags (fetched from
// github.com/actions/checkout, actions/setup-node, actions/setup-java, pulumi/auth-actions, pulumi/actions on
// 2026-12-01). A `with:` key outside these is a typo GitHub would only warn about at run time; `required` is what
// action.yml marks required (pulumi/actions v7 marks none and checks `command` itself at run time).
export interface ActionContract {
  inputs: string[];
  required: string[];
  /** `runs.using` in action.yml: GitHub runs JavaScript actions on this Node.js. */
  runsOn: string;
}

export const actionContracts: Record<string, ActionContract> = {
  "actions/checkout@v6": {
    inputs: ["repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user", "persist-credentials",
      "path", "clean", "filter", "sparse-checkout", "sparse-checkout-cone-mode", "fetch-depth", "fetch-tags",
      "show-progress", "lfs", "submodules", "set-safe-directory", "github-server-url", "allow-unsafe-pr-checkout"],
    required: [],
    runsOn: "node24",
  },
  "actions/setup-node@v6": {
    inputs: ["node-version", "node-version-file", "architecture", "check-latest", "registry-url", "scope", "token", "cache",
      "package-manager-cache", "cache-dependency-path", "mirror", "mirror-token"],
    required: [],
    runsOn: "node24",
  },
  "actions/setup-java@v5": {
    inputs: ["java-version", "java-version-file", "distribution", "java-package", "architecture", "jdk-file", "jdkFile",
      "check-latest", "set-default", "verify-signature", "verify-signature-public-key", "server-id", "server-username",
      "server-password", "settings-path", "overwrite-settings", "gpg-private-key", "gpg-passphrase", "cache",
      "cache-dependency-path", "job-status", "token", "mvn-toolchain-id", "mvn-toolchain-vendor", "show-download-progress"],
    required: [],
    runsOn: "node24",
  },
  "pulumi/auth-actions@v2": {
    inputs: ["organization", "requested-token-type", "scope", "token-expiration", "export-environment-variables", "cloud-url"],
    required: ["organization"],
    runsOn: "node24",
  },
  "pulumi/actions@v7": {
    inputs: ["command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
      "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel", "message",
      "config-map", "expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target", "target-dependents",
      "policyPacks", "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color", "exclude-protected",
      "plan", "suppress-outputs", "suppress-progress", "always-include-summary", "continue-on-error", "log-verbosity",
      "log-flow", "debug"],
    required: [],
    runsOn: "node24",
  },
};

/** The Node.js runtime GitHub moves JavaScript actions to (Node 20 actions are deprecated on its runners). */
export const ACTIONS_RUNTIME = "node24";
