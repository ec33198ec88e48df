// ElasticsearchWriterKeyCheck: with elasticsearch.writerKey.external the collector's key is made by a person, so the
// stack asks Elasticsearch, authenticated AS that key, whether it holds every privilege a minted key would get
// (`_has_privileges` for writerRoleDescriptors). A missing privilege would otherwise surface only in the running
// collector. The call changes nothing, so it runs in `check`: at preview and at every up, even with no input changed.
// A preview may run where the cluster is out of reach (a CI runner outside its IP filter, no route to a private
// endpoint): that says nothing about the key, so `check` then records "not checked yet" and the preview goes on,
// and `create`/`update` (which run at up only, and before the collector gets the key) ask again and fail if they
// still cannot ask.
import * as pulumi from "@pulumi/pulumi";
import { callElasticsearch, checkConnection, describeError, ElasticsearchConnection, ElasticsearchError, Failure, UNKNOWN } from "./client";
import { writerRoleDescriptors } from "./writerApiKeyResource";
import { checkNamespace } from "../../../collector/src/sink/dataStreams";

export interface WriterKeyCheckInputs {
  /** Where the cluster is, authenticated as the collector's key (or user): the identity whose privileges are asked. */
  connection: ElasticsearchConnection;
  namespace: string;
  dedupeAcrossBackingIndices?: boolean;
  /** Set by `check`: what the check found, e.g. that the cluster has no security to ask. */
  verdict?: string;
}

interface RoleDescriptor { cluster?: string[]; indices?: Array<{ names: string[]; privileges: string[] }> }

/** The `_has_privileges` body asking for exactly what the role descriptors grant. */
export function hasPrivilegesRequest(roleDescriptors: Record<string, unknown>): { cluster: string[]; index: Array<{ names: string[]; privileges: string[] }> } {
  const roles = Object.values(roleDescriptors) as RoleDescriptor[];
  return {
    cluster: roles.flatMap((role) => role.cluster ?? []),
    index: roles.flatMap((role) => (role.indices ?? []).map(({ names, privileges }) => ({ names, privileges }))),
  };
}

export const HOLDS_ALL = "holds every privilege of the writer role";

