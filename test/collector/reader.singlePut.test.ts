// Blobs written by one Put Blob (copies, uploads: no committed blocks), re-uploaded or re-written as block blobs.
// Real Azurite; behind a proxy where Azure's documented answer differs from Azurite's.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { azuriteBlobEndpoint } from "../support/azurite";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { startFaultyProxy, type Fault } from "../support/faultyProxy";
import { FlowLogBlobWriter } from "../support/flowLogWriter";
import { parseRecordBytes, readNewData, type ReadResult } from "../../collector/src/source/blobReader";
import { emptyCheckpoint, type BlobCheckpoint } from "../../collector/src/checkpoint/state";
import { parseFlowLogText, parseRecords } from "../../collector/src/format";

const HOUR = new Date("2026-11-20T10:00:00Z");
const connection = azuriteConnectionString();
const scratch = scratchContainers(connection);

/** A PT1H.json written the Azure way by `seed`'s NIC, as bytes (the blob itself deleted). */
async function donor(container: ContainerClient, seed: number, minutes: number): Promise<Buffer> {
  const writer = new FlowLogBlobWriter(container, { kind: "nsg-v2", hour: HOUR, seed });
  for (let i = 0; i < minutes; i++) await writer.appendMinute({ records: 3, tuplesPerRecord: 6 });
  const text = await writer.blob.downloadToBuffer();
  await writer.blob.delete();
  return text;
}

interface Read { checkpoint: BlobCheckpoint; records: unknown[]; malformed: string[]; restarts: string[]; result?: ReadResult }

/** One job on the blob from `checkpoint`; `failAt` makes the n-th chunk's delivery fail (a sink outage). */
async function read(container: ContainerClient, name: string, checkpoint: BlobCheckpoint, failAt = 0): Promise<Read> {
  // Asked directly, so the proxy counts the reader's own requests only.
  const direct = BlobServiceClient.fromConnectionString(connection).getContainerClient(container.containerName);
  const createdOn = (await direct.getBlobClient(name).getProperties()).createdOn;
  const out: Read = { checkpoint, records: [], malformed: [], restarts: [] };
  let chunks = 0;
  const job = readNewData(container, { container: container.containerName, name, createdOn }, checkpoint, {
    windowBytes: 2048, onRestart: (reason) => out.restarts.push(reason),
  }, async (chunk) => {
    if (++chunks === failAt) throw new Error("sink down");
    for (const m of chunk.malformed) out.malformed.push(`${m.offset}: ${m.reason}`);
    for (const record of chunk.records) {
      const parsed = parseRecordBytes(record);
      if (parsed.malformed) out.malformed.push(`${parsed.malformed.offset}: ${parsed.malformed.reason}`);
      else out.records.push(parsed.value);
    }
  }, async (saved) => { out.checkpoint = saved; });
  if (failAt) await assert.rejects(job, /sink down/);
  else out.result = await job;
  return out;
}

const documents = (records: unknown[]) => parseRecords(records).documents;

/**
 * The checkpoint without the creation time: Azurite resets it on an overwrite, to the second, so whether it tells a
 * re-upload depends on the clock; here the blob's version alone must.
 */
function withoutCreation(checkpoint: BlobCheckpoint): BlobCheckpoint {
  const { createdOn: _, ...rest } = checkpoint;
  return rest;
}

// Azure's Get Block List: "ETag ... This header is returned only if the blob has committed blocks" (Last-Modified
// likewise). Azurite always sends them: this proxy answers as Azure documents.
const asAzureDocuments: Fault = { dropHeaders: ["etag", "last-modified"], when: (body) => !body.includes("<Block>") };

async function documentedAzure(): Promise<{ container: (name: string) => ContainerClient; seen: Array<{ method: string; path: string; ifMatch?: string }> }> {
  const endpoint = azuriteBlobEndpoint(connection);
  const proxy = await startFaultyProxy(endpoint.origin, ({ path }) => (path.includes("comp=blocklist") ? asAzureDocuments : "forward"));
  after(() => proxy.stop());
  const service = BlobServiceClient.fromConnectionString(connection.replace(endpoint.origin, proxy.url));
  return { container: (name) => service.getContainerClient(name), seen: proxy.seen };
}

