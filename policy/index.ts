// The policy pack `pulumi preview --policy-pack policy` loads. The rules live in rules.ts so tests can run them
// without starting the pack's gRPC server (which the PolicyPack constructor does).
import { PolicyPack, type ResourceValidationPolicy, type StackValidationPolicy } from "@pulumi/policy";
import { resourceRules, stackRules } from "./rules";

const resourcePolicies: ResourceValidationPolicy[] = resourceRules.map((rule) => ({
  name: rule.name,
  description: rule.description,
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!rule.types.includes(args.type)) return;
    for (const message of rule.check({ type: args.type, name: args.name, inputs: args.props })) reportViolation(message);
  },
}));

const stackPolicies: StackValidationPolicy[] = stackRules.map((rule) => ({
  name: rule.name,
  description: rule.description,
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const message of rule.check(args.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.props })))) {
      reportViolation(message);
    }
  },
}));

new PolicyPack("flowlogs-to-elastic-guardrails", { policies: [...resourcePolicies, ...stackPolicies] });
