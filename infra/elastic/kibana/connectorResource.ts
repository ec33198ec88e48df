// KibanaConnector: an alerting connector (`/api/actions/connector`). The default is `.index` (Basic license),
// which writes alert documents to an index; `.webhook` and `.email` need a Gold license. The connector type is
// immutable in Kibana, so changing it replaces the connector; name/config/secrets are updated with PUT.
import * as pulumi from "@pulumi/pulumi";
import { callKibana, checkConnection, Failure, KibanaConnection, KibanaError, UNKNOWN } from "./client";
import { sameConnection, sameJson, spaceKey } from "./compare";

export interface ConnectorInputs {
  connection: KibanaConnection;
  name: string;
  /** `.index` (Basic), `.server-log` (Basic), `.webhook` / `.email` (Gold)... */
  connectorTypeId: string;
  config: Record<string, unknown>;
  /** Passwords, tokens: never read back from Kibana, kept only as secrets. */
  secrets?: Record<string, unknown>;
}

export interface ConnectorOutputs extends ConnectorInputs {
  connectorId: string;
}

export const BASIC_CONNECTOR_TYPES = [".index", ".server-log"];
const GOLD_CONNECTOR_TYPES = [".email", ".webhook", ".slack", ".slack_api", ".pagerduty", ".jira", ".teams", ".opsgenie"];

/** Config keys Kibana fills in when they are not given, so a read-back never looks like drift. */
const CONFIG_DEFAULTS: Record<string, Record<string, unknown>> = {
  ".index": { refresh: false, executionTimeField: null },
};

function checkConnector(news: ConnectorInputs): Failure[] {
  const failures = checkConnection(news.connection);
  const known = (v: unknown) => v !== UNKNOWN;
  if (known(news.name) && (typeof news.name !== "string" || !news.name.trim())) {
    failures.push({ property: "name", reason: "name is required (it is what people see in Stack Management > Connectors)" });
  }
  if (known(news.connectorTypeId) && (typeof news.connectorTypeId !== "string" || !news.connectorTypeId.startsWith("."))) {
    failures.push({ property: "connectorTypeId", reason: `connectorTypeId "${news.connectorTypeId}" is not a connector type id: use ".index" (Basic license), or ".webhook"/".email" (Gold license)` });
  }
  const config = news.config;
  if (!known(config)) return failures;
  if (!config || typeof config !== "object" || Array.isArray(config)) {
    failures.push({ property: "config", reason: "config must be an object ({} when the type needs none)" });
    return failures;
  }
  if (news.secrets !== undefined && known(news.secrets) && (typeof news.secrets !== "object" || news.secrets === null || Array.isArray(news.secrets))) {
    failures.push({ property: "secrets", reason: "secrets must be an object" });
  }
  // Kibana refuses any config or secret value that is (or holds) an empty string: 400 "value '' is not valid"
  // (validateEmptyStrings, elastic/kibana x-pack/platform/plugins/shared/actions/common/routes/connector/apis/create/schemas/v1.ts).
  for (const [where, values] of [["config", config], ["secrets", news.secrets]] as const) {
    if (!values || typeof values !== "object" || !known(values)) continue;
    for (const [key, value] of Object.entries(values)) {
      if (hasEmptyString(value)) failures.push({ property: `${where}.${key}`, reason: `${where}.${key} is or holds an empty string, which Kibana refuses ("value '' is not valid"): omit it or give a value` });
    }
  }
  switch (news.connectorTypeId) {
    case ".index": {
      const index = config.index;
      if (known(index) && (typeof index !== "string" || !/^[a-z0-9][a-z0-9._-]*$/.test(index))) {
        failures.push({ property: "config.index", reason: `config.index "${String(index)}" is not a valid index name: lowercase letters, digits, ".", "_", "-", no wildcards (e.g. "flowlogs-alerts")` });
      }
      break;
    }
    case ".webhook": {
      const url = config.url;
      if (known(url) && (typeof url !== "string" || !/^https?:\/\//.test(url))) {
        failures.push({ property: "config.url", reason: "a .webhook connector needs config.url (http or https URL); note: .webhook needs a Gold license" });
      }
      break;
    }
    case ".email": {
      if (known(config.from) && typeof config.from !== "string") {
        failures.push({ property: "config.from", reason: "an .email connector needs config.from (sender address); note: .email needs a Gold license" });
      }
      if (known(config.service) && known(config.host) && !config.service && !config.host) {
        failures.push({ property: "config", reason: "an .email connector needs config.service (e.g. \"other\") with host and port, or a well-known service" });
      }
      break;
    }
  }
  return failures;
}

function hasEmptyString(value: unknown): boolean {
  if (value === UNKNOWN) return false;
  if (typeof value === "string") return value.trim() === "";
  if (Array.isArray(value)) return value.some(hasEmptyString);
  if (value && typeof value === "object") return Object.values(value).some(hasEmptyString);
  return false;
}

function withDefaults(inputs: ConnectorInputs): ConnectorInputs {
  const defaults = CONFIG_DEFAULTS[inputs.connectorTypeId] ?? {};
  if (!inputs.config || typeof inputs.config !== "object") return inputs; // unknown during preview
  return { ...inputs, config: { ...defaults, ...inputs.config }, secrets: inputs.secrets ?? {} };
}

/** Config with Kibana's defaults filled and null values dropped: equal meaning, equal JSON. */
function comparableConfig(inputs: ConnectorInputs): Record<string, unknown> {
  const config = withDefaults(inputs).config ?? {};
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== null && value !== undefined));
}