test("contract: Get Block List without an ETag (a single-Put blob, as Azure answers): its version is still checked and kept; a re-upload is read whole", async () => {
  const direct = scratch.container("single-put-contract");
  await direct.create();
  const v1 = await donor(direct, 101, 6);
  const v2 = await donor(direct, 202, 9); // another NIC's content, longer
  const azure = await documentedAzure();
  const proxied = azure.container(direct.containerName);
  const name = "sp/PT1H.json";
  const blob = direct.getBlockBlobClient(name);
  await blob.upload(v1, v1.length);
  const etag1 = (await blob.getProperties()).etag!;
  const noEtag = azure.seen.length;
  assert.equal((await proxied.getBlockBlobClient(name).getBlockList("committed")).etag, undefined, "the proxy answers as Azure documents");

  // A sink outage mid-blob: the part-way checkpoint carries the version it belongs to.
  const first = await read(proxied, name, emptyCheckpoint(direct.containerName, name), 2);
  assert.ok(first.checkpoint.offset > 0 && first.checkpoint.offset < v1.length, "progress saved mid-blob");
  assert.equal(first.checkpoint.partialEtag, etag1.replace(/"/g, ""));
  const rest = await read(proxied, name, first.checkpoint);
  assert.deepEqual(rest.restarts, []);
  assert.equal(rest.result?.checkpoint.etag, first.checkpoint.partialEtag, "caught up with the ETag");
  const downloads = azure.seen.slice(noEtag).filter((r) => r.method === "GET" && !r.path.includes("comp="));
  assert.ok(downloads.length > 2 && downloads.every((r) => r.ifMatch === etag1), "every download is conditional on the version");
  assert.equal(azure.seen.slice(noEtag).filter((r) => r.method === "HEAD").length, 2, "one properties request per job");

  // Nothing new: the unchanged shortcut applies, no download.
  const before = azure.seen.length;
  const idle = await read(proxied, name, rest.result!.checkpoint);
  assert.equal(idle.result?.unchanged, true);
  assert.ok(azure.seen.slice(before).every((r) => r.method !== "GET" || r.path.includes("comp=")));

  // Re-uploaded with other content: read again from the start, every record of the new version, none garbled.
  await blob.upload(v2, v2.length);
  const again = await read(proxied, name, withoutCreation(rest.result!.checkpoint));
  assert.equal(again.restarts.length, 1);
  assert.match(again.restarts[0], /new ETag/);
  assert.deepEqual(again.malformed, []);
  assert.deepEqual(documents(again.records), parseFlowLogText(v2.toString()).documents);

  // Azure's normal path (committed blocks, ETag sent) costs no properties request.
  const writer = new FlowLogBlobWriter(direct, { kind: "nsg-v2", hour: HOUR, seed: 7 });
  await writer.appendMinute({ records: 3 });
  const tail = azure.seen.length;
  const grown = await read(proxied, writer.blobName, emptyCheckpoint(direct.containerName, writer.blobName));
  assert.equal(grown.records.length, 3);
  const requests = azure.seen.slice(tail);
  assert.equal(requests.filter((r) => r.path.includes("comp=blocklist")).length, 1);
  assert.deepEqual(requests.filter((r) => r.method !== "GET"), [], "no properties request");
});

test("a checkpoint taken on a single-Put blob is not resumed once the blob was re-written with committed blocks: read again from the start", async () => {
  const container = scratch.container("single-put-rewritten");
  await container.create();
  const v1 = await donor(container, 303, 3);
  const v2 = await donor(container, 404, 6);
  const name = "sp2/PT1H.json";
  const blob = container.getBlockBlobClient(name);
  await blob.upload(v1, v1.length);
  const first = await read(container, name, emptyCheckpoint(container.containerName, name));
  assert.equal(first.checkpoint.blocks, 0);
  assert.equal(first.checkpoint.offset, v1.length - 2);
  // Re-written with Put Block List (1,000-byte blocks), other content.
  const ids: string[] = [];
  for (let at = 0; at < v2.length; at += 1000) {
    const id = Buffer.from(`b${String(ids.length).padStart(6, "0")}`).toString("base64");
    await blob.stageBlock(id, v2.subarray(at, at + 1000), Math.min(1000, v2.length - at));
    ids.push(id);
  }
  await blob.commitBlockList(ids);
  const again = await read(container, name, withoutCreation(first.result!.checkpoint));
  assert.equal(again.restarts.length, 1);
  assert.match(again.restarts[0], /now has committed blocks/);
  assert.deepEqual(again.malformed, []);
  assert.deepEqual(documents(again.records), parseFlowLogText(v2.toString()).documents);
});
