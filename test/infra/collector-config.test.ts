// The collector's stack settings, validated before anything is declared (pure: no Pulumi runtime).
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULTS, parseConfig, type CollectorConfig } from "../../infra/config";
import { CONTEXT, only, problems } from "./configProblems";
import { loadConfig as loadCollectorConfig } from "../../collector/src/service/config";

const ctx = CONTEXT;
const SUB = "11111111-2222-3333-4444-555555555555";
const ACR_ID = `/subscriptions/${SUB}/resourceGroups/rg-platform/providers/Microsoft.ContainerRegistry/registries/crplatform`;
const base = { location: "westeurope", storage: { accountName: "flowlogs001" }, demoNetwork: true };
const on = (collector: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ...base, collector: { enabled: true, elasticsearch: { url: "https://es.example.com" }, ...collector }, collectorEsApiKey: "[secret]", ...extra,
});


const collector = (raw: Record<string, unknown>): CollectorConfig => {
  const config = parseConfig(raw, ctx).collector;
  assert.ok(config, "collector should be on");
  return config;
};

test("collector config: off by default, and off needs neither a URL nor a key", () => {
  assert.equal(parseConfig(base, ctx).collector, false);
  assert.equal(DEFAULTS.collectorEnabled, false);
  assert.equal(parseConfig({ ...base, collector: { enabled: false } }, ctx).collector, false);
});

test("collector config: on, every documented default; the image is built into a registry named after the storage account", () => {
  assert.deepEqual(collector(on({})), {
    image: { build: true, registryName: "flowlogs001acr", registrySku: "Premium" },
    cpu: 0.5,
    memoryGb: 1,
    pollIntervalSeconds: 60,
    checkpointContainer: "flowlogs-checkpoints",
    elasticsearch: { url: "https://es.example.com", namespace: "default" },
    writerKey: "configured",
    geoip: { enabled: true },
    containerGroupName: "flowlogs-to-elastic-dev-collector",
  });
  assert.deepEqual(collector(on({ registry: { name: "MyRegistry01", sku: "Premium" } })).image, { build: true, registryName: "myregistry01", registrySku: "Premium" });
});

test("collector config: on without the Elasticsearch URL or the API key names both keys and how to set them", () => {
  const found = problems({ ...base, collector: { enabled: true } });
  assert.deepEqual(found.map((p) => p.split(":")[0]).sort(), ["collector.elasticsearch.url", "collectorEsApiKey"]);
  assert.match(found.find((p) => p.startsWith("collectorEsApiKey"))!, /pulumi config set --secret collectorEsApiKey/);
  assert.match(found.find((p) => p.startsWith("collector.elasticsearch.url"))!, /https endpoint|HTTPS endpoint/i);
});

test("collector config: an API key kept in plain text is refused, with the fix (when Pulumi says which keys are secret)", () => {
  const message = only(on({}, { collectorEsApiKey: "plain-key" }), "collectorEsApiKey", { ...ctx, secretKeys: [] });
  assert.match(message, /plain text in Pulumi\.dev\.yaml.*pulumi config set --secret collectorEsApiKey/);
  assert.ok(!message.includes("plain-key"), "the message never repeats the key");
  assert.equal(parseConfig(on({}, { collectorEsApiKey: "k" }), { ...ctx, secretKeys: ["collectorEsApiKey"] }).collector !== false, true);
  assert.match(only(on({}, { collectorEsApiKey: 42 }), "collectorEsApiKey"), /one string/);
});

test("collector config: the Elasticsearch URL must be https without credentials; the namespace follows data stream rules", () => {
  for (const url of ["http://es.example.com", "es.example.com", "https://user:pw@es.example.com", 7]) {
    assert.match(only(on({ elasticsearch: { url } }), "collector.elasticsearch.url"), /not an https:\/\/ URL/);
  }
  for (const namespace of ["Prod", "my-ns", "", "a".repeat(101)]) {
    assert.match(only(on({ elasticsearch: { url: "https://es.example.com", namespace } }), "collector.elasticsearch.namespace"), /a-z, 0-9 and _/);
  }
  assert.equal(collector(on({ elasticsearch: { url: "https://es.example.com:9243", namespace: "prod_eu" } })).elasticsearch.namespace, "prod_eu");
});

