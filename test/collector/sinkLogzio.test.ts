// The Logz.io sink against a loopback double of the bulk listener that ENFORCES the documented contract: POST with
// ?token=&type= (401 for a missing or wrong token), a body of at most 10,485,760 bytes (413), one JSON object per
// line of at most 500,000 bytes, else 400 with the counts of malformed, oversized and empty lines (valid lines kept).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { LOGZIO_MAX_BODY_BYTES, LogzioSink } from "../../collector/src/sink/logzio";
import { StoppedWriteError } from "../../collector/src/sink/stoppedWrite";
import { identifiedDocument } from "../../collector/src/ecs";
import { describeConfig, loadConfig } from "../../collector/src/service/config";
import { createSink } from "../../collector/src/service/sinks";
import { sampleBatch } from "../elasticsearch/sampleDocuments";

const TOKEN = "sEcReTtOkEnAbCdEfGhIjKlMnOpQrStU";
const position = { container: "insights-logs-flowlogflowevent", blob: "y=2026/m=11/d=27/h=04/m=00/PT1H.json", offset: 4096 };

/** "hang": the request is read and never answered (a listener that stopped answering). */
type Fault = "drop" | "hang" | { status: number; body?: string };

interface Listener {
  url: string;
  /** Accepted lines, parsed, with the type they were sent under. */
  accepted: Array<{ type: string; doc: any }>;
  requests: Array<{ status: number | "drop" | "hang"; bytes: number; lines: number; closed?: boolean }>;
  faults: Fault[];
  stop(): Promise<void>;
}

const listeners: Listener[] = [];
after(async () => {
  for (const listener of listeners) await listener.stop();
});

