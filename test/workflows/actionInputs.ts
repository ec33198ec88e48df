// The inputs each action we use declares in its action.yml, at the major version we pin (contract data read
// from the actions' published action.yml files). A `with:` key outside these is a typo GitHub would only warn
// about at run time.
export interface ActionContract {
  inputs: string[];
  required: string[];
}

export const actionContracts: Record<string, ActionContract> = {
  "actions/checkout@v4": {
    inputs: ["repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user", "persist-credentials",
      "path", "clean", "filter", "sparse-checkout", "sparse-checkout-cone-mode", "fetch-depth", "fetch-tags",
      "show-progress", "lfs", "submodules", "set-safe-directory", "github-server-url"],
    required: [],
  },
  "actions/setup-node@v4": {
    inputs: ["always-auth", "node-version", "node-version-file", "architecture", "check-latest", "registry-url", "scope",
      "token", "cache", "cache-dependency-path", "mirror", "mirror-token"],
    required: [],
  },
  "actions/setup-java@v4": {
    inputs: ["java-version", "java-version-file", "distribution", "java-package", "architecture", "jdkFile", "check-latest",
      "server-id", "server-username", "server-password", "settings-path", "overwrite-settings", "gpg-private-key",
      "gpg-passphrase", "cache", "cache-dependency-path", "job-status", "token", "mvn-toolchain-id", "mvn-toolchain-vendor"],
    required: ["distribution"],
  },
  "pulumi/auth-actions@v1": {
    inputs: ["organization", "requested-token-type", "scope", "token-expiration", "export-environment-variables", "cloud-url"],
    required: ["organization"],
  },
  "pulumi/actions@v6": {
    inputs: ["command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
      "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel", "message",
      "config-map", "expect-no-changes", "diff", "replace", "target", "target-dependents", "policyPacks",
      "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan",
      "suppress-outputs", "suppress-progress", "always-include-summary"],
    required: ["command", "stack-name"],
  },
};
