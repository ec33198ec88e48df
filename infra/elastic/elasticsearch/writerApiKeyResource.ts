// ElasticsearchWriterApiKey: the collector's API key, `POST /_security/api_key` with one role limited to
// `auto_configure` + `create_doc` on the namespace's two data streams (flows and dead letters), plus `read` on the
// flow data stream only when the sink's `dedupeAcrossBackingIndices` is on. It must be minted with USER credentials:
// Elasticsearch gives a key made with an API key no privileges at all, so `check` refuses an API-key connection.
// Rotation: any change of expiration, rotation, name or privileges (including a role this code now defines
// differently from the one the key was minted with) REPLACES the key. Pulumi's default order
// (deleteBeforeReplace: false) creates the new key, updates what depends on it (the collector), then deletes the
// old resource, whose `delete` invalidates the old key: the collector never holds an invalidated key.
import * as pulumi from "@pulumi/pulumi";
import { checkNamespace, deadLetterDataStream, flowDataStream } from "../../../collector/src/sink/dataStreams";
import { sameJson } from "../kibana/compare";
import { callElasticsearch, checkConnection, ElasticsearchConnection, ElasticsearchError, Failure, UNKNOWN } from "./client";

export interface WriterApiKeyInputs {
  connection: ElasticsearchConnection;
  /** Key name shown in Stack Management > API keys. */
  name: string;
  /** Data stream namespace the collector writes to. */
  namespace: string;
  /** e.g. "90d"; omitted: the key never expires (Elasticsearch's default). Changing it mints a new key. */
  expiration?: string;
  /** Any token (e.g. "2026-11"); changing it mints a new key and invalidates the old one. */
  rotation?: string;
  /** Adds `read`, which the sink's `dedupeAcrossBackingIndices` needs to look ids up across backing indices. */
  dedupeAcrossBackingIndices?: boolean;
}

export interface WriterApiKeyOutputs extends WriterApiKeyInputs {
  keyId: string;
  /** base64 `id:api_key`, for `Authorization: ApiKey <encoded>`. Secret. */
  encoded: string;
  /** Epoch milliseconds, or 0 when the key does not expire. */
  expiresAt: number;
  /** The role descriptors the key was minted with (no secret in them). */
  roleDescriptors: Record<string, unknown>;
  /** The user who minted it (absent in state written before this was recorded). */
  mintedBy?: string;
}

/** The one role of the writer key: least privilege on exactly the namespace's data streams. */
export function writerRoleDescriptors(namespace: string, dedupeAcrossBackingIndices = false): Record<string, unknown> {
  const flows = flowDataStream(namespace);
  return {
    flowlogs_writer: {
      cluster: [],
      indices: [
        { names: [flows, deadLetterDataStream(namespace)], privileges: ["auto_configure", "create_doc"] },
        // The sink's one read is the dedupe look-up, a search of the flow data stream (ElasticsearchSink.alreadyIndexed):
        // dead letters are written, never read back, so the key cannot read them.
        ...(dedupeAcrossBackingIndices ? [{ names: [flows], privileges: ["read"] }] : []),
      ],
    },
  };
}

/**
 * The `POST /_security/api_key` body of the writer key: what this resource sends, and what a person sends where the
 * stack cannot mint it (`npm run writer-key`, for elasticsearch.writerKey.external).
 */
export function writerKeyRequest(key: { name: string; namespace: string; expiration?: string; dedupeAcrossBackingIndices?: boolean; metadata?: Record<string, unknown> }): Record<string, unknown> {
  return {
    name: key.name,
    ...(key.expiration ? { expiration: key.expiration } : {}),
    role_descriptors: writerRoleDescriptors(key.namespace, key.dedupeAcrossBackingIndices),
    metadata: { purpose: "flowlogs-to-elastic collector writer", namespace: key.namespace, ...key.metadata },
  };
}

/**
 * A key call as any key's manager first, then, when Elasticsearch refuses it (403), as the key's owner (`owner: true`):
 * a deployer with only `manage_own_api_key` may get or invalidate keys by id only that way
 * (ManageOwnApiKeyClusterPrivilege), while one with `manage_api_key` also reaches a key another user minted.
 */
async function asOwnerIfRefused<T>(call: (owner: boolean) => Promise<T>): Promise<{ answer: T; asOwner: boolean }> {
  try {
    return { answer: await call(false), asOwner: false };
  } catch (error) {
    if (error instanceof ElasticsearchError && error.status === 403) return { answer: await call(true), asOwner: true };
    throw error;
  }
}

