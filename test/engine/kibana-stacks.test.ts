// Two stacks, namespaces dev and prod, on ONE Kibana space, under the REAL Pulumi engine: the case of one Elastic
// deployment for every environment. Each stack's program reads its `kibana` block as infra/index.ts does
// (readKibanaConfig for the stack's namespace, flowlogsKibanaArgs) and declares FlowlogsKibana; the engine runs the
// dynamic providers from the serialized code against the Kibana double (test/kibana/support/fakeKibana.ts, held to
// Kibana's rules: per-space saved objects, 409 on a detection rule_id the space already has). Without namespaced
// ids the second `up` fails on that 409, a refresh of the first stack finds its objects overwritten, and destroying
// one stack deletes the other's dashboard and data views.
// Each stack has its own temp state; both run in this process (the program is inline, no module is re-imported).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { FlowlogsKibana } from "../../infra/elastic/kibana";
import { flowlogsKibanaArgs, readKibanaConfig } from "../../infra/elastic/kibana/config";
import { pulumiCli } from "../support/env";
import { FakeKibana } from "../kibana/support/fakeKibana";
import { engineStack, type EngineStack } from "./support/engineStack";

const API_KEY = Buffer.from(`kibana-key-id:kibana-secret-${randomBytes(9).toString("hex")}`).toString("base64");
const SPACE = "netops";
const TIMEOUT = 180_000;
const NAMESPACES = ["dev", "prod"] as const;
type Namespace = typeof NAMESPACES[number];
const RULE_IDS = ["flowlogs-host-sweep", "flowlogs-new-destination-asn", "flowlogs-new-destination-country", "flowlogs-port-scan"];