/** The verdict, or the problem to report: why the key cannot serve the collector and how to make one that can. */
export async function checkWriterKeyPrivileges(inputs: WriterKeyCheckInputs): Promise<{ verdict: string } | { problem: string }> {
  const dedupe = inputs.dedupeAcrossBackingIndices === true;
  const fix = "Make the key with the request `npm run writer-key -- --namespace " +
    `${inputs.namespace}${dedupe ? " --dedupe-across-backing-indices" : ""}\` prints, then ` +
    "`pulumi config set --secret collectorEsApiKey <its encoded value>`";
  // POST: Elasticsearch serves GET and POST alike here, and fetch sends no body with GET.
  const answer = await callElasticsearch(inputs.connection, {
    method: "POST", path: "/_security/user/_has_privileges", json: hasPrivilegesRequest(writerRoleDescriptors(inputs.namespace, dedupe)), accept: [400, 401],
  });
  if (answer.status === 400 && typeof answer.body?.error === "string" && /no handler found for uri \[\/_security\//.test(answer.body.error)) {
    // Security off: no security REST API is registered, and Elasticsearch takes any key (or none) for writes.
    return { verdict: "not checked: security is off on this cluster (it has no _security API), so it accepts any key" };
  }
  if (answer.status === 401) {
    return { problem: `Elasticsearch refused the secret collectorEsApiKey (HTTP 401: ${describeError(answer.body)}): the key is wrong, ` +
      `expired, invalidated or from another cluster, so the collector could write nothing. ${fix}.` };
  }
  if (answer.status !== 200) throw new Error(`POST /_security/user/_has_privileges answered HTTP ${answer.status}: ${describeError(answer.body)}`);
  const missing: string[] = [];
  const cluster = Object.entries<boolean>(answer.body?.cluster ?? {}).filter(([, held]) => held !== true).map(([name]) => name);
  if (cluster.length) missing.push(`cluster ${cluster.join(", ")}`);
  for (const [index, privileges] of Object.entries<Record<string, boolean>>(answer.body?.index ?? {})) {
    const lacking = Object.entries(privileges).filter(([, held]) => held !== true).map(([name]) => name);
    if (lacking.length) missing.push(`${lacking.join(", ")} on ${index}`);
  }
  if (missing.length === 0 && answer.body?.has_all_requested === true) return { verdict: HOLDS_ALL };
  return { problem: `the secret collectorEsApiKey (elasticsearch.writerKey.external) lacks privileges the collector needs: ` +
    `${missing.join("; ") || "Elasticsearch says has_all_requested: false"}. The collector would fail on its first write` +
    `${dedupe ? " or dedupe look-up" : ""}. ${fix}.` };
}

/** The start of the verdict of a check that could not reach the cluster; the diff then differs, so `up` asks again. */
export const NOT_REACHED = "not checked yet: Elasticsearch could not be reached";

/** The verdict at up: the key must hold the privileges, and the cluster must answer. */
async function requireWriterKeyPrivileges(inputs: WriterKeyCheckInputs): Promise<WriterKeyCheckInputs> {
  const result = await checkWriterKeyPrivileges(inputs);
  if ("problem" in result) throw new Error(result.problem);
  return { ...inputs, verdict: result.verdict };
}

export const writerKeyCheckProvider: pulumi.dynamic.ResourceProvider<WriterKeyCheckInputs, WriterKeyCheckInputs> = {
  async check(_olds, news) {
    const failures: Failure[] = checkConnection(news.connection);
    if (news.namespace !== UNKNOWN) {
      try { checkNamespace(news.namespace); } catch (error) { failures.push({ property: "namespace", reason: (error as Error).message }); }
    }
    const known = (value: unknown) => value !== UNKNOWN && value !== undefined;
    const connection = news.connection;
    if (failures.length || !known(connection) || !known(connection.url) || !known(connection.apiKey ?? connection.password) ||
      news.dedupeAcrossBackingIndices === (UNKNOWN as unknown)) {
      return { inputs: news, failures };
    }
    let result;
    try {
      result = await checkWriterKeyPrivileges(news);
    } catch (error) {
      // Status 0: no HTTP answer at all (refused, unresolvable, timed out); any answer is still a finding.
      if (!(error instanceof ElasticsearchError) || error.status !== 0) throw error;
      const verdict = `${NOT_REACHED} here (${error.message}); \`pulumi up\` checks the key before the collector gets it`;
      // Required here, not imported: a captured @pulumi/pulumi module would carry the stack's config into the state.
      const { log }: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
      await log.warn(`collectorEsApiKey: ${verdict}`);
      return { inputs: { ...news, verdict }, failures: [] };
    }
    if ("problem" in result) return { inputs: news, failures: [{ property: "connection", reason: result.problem }] };
    return { inputs: { ...news, verdict: result.verdict }, failures: [] };
  },

  async diff(_id, olds, news) {
    const changes = ["connection", "namespace", "dedupeAcrossBackingIndices", "verdict"]
      .some((key) => JSON.stringify((olds as any)[key] ?? null) !== JSON.stringify((news as any)[key] ?? null));
    return { changes, replaces: [], deleteBeforeReplace: false };
  },

  async create(inputs) {
    return { id: `writer-key-check-${inputs.namespace}`, outs: await requireWriterKeyPrivileges(inputs) };
  },

  async update(_id, _olds, news) {
    return { outs: await requireWriterKeyPrivileges(news) };
  },

  // Nothing to delete: the key belongs to whoever made it; the stack only looked at it.
};

export interface ElasticsearchWriterKeyCheckArgs {
  /** The cluster, authenticated as the collector's key. */
  connection: pulumi.Input<ElasticsearchConnection>;
  namespace: pulumi.Input<string>;
  dedupeAcrossBackingIndices?: pulumi.Input<boolean>;
}

export class ElasticsearchWriterKeyCheck extends pulumi.dynamic.Resource {
  declare readonly verdict: pulumi.Output<string>;

  constructor(name: string, args: ElasticsearchWriterKeyCheckArgs, opts?: pulumi.CustomResourceOptions) {
    super(writerKeyCheckProvider, name, {
      connection: pulumi.secret(args.connection),
      namespace: args.namespace,
      dedupeAcrossBackingIndices: args.dedupeAcrossBackingIndices ?? false,
      verdict: undefined,
    }, { ...opts, additionalSecretOutputs: ["connection"] }, "flowlogs", "elasticsearch:WriterKeyCheck");
  }
}