/**
 * Asked as its owner, Elasticsearch answers for the caller's own keys only: "not found" is the truth only when the
 * caller is the user who minted the key. Another deployer user (a changed `elasticsearchUsername`) would otherwise
 * drop a live key from the state or "invalidate" nothing, and the key would stay valid.
 */
function notFoundAsOwner(id: string, props: WriterApiKeyOutputs, doing: string): void {
  const user = props.connection?.username;
  if (props.mintedBy !== undefined && props.mintedBy === user) return;
  throw new Error(`cannot ${doing} the collector's writer API key ${id}: the user this stack authenticates as (${user ?? "?"}) ` +
    `${props.mintedBy ? `did not mint it (${props.mintedBy} did)` : "may not be the user who minted it"}, and with only ` +
    "manage_own_api_key Elasticsearch shows a user its own keys alone, so the key may still be valid. Authenticate as the " +
    "user who minted it (elasticsearchUsername/elasticsearchPassword), or give this user manage_api_key, and run again");
}

function checkInputs(news: WriterApiKeyInputs): Failure[] {
  const failures = checkConnection(news.connection);
  const connection = news.connection;
  if ((connection as unknown) !== UNKNOWN && connection && typeof connection === "object" && connection.apiKey) {
    failures.push({
      property: "connection",
      reason: "the writer key must be minted with user credentials (username + password): Elasticsearch gives an API key " +
        "created with another API key no privileges at all. Set elasticsearchUsername and the secret elasticsearchPassword " +
        "for a user with manage_own_api_key (and the index privileges the key grants).",
    });
  }
  const known = (v: unknown) => v !== UNKNOWN;
  if (known(news.name) && (typeof news.name !== "string" || !news.name.trim())) {
    failures.push({ property: "name", reason: "name is required (it is what people see in Stack Management > API keys)" });
  }
  if (known(news.namespace)) {
    try { checkNamespace(news.namespace); } catch (error) { failures.push({ property: "namespace", reason: (error as Error).message }); }
  }
  if (news.expiration !== undefined && known(news.expiration) && (typeof news.expiration !== "string" || !/^[1-9]\d*(d|h|m|s)$/.test(news.expiration))) {
    failures.push({ property: "expiration", reason: `"${news.expiration}" is not a duration: use a whole number and d/h/m/s, e.g. "90d", or omit it for a key that never expires` });
  }
  if (news.rotation !== undefined && known(news.rotation) && typeof news.rotation !== "string") {
    failures.push({ property: "rotation", reason: "rotation must be a string (any value; change it to mint a new key)" });
  }
  if (news.dedupeAcrossBackingIndices !== undefined && known(news.dedupeAcrossBackingIndices) && typeof news.dedupeAcrossBackingIndices !== "boolean") {
    failures.push({ property: "dedupeAcrossBackingIndices", reason: "must be true or false" });
  }
  return failures;
}

/** Inputs whose change means a different key: they are baked into the key when it is minted. */
const MINTED = ["name", "namespace", "expiration", "rotation", "dedupeAcrossBackingIndices"] as const;

