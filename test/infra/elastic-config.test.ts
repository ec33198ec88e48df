// The Elastic side's stack settings as the program's config check sees them (pure: no Pulumi runtime): the
// `elasticsearch`/`kibana` blocks, their credentials, and how they join the collector (one URL and namespace,
// exactly one source for the writer key).
import { test } from "node:test";
import assert from "node:assert/strict";
import { neededSecretKeys, parseConfig, type InfraConfig } from "../../infra/config";
import { CONTEXT, problems } from "./configProblems";
import { checkConnection } from "../../infra/elastic/elasticsearch/client";

const ctx = CONTEXT;
const base = { location: "westeurope", storage: { accountName: "flowlogs001" }, demoNetwork: true };
const es = { url: "https://es.example.com", namespace: "prod" };
const creds = { elasticsearchUsername: "deployer", elasticsearchPassword: "[secret]" };
const managed = (extra: Record<string, unknown> = {}) => ({ ...base, elasticsearch: es, ...creds, collector: { enabled: true }, ...extra });

const keysOf = (found: string[]) => found.map((p) => p.slice(0, p.indexOf(": "))).sort();
const parse = (raw: Record<string, unknown>): InfraConfig => parseConfig(raw, ctx);

test("elastic config: off unless `elasticsearch` is set; with it the collector takes URL and namespace from there and the minted key", () => {
  assert.equal(parse(base).elastic, undefined);
  const config = parse(managed());
  assert.equal(config.elastic?.url, "https://es.example.com");
  assert.deepEqual(config.elastic?.assets, { namespace: "prod" });
  assert.ok(config.collector);
  assert.deepEqual(config.collector.elasticsearch, { url: "https://es.example.com", namespace: "prod" });
  assert.equal(config.collector.writerKey, "managed");
  const defaultNamespace = parse(managed({ elasticsearch: { url: "https://es.example.com" } }));
  assert.ok(defaultNamespace.collector);
  assert.equal(defaultNamespace.collector.elasticsearch.namespace, "default");
  // The Elastic side alone (collector off) is a valid stack too.
  assert.equal(parse({ ...base, elasticsearch: es, ...creds }).collector, false);
});

test("elastic config: the alert rules' late-arrival default follows collector.pollIntervalSeconds; a setting below one poll is refused, naming both keys", () => {
  const kibana = (alert: Record<string, unknown> = {}) => ({ kibana: { url: "https://kibana.example.com", alert }, kibanaApiKey: "[secret]" });
  const late = (raw: Record<string, unknown>) => parse(raw).elastic?.kibana?.alert?.lateArrivalMinutes;
  assert.equal(late(managed(kibana())), 5, "polls a minute apart: the documented 5 minutes");
  assert.equal(late(managed({ ...kibana(), collector: { enabled: true, pollIntervalSeconds: 60 } })), 5);
  // A flow waits up to one poll: each minute between polls beyond the first adds one.
  assert.equal(late(managed({ ...kibana(), collector: { enabled: true, pollIntervalSeconds: 300 } })), 9);
  assert.equal(late(managed({ ...kibana(), collector: { enabled: true, pollIntervalSeconds: 90 } })), 6);
  assert.equal(late(managed({ ...kibana(), collector: { enabled: true, pollIntervalSeconds: 900 } })), 19);
  // The user's own value stands when it covers a poll; the collector off (run elsewhere) does not move the default.
  assert.equal(late(managed({ ...kibana({ lateArrivalMinutes: 6 }), collector: { enabled: true, pollIntervalSeconds: 300 } })), 6);
  assert.equal(late(managed({ ...kibana(), collector: { enabled: false, pollIntervalSeconds: 300 } })), 5);
  assert.equal(late(managed(kibana({ lateArrivalMinutes: 0 }))), 0, "polls a minute apart: an explicit 0 stays allowed, as before");
  assert.equal(late(managed({ ...kibana({ lateArrivalMinutes: 0 }), collector: { enabled: true, pollIntervalSeconds: 60 } })), 0, "the default set explicitly changes nothing");
  const found = problems(managed({ ...kibana({ lateArrivalMinutes: 3 }), collector: { enabled: true, pollIntervalSeconds: 600 } }));
  assert.deepEqual(keysOf(found), ["kibana.alert.lateArrivalMinutes"]);
  assert.match(found[0]!, /collector\.pollIntervalSeconds is 600.*up to 10 minutes.*Remove the key \(the default follows the poll interval: 14\) or set at least 10/);
});