function licenseAware(error: unknown, connectorTypeId: string): Error {
  if (error instanceof KibanaError && error.status === 403 && GOLD_CONNECTOR_TYPES.includes(connectorTypeId)) {
    return new Error(`${error.message}\nThe ${connectorTypeId} connector needs a Gold (or higher) license; on Basic use ".index" (writes alerts to an index) or ".server-log".`);
  }
  return error as Error;
}

function outputsOf(inputs: ConnectorInputs, connectorId: string): ConnectorOutputs {
  return { ...inputs, connectorId };
}

export const connectorProvider: pulumi.dynamic.ResourceProvider<ConnectorInputs, ConnectorOutputs> = {
  async check(_olds, news) {
    const failures = checkConnector(news);
    return { inputs: failures.length ? news : withDefaults(news), failures };
  },

  async diff(_id, olds, news) {
    const replaces: string[] = [];
    if (olds.connectorTypeId !== news.connectorTypeId) replaces.push("connectorTypeId");
    if (spaceKey(olds.connection) !== spaceKey(news.connection)) replaces.push("connection");
    const changed = replaces.length > 0 || olds.name !== news.name || !sameJson(comparableConfig(olds), comparableConfig(news)) ||
      !sameJson(olds.secrets ?? {}, news.secrets ?? {}) || !sameConnection(olds.connection, news.connection);
    return { changes: changed, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    try {
      const answer = await callKibana(inputs.connection, {
        method: "POST",
        path: "/api/actions/connector",
        // `secrets` is required even when empty.
        json: { name: inputs.name, connector_type_id: inputs.connectorTypeId, config: inputs.config, secrets: inputs.secrets ?? {} },
      });
      const id = String(answer.body?.id ?? "");
      if (!id) throw new Error("Kibana created the connector but returned no id");
      return { id, outs: outputsOf(inputs, id) };
    } catch (error) {
      throw licenseAware(error, inputs.connectorTypeId);
    }
  },

  async read(id, props) {
    if (!props) return { id, props };
    const answer = await callKibana(props.connection, { method: "GET", path: `/api/actions/connector/${encodeURIComponent(id)}`, accept: [404] });
    if (answer.status === 404) return { id: "" };
    const live = answer.body ?? {};
    const config: Record<string, unknown> = {};
    // Keys we manage, as Kibana has them now; plus anything else set to a non-default value outside Pulumi (drift).
    for (const [key, value] of Object.entries(live.config ?? {})) {
      const isDefault = value === null || value === undefined || CONFIG_DEFAULTS[props.connectorTypeId]?.[key] === value;
      if (key in props.config || !isDefault) config[key] = value;
    }
    return { id, props: { ...props, name: live.name ?? props.name, connectorTypeId: live.connector_type_id ?? props.connectorTypeId, config } };
  },

  async update(id, _olds, news) {
    try {
      await callKibana(news.connection, {
        method: "PUT",
        path: `/api/actions/connector/${encodeURIComponent(id)}`,
        json: { name: news.name, config: news.config, secrets: news.secrets ?? {} },
      });
    } catch (error) {
      throw licenseAware(error, news.connectorTypeId);
    }
    return { outs: outputsOf(news, id) };
  },

  async delete(id, props) {
    await callKibana(props.connection, { method: "DELETE", path: `/api/actions/connector/${encodeURIComponent(id)}`, accept: [404] });
  },
};

export interface KibanaConnectorArgs {
  connection: pulumi.Input<KibanaConnection>;
  name: pulumi.Input<string>;
  connectorTypeId: pulumi.Input<string>;
  config: pulumi.Input<Record<string, unknown>>;
  secrets?: pulumi.Input<Record<string, unknown>>;
}

export class KibanaConnector extends pulumi.dynamic.Resource {
  declare readonly connectorId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: KibanaConnectorArgs, opts?: pulumi.CustomResourceOptions) {
    super(connectorProvider, name, {
      connection: pulumi.secret(args.connection),
      name: args.name,
      connectorTypeId: args.connectorTypeId,
      config: args.config,
      secrets: args.secrets === undefined ? {} : pulumi.secret(args.secrets),
      connectorId: undefined,
    }, { ...opts, additionalSecretOutputs: ["connection", "secrets"] }, "flowlogs", "kibana:Connector");
  }
}

/** Inputs for the Basic-license `.index` connector that writes one document per alert to `index`. */
export function indexConnectorArgs(connection: pulumi.Input<KibanaConnection>, index = "flowlogs-alerts"): KibanaConnectorArgs {
  return { connection, name: `Flow-log alerts to ${index}`, connectorTypeId: ".index", config: { index, refresh: false, executionTimeField: null } };
}