export const writerApiKeyProvider: pulumi.dynamic.ResourceProvider<WriterApiKeyInputs, WriterApiKeyOutputs> = {
  async check(_olds, news) {
    return { inputs: news, failures: checkInputs(news) };
  },

  async diff(_id, olds, news) {
    const replaces: string[] = MINTED.filter((key) => (olds[key] ?? null) !== (news[key] ?? null) && news[key] !== UNKNOWN);
    if ((news.connection as unknown) === UNKNOWN || news.connection?.url === UNKNOWN) {
      return { changes: true, replaces, deleteBeforeReplace: false };
    }
    // A key minted with other privileges (an older release's role) is replaced: create-before-delete, as above.
    if (replaces.length === 0 && news.namespace !== UNKNOWN && (news.dedupeAcrossBackingIndices as unknown) !== UNKNOWN &&
      !sameJson(olds.roleDescriptors, writerRoleDescriptors(news.namespace, news.dedupeAcrossBackingIndices))) {
      replaces.push("roleDescriptors");
    }
    // Another cluster means another key; new credentials for the same cluster do not.
    if (olds.connection?.url.replace(/\/+$/, "") !== news.connection?.url.replace(/\/+$/, "")) replaces.push("connection");
    const changes = replaces.length > 0 || !sameJson(olds.connection, news.connection);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const request = writerKeyRequest({ ...inputs, metadata: { managed_by: "pulumi", rotation: inputs.rotation ?? null } });
    const roleDescriptors = request.role_descriptors as Record<string, unknown>;
    const answer = await callElasticsearch(inputs.connection, { method: "POST", path: "/_security/api_key", json: request });
    const body = answer.body ?? {};
    const encoded = typeof body.encoded === "string" && body.encoded
      ? body.encoded
      : body.id && body.api_key ? Buffer.from(`${body.id}:${body.api_key}`).toString("base64") : "";
    if (!body.id || !encoded) throw new Error("Elasticsearch created an API key but its answer has no id/encoded key");
    return {
      id: String(body.id),
      outs: { ...inputs, keyId: String(body.id), encoded, expiresAt: Number(body.expiration ?? 0), roleDescriptors, mintedBy: inputs.connection.username },
    };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const { answer, asOwner } = await asOwnerIfRefused((owner) => callElasticsearch(props.connection, {
      method: "GET", path: `/_security/api_key?id=${encodeURIComponent(id)}${owner ? "&owner=true" : ""}`, accept: [404],
    }));
    const key = answer.status === 404 ? undefined : (answer.body?.api_keys ?? []).find((k: any) => k.id === id);
    if (!key && asOwner) notFoundAsOwner(id, props as WriterApiKeyOutputs, "refresh");
    const expired = key?.expiration && Number(key.expiration) <= Date.now();
    // Invalidated, expired or deleted: the key is gone for the collector; the next `up` mints a new one.
    if (!key || key.invalidated === true || expired) return { id: "" };
    return { id, props: { ...props, name: key.name ?? props.name, expiresAt: Number(key.expiration ?? 0) } };
  },

  async update(_id, _olds, news) {
    // Only the admin connection (e.g. a changed password) can change without a new key; nothing to send.
    return { outs: { ...(_olds as WriterApiKeyOutputs), ...news } };
  },

  async delete(id, props) {
    // Invalidate, so a leaked or replaced key stops working at once. An unknown id is already gone.
    const { answer, asOwner } = await asOwnerIfRefused((owner) => callElasticsearch(props.connection, {
      method: "DELETE", path: "/_security/api_key", json: { ids: [id], ...(owner ? { owner: true } : {}) }, accept: [404],
    }));
    const matched = [...(answer.body?.invalidated_api_keys ?? []), ...(answer.body?.previously_invalidated_api_keys ?? [])].includes(id);
    if (asOwner && !matched) notFoundAsOwner(id, props as WriterApiKeyOutputs, "invalidate");
    const errors = answer.body?.error_details ?? [];
    if (answer.status !== 404 && answer.body?.error_count > 0 && !(answer.body?.invalidated_api_keys ?? []).includes(id) &&
      !errors.every((e: any) => /not found|does not exist/i.test(String(e?.reason)))) {
      throw new Error(`Elasticsearch did not invalidate API key ${id}: ${errors.map((e: any) => e?.reason).join("; ")}`);
    }
  },
};

export interface ElasticsearchWriterApiKeyArgs {
  connection: pulumi.Input<ElasticsearchConnection>;
  namespace: pulumi.Input<string>;
  name?: pulumi.Input<string>;
  expiration?: pulumi.Input<string>;
  rotation?: pulumi.Input<string>;
  dedupeAcrossBackingIndices?: pulumi.Input<boolean>;
}

export class ElasticsearchWriterApiKey extends pulumi.dynamic.Resource {
  declare readonly keyId: pulumi.Output<string>;
  /** Secret: the value for the collector's `Authorization: ApiKey` header. */
  declare readonly encoded: pulumi.Output<string>;
  declare readonly expiresAt: pulumi.Output<number>;

  constructor(name: string, args: ElasticsearchWriterApiKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(writerApiKeyProvider, name, {
      connection: pulumi.secret(args.connection),
      name: args.name ?? pulumi.output(args.namespace).apply((ns) => `flowlogs-collector-${ns}`),
      namespace: args.namespace,
      expiration: args.expiration,
      rotation: args.rotation,
      dedupeAcrossBackingIndices: args.dedupeAcrossBackingIndices ?? false,
      keyId: undefined,
      encoded: undefined,
      expiresAt: undefined,
      roleDescriptors: undefined,
    }, { ...opts, additionalSecretOutputs: ["connection", "encoded"] }, "flowlogs", "elasticsearch:WriterApiKey");
  }
}