test("elastic config: the top-level keys are known to the did-you-mean detection", () => {
  const found = problems({ ...base, elasticsearh: es, kibanna: { url: "https://k" }, elasticsearchPasword: "x" });
  assert.match(found.find((p) => p.startsWith("elasticsearh:"))!, /did you mean "elasticsearch"/);
  assert.match(found.find((p) => p.startsWith("kibanna:"))!, /did you mean "kibana"/);
  assert.match(found.find((p) => p.startsWith("elasticsearchPasword:"))!, /did you mean "elasticsearchPassword"/);
  const nested = problems({ ...base, elasticsearch: { url: "https://es.example.com", namespce: "x", writerKey: { expiraton: "90d" } }, ...creds });
  assert.match(nested.find((p) => p.startsWith("elasticsearch.namespce:"))!, /did you mean "elasticsearch\.namespace"/);
  assert.match(nested.find((p) => p.startsWith("elasticsearch.writerKey.expiraton:"))!, /did you mean "elasticsearch\.writerKey\.expiration"/);
});

test("elastic config: exactly one source for the writer key, with a clear error either way", () => {
  const both = problems(managed({ collectorEsApiKey: "[secret]" }));
  assert.deepEqual(keysOf(both), ["collectorEsApiKey"]);
  assert.match(both[0]!, /mints the collector's writer key itself: remove it \(`pulumi config rm collectorEsApiKey`\), or remove `elasticsearch`/);
  const neither = problems({ ...base, collector: { enabled: true, elasticsearch: { url: "https://es.example.com" } } });
  assert.deepEqual(keysOf(neither), ["collectorEsApiKey"]);
  assert.match(neither[0]!, /pulumi config set --secret collectorEsApiKey.*or set `elasticsearch`/);
});

test("elastic config: one namespace and URL: collector.elasticsearch is refused next to `elasticsearch`", () => {
  const found = problems(managed({ collector: { enabled: true, elasticsearch: { url: "https://other.example.com", namespace: "dev" } } }));
  assert.deepEqual(keysOf(found), ["collector.elasticsearch"]);
  assert.match(found[0]!, /taken from `elasticsearch` \(url, namespace\).*pulumi config rm --path collector\.elasticsearch/);
});

test("elastic config: the collector sends its key to elasticsearch.url, so plain http is refused while it is on", () => {
  const insecure = { url: "http://es.internal:9200", allowInsecureHttp: true };
  const found = problems(managed({ elasticsearch: insecure }));
  assert.deepEqual(keysOf(found), ["elasticsearch.url"]);
  assert.match(found[0]!, /plain http, but the collector sends its API key there/);
  assert.equal(parse({ ...base, elasticsearch: insecure, ...creds }).elastic?.allowInsecureHttp, true, "fine without the collector");
  // A token in the URL's query or fragment is not repeated in the message.
  const withToken = problems(managed({ elasticsearch: { ...insecure, url: "http://es.internal:9200/?token=SECRET-Q#SECRET-F" } }));
  assert.match(withToken[0]!, /http:\/\/es\.internal:9200\/\?\(redacted\) is plain http/);
  assert.doesNotMatch(withToken.join("\n"), /SECRET/);
});

test("elastic config: the user and password are required (an API key alone cannot mint the writer key)", () => {
  const found = problems({ ...base, elasticsearch: es, elasticsearchApiKey: "[secret]" });
  assert.deepEqual(keysOf(found), ["elasticsearchPassword", "elasticsearchUsername"]);
  assert.match(found.find((p) => p.startsWith("elasticsearchPassword"))!, /pulumi config set --secret elasticsearchPassword/);
  assert.match(found.find((p) => p.startsWith("elasticsearchUsername"))!, /pulumi config set elasticsearchUsername <user>/);
  assert.match(problems({ ...base, elasticsearch: es, ...creds, elasticsearchUsername: 7 })[0]!, /^elasticsearchUsername: must be a user name/);
});

test("elastic config: every secret key stored in plain text is refused with its fix, never repeating the value", () => {
  const raw = {
    ...base, elasticsearch: es, elasticsearchUsername: "deployer", elasticsearchPassword: "pw-plain-4711", elasticsearchApiKey: "key-plain-4711",
    kibana: { url: "https://kibana.example.com", alert: { webhook: { url: "https://hooks.example.com", user: "u" }, email: { from: "a@example.com", host: "smtp", port: 25, user: "m", to: ["b@example.com"] } } },
    kibanaApiKey: "kb-plain-4711", kibanaWebhookPassword: "wh-plain-4711", kibanaEmailPassword: "em-plain-4711",
  };
  const found = problems(raw, { ...ctx, secretKeys: [] });
  assert.deepEqual(keysOf(found), ["elasticsearchApiKey", "elasticsearchPassword", "kibanaApiKey", "kibanaEmailPassword", "kibanaWebhookPassword"]);
  for (const problem of found) {
    assert.match(problem, /is stored in plain text in Pulumi\.dev\.yaml: set it again with `pulumi config set --secret \w+ </);
    assert.doesNotMatch(problem, /plain-4711/);
  }
  const secretKeys = ["elasticsearchPassword", "elasticsearchApiKey", "kibanaApiKey", "kibanaWebhookPassword", "kibanaEmailPassword"];
  assert.ok(parseConfig(raw, { ...ctx, secretKeys }).elastic?.kibana?.alert?.webhook, "accepted once they are secrets");
  assert.match(problems({ ...base, elasticsearch: es, ...creds, elasticsearchPassword: 42 })[0]!, /^elasticsearchPassword: must be one string: `pulumi config set --secret elasticsearchPassword <password>`$/);
});

test("elastic config: Kibana needs an API key or a user with password, and the alert connectors' passwords when they have users", () => {
  const kibana = { url: "https://kibana.example.com" };
  assert.deepEqual(keysOf(problems({ ...base, elasticsearch: es, ...creds, kibana })), ["kibanaApiKey"]);
  assert.equal(parse({ ...base, elasticsearch: es, ...creds, kibana, kibanaApiKey: "[secret]" }).elastic?.kibana?.url, "https://kibana.example.com");
  assert.ok(parse({ ...base, elasticsearch: es, ...creds, kibana, kibanaUsername: "kb", kibanaPassword: "[secret]" }).elastic?.kibana);
  const withUsers = { url: kibana.url, alert: { webhook: { url: "https://hooks.example.com", user: "u" }, email: { from: "a@example.com", host: "smtp", port: 25, user: "m", to: ["b@example.com"] } } };
  assert.deepEqual(keysOf(problems({ ...base, elasticsearch: es, ...creds, kibana: withUsers, kibanaApiKey: "[secret]" })), ["kibanaEmailPassword", "kibanaWebhookPassword"]);
});

test("elastic config: credentials without their block are refused as unused; kibana without elasticsearch too", () => {
  assert.deepEqual(keysOf(problems({ ...base, ...creds })), ["elasticsearchPassword", "elasticsearchUsername"]);
  assert.match(problems({ ...base, ...creds })[0]!, /is set but `elasticsearch` is not, so nothing uses it/);
  assert.deepEqual(keysOf(problems({ ...base, elasticsearch: es, ...creds, kibanaApiKey: "[secret]" })), ["kibanaApiKey"]);
  assert.deepEqual(keysOf(problems({ ...base, kibana: { url: "https://kibana.example.com" } })), ["kibana"]);
});

test("elastic config: problems inside the blocks are listed with the rest, each naming its key", () => {
  const found = problems({
    ...base, retentionDays: -1, collector: { enabled: true },
    elasticsearch: { url: "https://es.example.com", namespace: "Prod-1", writerKey: { expiration: "soon" } }, ...creds,
    kibana: { url: "kibana", alert: { windowMinutes: 0, lateArrivalMinutes: -1 } }, kibanaApiKey: "[secret]",
  });
  assert.deepEqual(keysOf(found), ["elasticsearch.namespace", "elasticsearch.writerKey.expiration", "kibana.alert.lateArrivalMinutes", "kibana.alert.windowMinutes", "kibana.url", "retentionDays"]);
});

test("elastic config: the offline plan stands in only the secrets the chosen setup needs", () => {
  assert.deepEqual(neededSecretKeys(base), []);
  assert.deepEqual(neededSecretKeys({ ...base, collector: { enabled: true } }), ["collectorEsApiKey"]);
  assert.deepEqual(neededSecretKeys(managed()), ["elasticsearchPassword"], "never collectorEsApiKey next to elasticsearch");
  assert.deepEqual(neededSecretKeys(managed({ kibana: { url: "https://k" } })), ["elasticsearchPassword", "kibanaApiKey"]);
  assert.deepEqual(neededSecretKeys(managed({ kibana: { url: "https://k", alert: { webhook: { url: "https://h", user: "u" } } }, kibanaUsername: "kb" })),
    ["elasticsearchPassword", "kibanaPassword", "kibanaWebhookPassword"]);
});

test("elastic config: a malformed URL is reported without the credentials or query string it may carry", () => {
  const found = problems({
    ...base, ...creds, collector: { enabled: true },
    elasticsearch: { url: "https://elastic:PW-4711@my host:9200/?api_key=K-4711" },
    kibana: { url: "ftp://kb:PW-4711@kibana.example.com/?token=K-4711" }, kibanaApiKey: "[secret]",
  }, { ...ctx, secretKeys: ["elasticsearchPassword", "kibanaApiKey"] });
  const urls = found.filter((p) => /^(elasticsearch|kibana)\.url: /.test(p));
  assert.equal(urls.length, 2, found.join("\n"));
  for (const problem of urls) assert.doesNotMatch(problem, /PW-4711|K-4711/);
  assert.match(urls.join("\n"), /my host:9200/);
});

test("collector config: a collector.elasticsearch.url with credentials is refused without repeating them", () => {
  const found = problems({ ...base, collector: { enabled: true, elasticsearch: { url: "https://u:PW-4711@es.example.com/?token=K-4711" } } });
  const url = found.find((p) => p.startsWith("collector.elasticsearch.url: "));
  assert.ok(url, found.join("\n"));
  assert.doesNotMatch(url, /PW-4711|K-4711/);
  assert.match(url, /es\.example\.com/);
});

test("elastic provider connection: a malformed URL is reported without the credentials or query string it may carry", () => {
  const failures = checkConnection({ url: "https://u:PW-4711@es host/?api_key=K-4711", apiKey: "k" });
  assert.equal(failures.length, 1);
  assert.equal(failures[0].property, "connection.url");
  assert.doesNotMatch(failures[0].reason, /PW-4711|K-4711/);
});

test("elastic config: a CA that is not PEM text names the command that sets it, with --path (else a top-level key is set)", () => {
  const found = problems({ ...base, elasticsearch: { ...es, caCert: "ca.pem" }, ...creds, kibana: { url: "https://kibana.example.com", caCert: "ca.pem" }, kibanaApiKey: "[secret]" });
  for (const key of ["elasticsearch.caCert", "kibana.caCert"]) {
    const problem = found.find((p) => p.startsWith(`${key}: `));
    assert.ok(problem, `${key} refused: ${found.join("; ")}`);
    assert.ok(problem.includes(`\`pulumi config set --path ${key} -- "$(cat ca.pem)"\``), problem);
  }
});