test("collector config: cpu and memory are bounded and in steps of 0.1", () => {
  assert.match(only(on({ cpu: 0 }), "collector.cpu"), /0\.1-4 CPU cores/);
  assert.match(only(on({ cpu: 8 }), "collector.cpu"), /0\.1-4/);
  assert.match(only(on({ memoryGb: 0.25 }), "collector.memoryGb"), /steps of 0\.1/);
  assert.match(only(on({ memoryGb: "1 GB" }), "collector.memoryGb"), /0\.1-16 GB/);
  assert.match(only(on({ cpu: "-1" }), "collector.cpu"), /0\.1-4 CPU cores/);
  // `pulumi config set --path collector.cpu 1.5` stores the string "1.5" (only whole numbers and booleans become
  // YAML values of their own): a plain decimal in a string is read as that number, held to the same bounds.
  const fromCli = collector(on({ cpu: "1.5", memoryGb: "2.5" }));
  assert.deepEqual([fromCli.cpu, fromCli.memoryGb], [1.5, 2.5]);
  assert.match(only(on({ memoryGb: "0.25" }), "collector.memoryGb"), /steps of 0\.1, got "0\.25"/);
  const config = collector(on({ cpu: 0.3, memoryGb: 1.5 }));
  assert.deepEqual([config.cpu, config.memoryGb], [0.3, 1.5]);
});

test("collector config: the poll interval is the collector's own setting and default, whole seconds 1-900 (the collector takes up to 3600)", () => {
  const collectorEnv = { FLOWLOGS_STORAGE_ACCOUNT_URL: "https://a.blob.core.windows.net/", FLOWLOGS_SINK: "stdout" };
  assert.equal(DEFAULTS.collectorPollIntervalSeconds, loadCollectorConfig(collectorEnv).pollIntervalSeconds);
  for (const seconds of [1, 300, 900]) {
    assert.equal(collector(on({ pollIntervalSeconds: seconds })).pollIntervalSeconds, seconds);
    assert.equal(loadCollectorConfig({ ...collectorEnv, FLOWLOGS_POLL_INTERVAL_SECONDS: String(seconds) }).pollIntervalSeconds, seconds);
  }
  // `pulumi config set --path collector.pollIntervalSeconds 300` stores a number; a quoted one reads the same.
  assert.equal(collector(on({ pollIntervalSeconds: "300" })).pollIntervalSeconds, 300);
  for (const bad of [0, 901, 3600, 90.5, "5m", -60, true]) {
    assert.match(only(on({ pollIntervalSeconds: bad }), "collector.pollIntervalSeconds"), /whole number of seconds, 1-900, got .*leave it unset for 60.*three intervals/);
  }
  for (const bad of [0, 3601, 90.5, -60]) {
    assert.throws(() => loadCollectorConfig({ ...collectorEnv, FLOWLOGS_POLL_INTERVAL_SECONDS: String(bad) }), /FLOWLOGS_POLL_INTERVAL_SECONDS/);
  }
  // Checked while the collector is off too, like its other settings.
  assert.match(only({ ...base, collector: { enabled: false, pollIntervalSeconds: 0 } }, "collector.pollIntervalSeconds"), /1-900/);
});

test("collector config: memory below what the collector peaks at is refused, naming the key, the peak and the fix", () => {
  for (const memoryGb of [0.1, 0.2]) {
    assert.match(only(on({ memoryGb }), "collector.memoryGb"), /at least 0\.3 GB, got 0\.[12]: the collector peaks at about 190 MB.*leave it unset for 1 GB/);
  }
  assert.equal(collector(on({ memoryGb: 0.3 })).memoryGb, 0.3);
});

test("collector config: the checkpoint container is a valid container name and not a flow-log container", () => {
  assert.match(only(on({ checkpointContainer: "Check_Points" }), "collector.checkpointContainer"), /not a blob container name/);
  assert.match(only(on({ checkpointContainer: "a--b" }), "collector.checkpointContainer"), /single hyphens/);
  assert.match(only(on({ checkpointContainer: "insights-logs-flowlogflowevent" }), "collector.checkpointContainer"), /is a flow-log container/);
  assert.equal(collector(on({ checkpointContainer: "collector-state" })).checkpointContainer, "collector-state");
});