async function startListener(): Promise<Listener> {
  const sockets = new Set<Socket>();
  const listener: Listener = { url: "", accepted: [], requests: [], faults: [], stop: async () => {} };
  const answer = (res: ServerResponse, status: number, body = ""): void => {
    res.writeHead(status, body ? { "content-type": "application/json" } : {});
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const text = body.toString("utf8");
      const lines = text.split("\n");
      if (lines.at(-1) === "") lines.pop();
      const fault = listener.faults.shift();
      const request = { status: fault === "drop" || fault === "hang" ? fault : fault?.status ?? 0, bytes: body.length, lines: lines.length, closed: false };
      listener.requests.push(request);
      const record = (status: number): void => { request.status = status; };
      if (fault === "drop") return req.socket.destroy();
      if (fault === "hang") return void req.socket.once("close", () => { request.closed = true; });
      // "{url}" in a fault's body echoes the request URL back, as some proxies do in their error pages.
      if (fault) return answer(res, fault.status, fault.body?.replace("{url}", req.url ?? ""));
      const url = new URL(req.url ?? "/", "http://listener");
      if (req.method !== "POST" || url.pathname !== "/") { record(404); return answer(res, 404); }
      if (url.searchParams.get("token") !== TOKEN) { record(401); return answer(res, 401); }
      const type = url.searchParams.get("type") ?? "http-bulk";
      if (/\s/.test(type)) { record(400); return answer(res, 400, JSON.stringify({ malformedLines: lines.length, successfulLines: 0, oversizedLines: 0, emptyLogLines: 0 })); }
      if (body.length > LOGZIO_MAX_BODY_BYTES) { record(413); return answer(res, 413); }
      const counts = { malformedLines: 0, successfulLines: 0, oversizedLines: 0, emptyLogLines: 0 };
      for (const line of lines) {
        if (!line.trim()) { counts.emptyLogLines++; continue; }
        if (Buffer.byteLength(line) > 500_000) { counts.oversizedLines++; continue; }
        let doc: unknown;
        try { doc = JSON.parse(line); } catch { counts.malformedLines++; continue; }
        if (!doc || typeof doc !== "object" || Array.isArray(doc)) { counts.malformedLines++; continue; }
        counts.successfulLines++;
        listener.accepted.push({ type, doc });
      }
      const ok = counts.successfulLines === lines.length;
      record(ok ? 200 : 400);
      answer(res, ok ? 200 : 400, ok ? "" : JSON.stringify(counts));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  listener.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  listener.stop = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
  listeners.push(listener);
  return listener;
}

const noWait = async (): Promise<void> => {};

test("contract: one JSON document per line with its id as event.id, under the configured type; no dedupe (at-least-once)", async () => {
  const listener = await startListener();
  const sink = new LogzioSink({ url: listener.url, token: TOKEN, type: "azure_flowlogs", maxBatchDocuments: 4 });
  const batch = sampleBatch(10, "lz");
  assert.deepEqual(await sink.write(batch, position), { indexed: 10, duplicates: 0, deadLettered: 0, retries: 0 });
  assert.deepEqual(listener.requests.map((request) => request.lines), [4, 4, 2]);
  assert.deepEqual(listener.accepted.map(({ doc }) => doc.event.id), batch.map((item) => item.id));
  assert.ok(listener.accepted.every(({ type }) => type === "azure_flowlogs"));
  const first = listener.accepted[0]!.doc;
  assert.ok(!("_id" in first), "no reserved underscore field");
  assert.deepEqual({ ...first, event: { ...first.event, id: undefined } }, { ...batch[0]!.doc, event: { ...batch[0]!.doc.event, id: undefined } });
  // The listener cannot tell a re-sent document: it is stored again. The README says so.
  assert.equal((await sink.write(batch.slice(0, 2))).indexed, 2);
  assert.equal(listener.accepted.filter(({ doc }) => doc.event.id === batch[0]!.id).length, 2);
});

test("contract: batches stay within the 10,485,760-byte body limit", async () => {
  const listener = await startListener();
  const sink = new LogzioSink({ url: listener.url, token: TOKEN });
  const many = sampleBatch(17_000, "lzbig"); // about 12 MB of lines
  const result = await sink.write(many);
  assert.deepEqual(result, { indexed: 17_000, duplicates: 0, deadLettered: 0, retries: 0 });
  assert.ok(listener.requests.length >= 2, `split into ${listener.requests.length} requests`);
  assert.ok(listener.requests.every((request) => request.status === 200 && request.bytes <= LOGZIO_MAX_BODY_BYTES));
  assert.equal(listener.accepted.length, 17_000);
  assert.throws(() => new LogzioSink({ token: TOKEN, maxBatchBytes: LOGZIO_MAX_BODY_BYTES + 1 }), /over the Logz\.io listener's limit of 10485760 bytes/);
});

test("contract: a document over the 500,000-byte line limit is dead-lettered with its reason, cut to fit; the rest lands", async () => {
  const listener = await startListener();
  const sink = new LogzioSink({ url: listener.url, token: TOKEN, type: "flows" });
  const batch = sampleBatch(3, "lzline");
  const huge = identifiedDocument("lz-huge", { ...batch[0]!.doc, rule: { name: "r".repeat(600_000) } });
  assert.deepEqual(await sink.write([batch[0]!, huge, batch[1]!, batch[2]!], position), { indexed: 3, duplicates: 0, deadLettered: 1, retries: 0 });
  assert.ok(listener.requests.every((request) => request.status === 200), "nothing sent breaks the contract");
  const flows = listener.accepted.filter(({ type }) => type === "flows");
  assert.deepEqual(flows.map(({ doc }) => doc.event.id), ["lzline-0", "lzline-1", "lzline-2"]);
  const letters = listener.accepted.filter(({ type }) => type === "flows_deadletter");
  assert.equal(letters.length, 1);
  const letter = letters[0]!.doc;
  assert.match(letter.error.message, /document is 6\d{5} bytes, over the Logz\.io listener's limit of 500000 bytes per line/);
  assert.equal(letter.deadletter.document_id, "lz-huge");
  assert.equal(letter.deadletter.blob, position.blob);
  assert.equal(letter.deadletter.truncated, true);
  assert.ok(letter.deadletter.original_bytes > 600_000);
  assert.ok(JSON.stringify(huge.doc).startsWith(letter.event.original));
});

test("contract: parse rejects go to the dead-letter type with reason, raw text and position", async () => {
  const listener = await startListener();
  const sink = new LogzioSink({ url: listener.url, token: TOKEN });
  await sink.deadLetter([{ reason: "tuple has 9 fields, expected 8 or 13", raw: "1700000000,10.0.0.1", position }]);
  assert.equal(listener.accepted.length, 1);
  assert.equal(listener.accepted[0]!.type, "azure_flowlogs_deadletter");
  assert.equal(listener.accepted[0]!.doc.error.message, "tuple has 9 fields, expected 8 or 13");
  assert.equal(listener.accepted[0]!.doc.event.original, "1700000000,10.0.0.1");
  assert.equal(listener.accepted[0]!.doc.deadletter.offset, 4096);
});

test("contract: 429, 503 and a dropped connection are retried with backoff; the token never appears in log lines", async () => {
  const listener = await startListener();
  listener.faults.push({ status: 429 }, "drop", { status: 503 });
  const waits: number[] = [];
  const logged: string[] = [];
  const sink = new LogzioSink({
    url: listener.url, token: TOKEN, maxRetries: 4, initialBackoffMs: 100, random: () => 0.5,
    sleep: async (ms) => { waits.push(ms); }, log: (line) => logged.push(line),
  });
  assert.deepEqual(await sink.write(sampleBatch(5, "lzretry")), { indexed: 5, duplicates: 0, deadLettered: 0, retries: 3 });
  assert.deepEqual(listener.requests.map((request) => request.status), [429, "drop", 503, 200]);
  assert.deepEqual(waits, [75, 150, 300]);
  assert.equal(logged.length, 3);
  assert.ok(logged.every((line) => !line.includes(TOKEN)), logged.join("\n"));
});

test("contract: the write's onWaiting is awaited before each wait, for documents and for dead letters; not without a wait", async () => {
  const listener = await startListener();
  const steps: string[] = [];
  const sink = new LogzioSink({ url: listener.url, token: TOKEN, random: () => 0.5, sleep: async () => { steps.push("sleep"); } });
  const onWaiting = async (): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    steps.push("onWaiting");
  };
  await sink.write(sampleBatch(2, "lzquiet"), position, { onWaiting });
  assert.deepEqual(steps, [], "a healthy listener: no call");
  listener.faults.push({ status: 503 }, { status: 429 });
  assert.equal((await sink.write(sampleBatch(2, "lzwait"), position, { onWaiting })).indexed, 2);
  listener.faults.push({ status: 503 });
  await sink.deadLetter([{ position, reason: "test", raw: "x" }], { onWaiting });
  assert.deepEqual(steps, ["onWaiting", "sleep", "onWaiting", "sleep", "onWaiting", "sleep"]);
});

test("a write stopped while it waits to retry (429) ends at once, without another request; one stopped with its request unanswered ends at once and closes it", async () => {
  const listener = await startListener();
  // Real waits: 10 s before the first retry, far beyond the stop.
  const sink = new LogzioSink({ url: listener.url, token: TOKEN, maxRetries: 10, initialBackoffMs: 10_000, random: () => 0.5, log: () => {} });
  listener.faults.push({ status: 429 });
  const waiting = new AbortController();
  const started = Date.now();
  const stoppedInWait = sink.write(sampleBatch(3, "lzstopwait"), position, { signal: waiting.signal, onWaiting: async () => { setTimeout(() => waiting.abort(), 50); } }); // stopped during the wait
  await assert.rejects(stoppedInWait, StoppedWriteError);
  assert.ok(Date.now() - started < 2_000, `ended after ${Date.now() - started} ms`);
  assert.deepEqual(listener.requests.map((r) => r.status), [429], "no retry sent after the stop");

  listener.faults.push("hang");
  const inFlight = new AbortController();
  const stoppedInFlight = sink.write(sampleBatch(3, "lzstophang"), position, { signal: inFlight.signal });
  while (listener.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  const stoppedAt = Date.now();
  inFlight.abort();
  await assert.rejects(stoppedInFlight, StoppedWriteError);
  assert.ok(Date.now() - stoppedAt < 1_000, `ended ${Date.now() - stoppedAt} ms after the stop`);
  for (let i = 0; i < 100 && !listener.requests[1]!.closed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(listener.requests[1]!.closed, true, "the unanswered request was closed");
  assert.equal(listener.requests.length, 2, "and not sent again");
  assert.deepEqual(listener.accepted, []);
});

test("contract: a wrong token (401) is not retried; no error ever carries the token", async () => {
  const listener = await startListener();
  const wrong = "WrOnGtOkEnWrOnGtOkEnWrOnGtOkEn12";
  const sink = new LogzioSink({ url: listener.url, token: wrong, sleep: noWait });
  await assert.rejects(sink.write(sampleBatch(1, "lzdenied")), (error: Error) => {
    assert.match(error.message, /refused the request \(HTTP 401\): the token is missing or wrong, check FLOWLOGS_LOGZIO_TOKEN/);
    assert.ok(!error.message.includes(wrong));
    return true;
  });
  assert.deepEqual(listener.requests.map((request) => request.status), [401]);
  // An answer that echoes the request URL (with the token) is scrubbed before it reaches a message.
  listener.faults.push({ status: 403, body: "forbidden: {url}" });
  const echoed = new LogzioSink({ url: listener.url, token: TOKEN, sleep: noWait });
  await assert.rejects(echoed.write(sampleBatch(1, "lzecho")), (error: Error) => {
    assert.match(error.message, /HTTP 403\): forbidden: \/\?token=<token>&type=azure_flowlogs/);
    assert.ok(!error.message.includes(TOKEN));
    return true;
  });
  // Retries running out against a closed port: the network error is reported, the token is not.
  await listener.stop();
  const gone = new LogzioSink({ url: listener.url, token: TOKEN, maxRetries: 1, sleep: noWait });
  await assert.rejects(gone.write(sampleBatch(1, "lzgone")), (error: Error) => {
    assert.match(error.message, /gave up sending 1 document\(s\) to http:\/\/127\.0\.0\.1:\d+ \(type azure_flowlogs\) after 1 retries: last error .*ECONNREFUSED/);
    assert.ok(!error.message.includes(TOKEN));
    return true;
  });
});

test("contract: a 400 partial answer counts the accepted lines and keeps the whole batch as dead letters", async () => {
  const listener = await startListener();
  listener.faults.push({ status: 400, body: JSON.stringify({ malformedLines: 1, successfulLines: 3, oversizedLines: 0, emptyLogLines: 0 }) });
  const sink = new LogzioSink({ url: listener.url, token: TOKEN, sleep: noWait });
  assert.deepEqual(await sink.write(sampleBatch(4, "lzpartial"), position), { indexed: 3, duplicates: 0, deadLettered: 1, retries: 0 });
  const letters = listener.accepted.filter(({ type }) => type === "azure_flowlogs_deadletter");
  assert.equal(letters.length, 4);
  assert.match(letters[0]!.doc.error.message, /accepted 3 of 4 lines \(malformed 1, oversized 0, empty 0\) without naming them/);
  // A 413 is a permanent refusal with the fix named.
  listener.faults.push({ status: 413 });
  await assert.rejects(sink.write(sampleBatch(1, "lz413")), /HTTP 413\): the body of \d+ bytes is too large, lower maxBatchBytes/);
});

test("options: the token stays out of the URL, plain http only on loopback, the type has no spaces", () => {
  assert.throws(() => new LogzioSink({ url: `https://listener.logz.io:8071/?token=${TOKEN}`, token: TOKEN }), (error: Error) =>
    /must not carry a query string/.test(error.message) && !error.message.includes(TOKEN));
  assert.throws(() => new LogzioSink({ url: "http://listener.logz.io:8070", token: TOKEN }), /must use https/);
  assert.throws(() => new LogzioSink({ url: "not a url", token: TOKEN }), /invalid Logz\.io listener URL/);
  assert.throws(() => new LogzioSink({ token: "" }), /token is empty/);
  assert.throws(() => new LogzioSink({ token: TOKEN, type: "my type" }), /invalid Logz\.io log type "my type"/);
  assert.equal(new LogzioSink({ token: TOKEN }).target, "https://listener.logz.io:8071 (type azure_flowlogs)");
  assert.equal(new LogzioSink({ url: "https://listener-eu.logz.io:8071", token: TOKEN }).target, "https://listener-eu.logz.io:8071 (type azure_flowlogs)");
});

test("contract: FLOWLOGS_SINK=logzio is validated naming the variable, builds a sink that ships, and never shows the token", async () => {
  const base = { FLOWLOGS_STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net", FLOWLOGS_SINK: "logzio" };
  assert.throws(() => loadConfig(base), /FLOWLOGS_LOGZIO_TOKEN is required when FLOWLOGS_SINK=logzio/);
  const withToken = { ...base, FLOWLOGS_LOGZIO_TOKEN: TOKEN };
  assert.throws(() => loadConfig({ ...withToken, FLOWLOGS_LOGZIO_URL: `https://listener.logz.io:8071/?token=${TOKEN}` }), (error: Error) =>
    /FLOWLOGS_LOGZIO_URL must not carry a query string/.test(error.message) && !error.message.includes(TOKEN));
  assert.throws(() => loadConfig({ ...withToken, FLOWLOGS_LOGZIO_URL: "http://listener.logz.io:8070" }), /FLOWLOGS_LOGZIO_URL must use https/);
  assert.throws(() => loadConfig({ ...withToken, FLOWLOGS_LOGZIO_URL: "listener" }), /FLOWLOGS_LOGZIO_URL "listener" is not a URL/);
  assert.throws(() => loadConfig({ ...withToken, FLOWLOGS_LOGZIO_TYPE: "azure flows" }), /FLOWLOGS_LOGZIO_TYPE "azure flows" is invalid/);
  assert.throws(() => loadConfig({ ...base, FLOWLOGS_LOGZIO_TOKEN: "abc def" }), (error: Error) =>
    /FLOWLOGS_LOGZIO_TOKEN contains spaces/.test(error.message) && !error.message.includes("abc def"));
  assert.deepEqual(loadConfig(withToken).sink, { kind: "logzio", url: "https://listener.logz.io:8071", token: TOKEN, type: "azure_flowlogs" });
  const listener = await startListener();
  const config = loadConfig({ ...withToken, FLOWLOGS_LOGZIO_URL: listener.url, FLOWLOGS_LOGZIO_TYPE: "nsg_flows" });
  const described = JSON.stringify(describeConfig(config));
  assert.ok(!described.includes(TOKEN), described);
  assert.match(described, /"kind":"logzio".*"type":"nsg_flows"/);
  const sink = createSink(config.sink, () => {});
  assert.ok(sink instanceof LogzioSink);
  assert.equal((await sink.write(sampleBatch(2, "lzconf"))).indexed, 2);
  assert.deepEqual(listener.accepted.map(({ type }) => type), ["nsg_flows", "nsg_flows"]);
});