describe("two stacks on one Kibana space under the real Pulumi engine (Kibana by its contract double)", { timeout: TIMEOUT * 4 }, () => {
  let kibana: FakeKibana;
  const stacks = new Map<Namespace, EngineStack>();
  const destroyed = new Set<Namespace>();

  /** A stack of this project whose program is FlowlogsKibana in `namespace`, on the double's space. */
  async function kibanaStack(stackName: string, namespace: string): Promise<EngineStack> {
    const engine = await engineStack({
      projectName: "flowlogs-to-elastic",
      stackName,
      program: async () => {
        const config = new pulumi.Config();
        const problems: string[] = [];
        const ns = config.require("namespace");
        const settings = readKibanaConfig(config.requireObject("kibana"), (key, text) => problems.push(`${key}: ${text}`), ns);
        if (!settings || problems.length) throw new Error(`config problems:\n${problems.join("\n")}`);
        const args = flowlogsKibanaArgs(settings, { apiKey: config.requireSecret("kibanaApiKey") });
        const component = new FlowlogsKibana("elastic-kibana", { ...args, namespace: ns });
        return { dashboardPath: component.dashboardPath };
      },
    });
    await engine.stack.setAllConfig({
      namespace: { value: namespace },
      "kibana.url": { value: kibana.url },
      "kibana.space": { value: SPACE },
      kibanaApiKey: { value: API_KEY, secret: true },
    }, true);
    return engine;
  }

  before(async () => {
    pulumiCli();
    kibana = await new FakeKibana({ apiKey: API_KEY, spaces: [SPACE] }).start();
    for (const namespace of NAMESPACES) stacks.set(namespace, await kibanaStack(namespace, namespace));
  });

  after(async () => {
    for (const [namespace, engine] of stacks) {
      if (!destroyed.has(namespace)) await engine.stack.destroy({ signal: engine.signal }).catch(() => undefined);
      await engine.close();
    }
    await kibana?.stop();
  });

  const space = () => kibana.spaces.get(SPACE)!;
  const own = (namespace: Namespace) => ({
    objects: [...space().objects.values()].filter((o) => o.id.endsWith(`-${namespace}`)),
    connectors: [...space().connectors.values()].filter((c) => c.name.endsWith(` [${namespace}]`)),
    rules: [...space().rules.values()].filter((r) => r.name.endsWith(` [${namespace}]`)),
    detectionRules: RULE_IDS.map((id) => space().detectionRules.get(`${id}-${namespace}`)).filter(Boolean),
  });

  test("contract: dev and prod both come up in the same space, each with its own objects reading only its namespace", { timeout: TIMEOUT }, async () => {
    const dashboardPaths: string[] = [];
    for (const namespace of NAMESPACES) {
      const engine = stacks.get(namespace)!;
      const result = await engine.stack.up({ signal: engine.signal }); // throws with the engine's output on a failed up
      assert.equal(result.summary.result, "succeeded", `${namespace} up`);
      dashboardPaths.push(result.outputs.dashboardPath!.value);
    }
    assert.deepEqual(dashboardPaths, NAMESPACES.map((namespace) => `/app/dashboards#/view/flowlogs-overview-${namespace}`));
    const files = 20; // dashboards/kibana
    assert.equal(space().objects.size, 2 * files, "both stacks' saved objects, none shared");
    for (const namespace of NAMESPACES) {
      const mine = own(namespace);
      const stream = `logs-azure.flowlogs-${namespace}`;
      assert.equal(mine.objects.length, files, `${namespace}: every saved object carries the namespace`);
      const dataViews = mine.objects.filter((o) => o.type === "index-pattern").map((o) => o.attributes.title).sort();
      assert.deepEqual(dataViews, [`flowlogs-alerts-${namespace}`, stream]);
      for (const object of mine.objects) {
        for (const ref of object.references) assert.ok(ref.id.endsWith(`-${namespace}`), `${object.type}/${object.id} -> ${ref.type}/${ref.id}`);
      }
      assert.deepEqual(mine.connectors.map((c) => c.config.index), [`flowlogs-alerts-${namespace}`]);
      assert.equal(mine.rules.length, 2, `${namespace}: denied-flows and brute-force rules`);
      for (const rule of mine.rules) assert.deepEqual(rule.params.index, [stream], rule.name);
      assert.equal(mine.detectionRules.length, 4, `${namespace}: its four detection rule_ids`);
      for (const rule of mine.detectionRules) assert.deepEqual(rule.index, [stream], rule.rule_id);
    }
    assert.equal(space().connectors.size + space().rules.size + space().detectionRules.size, 2 * (1 + 2 + 4), "nothing else");
  });

  test("contract: a refresh of either stack finds its objects as it left them (the other stack's up changed none)", { timeout: TIMEOUT }, async () => {
    for (const namespace of NAMESPACES) {
      const engine = stacks.get(namespace)!;
      const refresh = await engine.stack.refresh({ expectNoChanges: true, signal: engine.signal });
      assert.equal(refresh.summary.result, "succeeded", `${namespace} refresh`);
    }
  });

  const contents = () => JSON.stringify([space().objects, space().connectors, space().rules, space().detectionRules].map((m) => [...m.entries()]));
  /** The refusal a stack gets for taking dev's namespace: at preview, and at up before anything changes. */
  const devIsTaken = (error: Error) => {
    assert.match(error.message, /saved objects \S+-dev, .* already exist and this stack did not import them, so this stack stops before importing them; their owner is the stack that writes namespace "dev" in Kibana space "netops"/);
    assert.match(error.message, /Fix: set elasticsearch\.namespace to a namespace no other stack in this Kibana space uses, or destroy that stack first/);
    return true;
  };

  test("contract: a brand-new stack on dev's namespace fails its preview, and its up changes nothing, naming the namespace and the fix", { timeout: TIMEOUT }, async () => {
    const before = contents();
    const staging = await kibanaStack("staging", "dev");
    try {
      await assert.rejects(staging.stack.preview({ signal: staging.signal }), devIsTaken);
      await assert.rejects(staging.stack.up({ signal: staging.signal }), devIsTaken);
      assert.equal(contents(), before, "no object, connector or rule of dev (or prod) was changed or deleted");
      const kept = ((await staging.stack.exportStack()).deployment.resources ?? []).filter((r: any) => /:kibana:/.test(r.type));
      assert.deepEqual(kept, [], "the new stack holds none of dev's objects, connectors or rules");
    } finally {
      await staging.close();
    }
    // dev still sees its objects as it left them.
    const dev = stacks.get("dev")!;
    await dev.stack.refresh({ expectNoChanges: true, signal: dev.signal });
  });

  test("contract: moving prod to dev's namespace fails at preview and stops before anything changes, naming the namespace and the fix; prod keeps every rule", { timeout: TIMEOUT }, async () => {
    const before = contents();
    const prod = stacks.get("prod")!;
    await prod.stack.setConfig("namespace", { value: "dev" });
    try {
      await assert.rejects(prod.stack.preview({ signal: prod.signal }), devIsTaken);
      await assert.rejects(prod.stack.up({ signal: prod.signal }), devIsTaken);
      assert.equal(contents(), before, "no object, connector or rule of either stack was changed or deleted");
      assert.equal(own("prod").detectionRules.length, 4, "prod keeps its detection rules");
    } finally {
      await prod.stack.setConfig("namespace", { value: "prod" });
    }
    // Back on its own namespace, prod's state and Kibana agree: nothing to do.
    await prod.stack.preview({ expectNoChanges: true, signal: prod.signal });
  });

  /** What a stack's state says it has in Kibana, as keys of the double's space; present() says which are there. */
  async function inState(namespace: Namespace): Promise<string[]> {
    const state = await stacks.get(namespace)!.stack.exportStack();
    return (state.deployment.resources ?? []).flatMap((r: any): string[] => {
      if (r.type.endsWith(":kibana:SavedObjects")) return r.outputs.objects.map((key: string) => `object ${key}`);
      if (r.type.endsWith(":kibana:Connector")) return [`connector ${r.id}`];
      if (r.type.endsWith(":kibana:Rule")) return [`rule ${r.id}`];
      if (r.type.endsWith(":kibana:DetectionRule")) return [`detection ${r.id}`];
      return [];
    }).sort();
  }
  const present = (key: string): boolean => {
    const [kind, id] = key.split(" ");
    const store = { object: space().objects, connector: space().connectors, rule: space().rules, detection: space().detectionRules }[kind]!;
    return store.has(id);
  };

  test("contract: destroying dev leaves every prod object in place, and prod still sees no drift", { timeout: TIMEOUT }, async () => {
    const [devOwned, prodOwned] = [await inState("dev"), await inState("prod")];
    const prodVersions = prodOwned.filter((k) => k.startsWith("object ")).map((k) => space().objects.get(k.slice(7))!.version);
    const dev = stacks.get("dev")!;
    const result = await dev.stack.destroy({ signal: dev.signal });
    destroyed.add("dev");
    assert.equal(result.summary.result, "succeeded");
    assert.deepEqual(devOwned.filter(present), [], "dev's are gone");
    assert.deepEqual(prodOwned.filter((key) => !present(key)), [], "prod's are all there");
    assert.equal(prodOwned.length, 20 + 1 + 2 + 4, "prod's saved objects, connector, rules and detection rules");
    assert.deepEqual(prodOwned.filter((k) => k.startsWith("object ")).map((k) => space().objects.get(k.slice(7))!.version), prodVersions, "and untouched");
    const left = [...space().objects.keys()].length + space().connectors.size + space().rules.size + space().detectionRules.size;
    assert.equal(left, prodOwned.length, "nothing else is left in the space");
    const prod = stacks.get("prod")!;
    assert.equal((await prod.stack.refresh({ expectNoChanges: true, signal: prod.signal })).summary.result, "succeeded");
  });
});