test("collector config: a prebuilt image must be pinned (tag or digest, not latest) and means no build", () => {
  assert.deepEqual(collector(on({ image: "ghcr.io/acme/flowlogs-collector:1.2.3" })).image, { build: false, reference: "ghcr.io/acme/flowlogs-collector:1.2.3" });
  const digest = `ghcr.io/acme/flowlogs-collector@sha256:${"a".repeat(64)}`;
  assert.deepEqual(collector(on({ image: digest })).image, { build: false, reference: digest });
  // An ACR image needs the registry's id: ACR refuses anonymous pulls by default, and the group pulls with its identity.
  assert.match(only(on({ image: "crplatform.azurecr.io/flowlogs-collector:1.0.0" }), "collector.imageRegistryResourceId"), /Azure Container Registry.*set collector.imageRegistryResourceId/);
  assert.match(only(on({ image: "ghcr.io/acme/flowlogs-collector" }), "collector.image"), /no tag or digest/);
  assert.match(only(on({ image: "ghcr.io/acme/flowlogs-collector:latest" }), "collector.image"), /moving tag "latest"/);
  assert.match(only(on({ image: "Not An Image" }), "collector.image"), /not an image reference/);
  assert.match(only(on({ image: "ghcr.io/acme/c:1", registry: { name: "myacr01" } }), "collector.registry"), /only when the stack builds the image/);
});

test("collector config: an existing registry for the prebuilt image must be an ACR id whose login server the image uses", () => {
  const image = collector(on({ image: "crplatform.azurecr.io/flowlogs-collector:1.0.0", imageRegistryResourceId: ACR_ID })).image;
  assert.deepEqual(image, { build: false, reference: "crplatform.azurecr.io/flowlogs-collector:1.0.0", registry: { resourceId: ACR_ID, loginServer: "crplatform.azurecr.io" } });
  assert.match(only(on({ image: "other.azurecr.io/flowlogs-collector:1.0.0", imageRegistryResourceId: ACR_ID }), "collector.image"), /expected it to start with crplatform\.azurecr\.io\//);
  const storageId = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x`;
  assert.match(only(on({ image: "crplatform.azurecr.io/c:1", imageRegistryResourceId: storageId }), "collector.imageRegistryResourceId"), /not a container registry id/);
  assert.match(only(on({ imageRegistryResourceId: ACR_ID }), "collector.imageRegistryResourceId"), /only goes with collector.image/);
});

test("collector config: registry name and SKU are checked", () => {
  assert.match(only(on({ registry: { name: "acr" } }), "collector.registry.name"), /5-50 letters and digits/);
  assert.match(only(on({ registry: { name: "my-registry" } }), "collector.registry.name"), /5-50 letters and digits/);
  assert.match(only(on({ registry: { sku: "Classic" } }), "collector.registry.sku"), /Basic, Standard, Premium/);
});

test("collector config: unknown keys at every level get a did-you-mean hint, and all problems come in one error", () => {
  assert.match(only(on({ enable: true }), "collector.enable"), /did you mean "collector.enabled"/);
  assert.match(only(on({ elasticsearch: { url: "https://es.example.com", namespce: "x" } }), "collector.elasticsearch.namespce"), /did you mean "collector.elasticsearch.namespace"/);
  assert.match(only(on({ registry: { nmae: "abcde" } }), "collector.registry.nmae"), /did you mean "collector.registry.name"/);
  assert.match(only({ ...base, collectorEsApiKy: "x" }, "collectorEsApiKy"), /did you mean "collectorEsApiKey"/);
  assert.match(only({ ...base, collector: "yes" }, "collector"), /must be an object/);
  assert.match(only({ ...base, collector: { enabled: "yes" } }, "collector.enabled"), /true or false/);
  const found = problems({ ...base, collector: { enabled: true, cpu: 99, image: "x:latest", elasticsearch: { url: "http://es" } } });
  assert.deepEqual(found.map((p) => p.split(":")[0]).sort(), ["collector.cpu", "collector.elasticsearch.url", "collector.image", "collectorEsApiKey"]);
});

test("collector config: settings are checked even while the collector is off, so a typo shows before it is turned on", () => {
  assert.match(only({ ...base, collector: { enabled: false, cpu: 99 } }, "collector.cpu"), /0\.1-4/);
  assert.match(only({ ...base, collector: { enabled: false, elasticsearch: { url: "http://es" } } }, "collector.elasticsearch.url"), /https/);
});
