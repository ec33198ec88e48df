import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { savedObjectsProvider, SavedObjectsOutputs } from "../../infra/elastic/kibana/savedObjectsResource";
import { buildImportNdjson, loadSavedObjects } from "../../infra/elastic/kibana/savedObjects";
import { namespacedImportNdjson } from "../../infra/elastic/kibana/namespace";
import { KibanaConnection } from "../../infra/elastic/kibana/client";
import { multipartFile } from "../../infra/elastic/http";
import { FakeKibana, multipartField } from "./support/fakeKibana";

const API_KEY = "aWQ6c2VjcmV0LWtleS1mb3ItdGVzdHM=";
const p = savedObjectsProvider;

describe("KibanaSavedObjects provider", () => {
  let kibana: FakeKibana;
  let connection: KibanaConnection;
  before(async () => {
    kibana = await new FakeKibana({ apiKey: API_KEY, spaces: ["netops"] }).start();
    connection = { url: kibana.url, apiKey: API_KEY };
  });
  after(() => kibana.stop());
  // Each test is a new stack on an empty Kibana: a create refuses objects it finds there (another stack's).
  beforeEach(() => {
    for (const space of kibana.spaces.values()) space.objects.clear();
  });

  test("contract: create imports every object with one multipart POST carrying kbn-xsrf, ApiKey auth and a `file` part of NDJSON", async () => {
    const ndjson = buildImportNdjson();
    const checked = await p.check!({} as any, { connection, ndjson });
    assert.deepEqual(checked.failures, []);
    const before = kibana.requests.length;
    const created = await p.create({ connection, ndjson });
    const calls = kibana.requests.slice(before);
    const imports = calls.filter((r) => r.path === "/api/saved_objects/_import");
    assert.equal(imports.length, 1);
    const call = imports[0];
    assert.equal(call.method, "POST");
    assert.equal(call.headers["kbn-xsrf"], "true");
    assert.equal(call.headers.authorization, `ApiKey ${API_KEY}`);
    assert.match(String(call.headers["content-type"]), /^multipart\/form-data; boundary=/);
    const file = multipartField(String(call.headers["content-type"]), Buffer.from(call.body), "file");
    assert.equal(file, ndjson);
    const expected = loadSavedObjects().map((o) => `${o.type}/${o.id}`);
    assert.deepEqual(created.outs!.objects, expected);
    assert.deepEqual([...kibana.space().objects.keys()].sort(), [...expected].sort());
    // Stored as Kibana needs them: JSON-valued attributes as strings.
    assert.equal(typeof kibana.space().objects.get("dashboard/flowlogs-overview")!.attributes.panelsJSON, "string");
    assert.equal(Object.keys(created.outs!.versions).length, expected.length);
  });

  test("contract: an import Kibana answers with 200 and success:false fails, listing each object's error", async () => {
    const broken = [
      JSON.stringify({ type: "lens", id: "orphan", attributes: { title: "x", state: {} }, references: [{ type: "index-pattern", id: "nope", name: "indexpattern-datasource-layer-a" }], coreMigrationVersion: "8.8.0", typeMigrationVersion: "8.9.0" }),
      JSON.stringify({ type: "canvas-workpad", id: "w", attributes: {}, references: [], coreMigrationVersion: "8.8.0", typeMigrationVersion: "8.0.0" }),
    ].join("\n") + "\n";
    await assert.rejects(p.create({ connection, ndjson: broken }), (error: Error) => {
      assert.match(error.message, /refused the saved-objects import \(success=false, 0 of 2 imported\)/);
      assert.match(error.message, /lens\/orphan: missing_references \(index-pattern\/nope\)/);
      assert.match(error.message, /canvas-workpad\/w: unsupported_type/);
      return true;
    });
  });

  test("a failed create leaves nothing behind: objects Kibana did import are deleted again", async () => {
    const good = JSON.stringify({ type: "index-pattern", id: "rollback-view", attributes: { title: "x-*", fields: "[]" }, references: [], coreMigrationVersion: "8.8.0", typeMigrationVersion: "8.0.0" });
    const bad = JSON.stringify({ type: "lens", id: "rollback-lens", attributes: { title: "x", state: {} }, references: [{ type: "index-pattern", id: "absent", name: "indexpattern-datasource-layer-a" }], coreMigrationVersion: "8.8.0", typeMigrationVersion: "8.9.0" });
    await assert.rejects(p.create({ connection, ndjson: `${good}\n${bad}\n` }), /1 of 2 imported\) \(the 1 object\(s\) it did create were deleted again\)/);
    assert.equal(kibana.space().objects.has("index-pattern/rollback-view"), false);
  });

  test("contract: check refuses objects without migration versions (Kibana would answer 500 on Lens) and duplicates", async () => {
    const [first] = buildImportNdjson().split("\n");
    const lens = JSON.parse(buildImportNdjson().split("\n").find((l) => l.includes('"type":"lens"'))!);
    delete lens.typeMigrationVersion;
    const checked = await p.check!({} as any, { connection, ndjson: `${first}\n${first}\n${JSON.stringify(lens)}\n` });
    const reasons = checked.failures!.map((f) => f.reason).join("\n");
    assert.match(reasons, new RegExp(`${JSON.parse(first).type}/${JSON.parse(first).id} appears twice`));
    assert.match(reasons, /lacks coreMigrationVersion\/typeMigrationVersion/);
    // And the double really answers 500 for such a Lens object, as Kibana does.
    await assert.rejects(p.create({ connection, ndjson: `${first}\n${JSON.stringify(lens)}\n` }), /HTTP 500/);
  });

  test("diff: the same NDJSON is no change; a changed object is an update; another space is a replacement", async () => {
    const ndjson = buildImportNdjson();
    const olds = (await p.create({ connection, ndjson })).outs as SavedObjectsOutputs;
    assert.equal((await p.diff!("x", olds, { connection: { ...connection }, ndjson })).changes, false);
    const edited = ndjson.replace('"title":"Total flows"', '"title":"All flows"');
    assert.notEqual(edited, ndjson);
    assert.deepEqual(await p.diff!("x", olds, { connection, ndjson: edited }), { changes: true, replaces: [], deleteBeforeReplace: false });
    const moved = await p.diff!("x", olds, { connection: { ...connection, space: "netops" }, ndjson });
    assert.deepEqual(moved.replaces, ["connection"]);
    assert.equal((await p.diff!("x", olds, { connection: { ...connection, space: "default" }, ndjson })).changes, false);
  });

  test("contract: an update to ids another stack's objects already have (a namespace change) refuses before importing or deleting, naming the namespace and the fix", async () => {
    const [dev, prod] = ["dev", "prod"].map((namespace) => namespacedImportNdjson({ namespace }));
    const devObjects = (await p.create({ connection, ndjson: dev, namespace: "dev" })).outs as SavedObjectsOutputs;
    const prodObjects = (await p.create({ connection, ndjson: prod, namespace: "prod" })).outs as SavedObjectsOutputs;
    const versions = () => [...kibana.space().objects.values()].map((o) => `${o.type}/${o.id}@${o.version}`).sort();
    const before = versions();
    const imports = () => kibana.requests.filter((r) => r.path === "/api/saved_objects/_import").length;
    const importsBefore = imports();
    await assert.rejects(p.update!("x", prodObjects, { connection, ndjson: dev, namespace: "dev" }), (error: Error) => {
      assert.match(error.message, /^saved objects \S+-dev, \S+-dev, \S+-dev and 17 more already exist and this stack did not import them, so nothing was imported or deleted; their owner is the stack that writes namespace "dev" in Kibana space "default"\. Fix: set elasticsearch\.namespace/);
      return true;
    });
    assert.equal(imports(), importsBefore, "no import was sent");
    assert.deepEqual(versions(), before, "neither stack's objects changed or went");
    // Its own objects, and new ones no one has, an update still imports.
    const added = `${prod.trimEnd()}\n${JSON.stringify({ ...JSON.parse(prod.split("\n")[0]), id: "flowlogs-new-object-prod" })}\n`;
    const updated = (await p.update!("x", prodObjects, { connection, ndjson: added, namespace: "prod" })).outs as SavedObjectsOutputs;
    for (const outs of [updated, devObjects]) await p.delete!("x", outs);
  });

  test("contract: a new stack on ids another stack's objects have is refused at preview (check) and at create, naming the namespace and the fix; its own ids are not", async () => {
    const [dev, prod] = ["dev", "prod"].map((namespace) => namespacedImportNdjson({ namespace }));
    const devObjects = (await p.create({ connection, ndjson: dev, namespace: "dev" })).outs as SavedObjectsOutputs;
    const versions = () => [...kibana.space().objects.values()].map((o) => `${o.type}/${o.id}@${o.version}`).sort();
    const before = versions();
    const imports = () => kibana.requests.filter((r) => r.path === "/api/saved_objects/_import").length;
    const importsBefore = imports();
    const owner = /their owner is the stack that writes namespace "dev" in Kibana space "default"\. Fix: set elasticsearch\.namespace to a namespace no other stack in this Kibana space uses/;
    // Preview: check, for a resource not in the state yet (no old inputs).
    const preview = await p.check!({} as any, { connection, ndjson: dev, namespace: "dev" });
    assert.deepEqual(preview.failures!.map((f) => f.property), ["namespace"]);
    assert.match(preview.failures![0].reason, /^saved objects \S+-dev, \S+-dev, \S+-dev and 17 more already exist and this stack did not import them, so this stack stops before importing them; /);
    assert.match(preview.failures![0].reason, owner);
    // Preview of a stack moved to dev (old inputs in prod) is refused the same way; dev's own preview is not.
    assert.equal((await p.check!({ connection, ndjson: prod, namespace: "prod" }, { connection, ndjson: dev, namespace: "dev" })).failures!.length, 1);
    assert.deepEqual((await p.check!({ connection, ndjson: dev, namespace: "dev" }, { connection, ndjson: dev, namespace: "dev" })).failures, []);
    // Up: the create stops before importing.
    await assert.rejects(p.create({ connection, ndjson: dev, namespace: "dev" }), (error: Error) => {
      assert.match(error.message, /^saved objects \S+-dev, \S+-dev, \S+-dev and 17 more already exist and this stack did not import them, so nothing was imported or deleted; /);
      assert.match(error.message, owner);
      return true;
    });
    assert.equal(imports(), importsBefore, "no import was sent");
    assert.deepEqual(versions(), before, "dev's objects are untouched");
    // A namespace no one has is free, at preview and at create.
    assert.deepEqual((await p.check!({} as any, { connection, ndjson: prod, namespace: "prod" })).failures, []);
    const prodObjects = (await p.create({ connection, ndjson: prod, namespace: "prod" })).outs as SavedObjectsOutputs;
    for (const outs of [prodObjects, devObjects]) await p.delete!("x", outs);
  });

  test("contract: a new stack in a space where another stack's objects are Kibana's copies (new ids, originId) is refused at preview and at create", async () => {
    const ndjson = namespacedImportNdjson({ namespace: "dev" });
    const spaced = { ...connection, space: "netops" };
    const original = (await p.create({ connection, ndjson, namespace: "dev" })).outs as SavedObjectsOutputs;
    const copies = (await p.create({ connection: spaced, ndjson, namespace: "dev" })).outs as SavedObjectsOutputs;
    assert.notEqual(copies.idMap["dashboard/flowlogs-overview-dev"], "dashboard/flowlogs-overview-dev", "Kibana gave the second space's objects new ids");
    const versions = () => [...kibana.space("netops").objects.values()].map((o) => `${o.type}/${o.id}@${o.version}`).sort();
    const before = versions();
    const copyOf = /^saved objects \S+ \(copy of \S+-dev\), \S+ \(copy of \S+-dev\), \S+ \(copy of \S+-dev\) and 17 more already exist and this stack did not import them/;
    const preview = await p.check!({} as any, { connection: spaced, ndjson, namespace: "dev" });
    assert.match(preview.failures!.map((f) => f.reason).join("\n"), copyOf);
    await assert.rejects(p.create({ connection: spaced, ndjson, namespace: "dev" }), (error: Error) => {
      assert.match(error.message, copyOf);
      assert.match(error.message, /so nothing was imported or deleted; their owner is the stack that writes namespace "dev" in Kibana space "netops"/);
      return true;
    });
    assert.deepEqual(versions(), before, "the copies are untouched");
    for (const outs of [copies, original]) await p.delete!("x", outs);
  });

  test("contract: a preview that cannot reach Kibana warns that the ownership check did not run (up checks again) instead of failing", async () => {
    const gone = await new FakeKibana({ apiKey: API_KEY }).start();
    await gone.stop();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => { warnings.push(args.join(" ")); };
    try {
      const checked = await p.check!({} as any, { connection: { url: gone.url, apiKey: API_KEY }, ndjson: buildImportNdjson() });
      assert.deepEqual(checked.failures, []);
    } finally {
      console.warn = warn;
    }
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /Could not ask Kibana whether another stack already has these saved objects \(.*\), so it was not checked here; `pulumi up` checks again before importing and stops, changing nothing, if one does/);
  });

  test("read reports drift when an object was edited or deleted in Kibana, and none otherwise", async () => {
    const created = await p.create({ connection, ndjson: buildImportNdjson() });
    const props = created.outs as SavedObjectsOutputs;
    const clean = await p.read!(created.id, props);
    assert.equal(clean.props!.contentHash, props.contentHash);
    assert.equal((await p.diff!(created.id, clean.props!, { connection, ndjson: props.ndjson })).changes, false);
    kibana.space().objects.get("lens/flowlogs-top-source-ips")!.version = kibana.nextVersion();
    kibana.space().objects.delete("lens/flowlogs-denied-flows");
    const drifted = await p.read!(created.id, props);
    assert.equal(drifted.props!.contentHash, "drifted: lens/flowlogs-denied-flows missing, lens/flowlogs-top-source-ips edited");
    assert.equal((await p.diff!(created.id, drifted.props!, { connection, ndjson: props.ndjson })).changes, true);
    const repaired = await p.update!(created.id, drifted.props!, { connection, ndjson: props.ndjson });
    assert.ok(kibana.space().objects.has("lens/flowlogs-denied-flows"));
    assert.equal(repaired.outs!.contentHash, props.contentHash);
  });

  test("contract: update re-imports with overwrite=true and deletes objects no longer in the files; delete removes all", async () => {
    const all = buildImportNdjson();
    const created = await p.create({ connection, ndjson: all });
    const fewer = all.split("\n").filter((l) => !l.startsWith(`{"type":"lens","id":"flowlogs-top-destination-ports"`)).join("\n");
    const before = kibana.requests.length;
    const updated = await p.update!(created.id, created.outs!, { connection, ndjson: fewer });
    const calls = kibana.requests.slice(before);
    assert.ok(calls.some((r) => r.method === "POST" && r.path === "/api/saved_objects/_import"));
    const deletes = calls.filter((r) => r.method === "DELETE");
    assert.deepEqual(deletes.map((r) => r.path), ["/api/saved_objects/lens/flowlogs-top-destination-ports"]);
    assert.ok(deletes.every((r) => r.headers["kbn-xsrf"] === "true"));
    assert.equal(kibana.space().objects.has("lens/flowlogs-top-destination-ports"), false);
    await p.delete!(created.id, updated.outs!);
    assert.equal(kibana.space().objects.size, 0);
    // Deleting again (objects already gone) is not an error.
    await p.delete!(created.id, updated.outs!);
  });

  test("contract: with a space, every call goes to /s/<space>/api/... and objects land in that space only", async () => {
    const spaced = { ...connection, space: "netops" };
    const created = await p.create({ connection: spaced, ndjson: buildImportNdjson() });
    assert.ok(kibana.space("netops").objects.has("dashboard/flowlogs-overview"));
    assert.equal(kibana.space().objects.has("dashboard/flowlogs-overview"), false);
    await p.delete!(created.id, created.outs!);
    assert.equal(kibana.space("netops").objects.size, 0);
    await assert.rejects(p.create({ connection: { ...connection, space: "missing" }, ndjson: buildImportNdjson() }), /HTTP 404.*does the space "missing" exist/);
  });

  test("contract: importing into a second space where Kibana gives new ids (destinationId) reads, updates and deletes the copies, not the originals", async () => {
    const ndjson = buildImportNdjson();
    const original = await p.create({ connection, ndjson });
    const spaced = { ...connection, space: "netops" };
    const copy = await p.create({ connection: spaced, ndjson });
    const outs = copy.outs as SavedObjectsOutputs;
    const dashboardId = outs.idMap["dashboard/flowlogs-overview"];
    assert.notEqual(dashboardId, "dashboard/flowlogs-overview");
    assert.ok(kibana.space("netops").objects.has(dashboardId));
    // The copy's panels point at the copies.
    const refs = kibana.space("netops").objects.get(dashboardId)!.references.map((r: any) => `${r.type}/${r.id}`);
    assert.ok(refs.every((ref: string) => outs.objects.includes(ref)));
    const read = await p.read!(copy.id, outs);
    assert.equal(read.props!.contentHash, outs.contentHash, "no drift for renamed copies");
    const updated = await p.update!(copy.id, outs, { connection: spaced, ndjson });
    assert.deepEqual(updated.outs!.idMap, outs.idMap, "re-import overwrites the same copies");
    assert.equal(kibana.space("netops").objects.size, outs.objects.length);
    await p.delete!(copy.id, updated.outs!);
    assert.equal(kibana.space("netops").objects.size, 0);
    assert.equal(kibana.space().objects.size, original.outs!.objects.length, "the default space is untouched");
    await p.delete!(original.id, original.outs!);
  });

  test("contract: create and update refuse a Kibana older than 8.9 before importing anything, naming the found and needed versions", async () => {
    const old = await new FakeKibana({ apiKey: API_KEY, version: "8.8.2" }).start();
    try {
      const oldConnection = { url: old.url, apiKey: API_KEY };
      const refusal = /Kibana 8\.8\.2 is older than 8\.9\.0, the version these saved objects need.*belongs to a more recent version of Kibana \[8\.9\.0\]/s;
      await assert.rejects(p.create({ connection: oldConnection, ndjson: buildImportNdjson() }), refusal);
      await assert.rejects(p.update!("x", { idMap: {} } as SavedObjectsOutputs, { connection: oldConnection, ndjson: buildImportNdjson() }), refusal);
      assert.deepEqual(old.requests.map((r) => `${r.method} ${r.path}`), ["GET /api/status", "GET /api/status"], "nothing but the version check reached Kibana");
      assert.equal(old.space().objects.size, 0);
    } finally {
      await old.stop();
    }
    // An 8.9 Kibana is enough.
    const enough = await new FakeKibana({ apiKey: API_KEY, version: "8.9.0" }).start();
    try {
      const created = await p.create({ connection: { url: enough.url, apiKey: API_KEY }, ndjson: buildImportNdjson() });
      assert.equal(created.outs!.objects.length, loadSavedObjects().length);
    } finally {
      await enough.stop();
    }
  });

  test("contract: where per-object GET/DELETE are internal (Serverless), create, read and update work through _import and _export; delete leaves the objects and says so", async () => {
    const serverless = await new FakeKibana({ apiKey: API_KEY, serverless: true }).start();
    try {
      const conn = { url: serverless.url, apiKey: API_KEY };
      const created = await p.create({ connection: conn, ndjson: buildImportNdjson() });
      const props = created.outs as SavedObjectsOutputs;
      assert.equal(Object.keys(props.versions).length, props.objects.length);
      assert.equal((await p.read!(created.id, props)).props!.contentHash, props.contentHash);
      serverless.space().objects.get("lens/flowlogs-top-source-ips")!.version = serverless.nextVersion();
      serverless.space().objects.delete("lens/flowlogs-denied-flows");
      const drifted = await p.read!(created.id, props);
      assert.equal(drifted.props!.contentHash, "drifted: lens/flowlogs-denied-flows missing, lens/flowlogs-top-source-ips edited");
      await p.update!(created.id, drifted.props!, { connection: conn, ndjson: props.ndjson });
      assert.ok(serverless.space().objects.has("lens/flowlogs-denied-flows"));
      const perObject = serverless.requests.filter((r) => /^\/api\/saved_objects\/[^_]/.test(r.path));
      assert.deepEqual(perObject, [], "no per-object saved-objects call");
      await p.delete!(created.id, props);
      assert.equal(serverless.space().objects.size, props.objects.length, "no public delete exists there: the objects stay");
    } finally {
      await serverless.stop();
    }
  });

  test("contract: the double reports a conflict when overwrite is not asked for, which is why the provider always asks", async () => {
    const created = await p.create({ connection, ndjson: buildImportNdjson() });
    const { body, contentType } = multipartFile("file", "x.ndjson", "application/ndjson", buildImportNdjson());
    const response = await fetch(`${kibana.url}/api/saved_objects/_import`, { method: "POST", headers: { authorization: `ApiKey ${API_KEY}`, "kbn-xsrf": "true", "content-type": contentType }, body });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { success: boolean; errors: Array<{ error: { type: string } }> };
    assert.equal(answer.success, false);
    assert.ok(answer.errors.length > 0 && answer.errors.every((e) => e.error.type === "conflict"));
    await p.delete!(created.id, created.outs!);
  });
});
