import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient, ContainerClient, ContainerSASPermissions, type BlockBlobClient } from "@azure/storage-blob";
import { azuriteBlobEndpoint, blobViaProxy } from "../support/azurite";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { startFaultyProxy, type Fault } from "../support/faultyProxy";
import { BlobChangedError, BlobGoneError, downloadRange, offsetOfRange } from "../../collector/src/source/download";
import { protocolClientOf } from "../../collector/src/source/protocolRequest";

const scratch = scratchContainers(azuriteConnectionString());



async function uploaded(name: string, size: number): Promise<{ blob: BlockBlobClient; bytes: Buffer; etag: string }> {
  const container = scratch.container("download");
  await container.create();
  const blob = container.getBlockBlobClient(name);
  const bytes = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7919) % 251));
  const { etag } = await blob.upload(bytes, bytes.length);
  return { blob, bytes, etag: etag! };
}

test("contract with the pinned SDK: ranged downloads go through the client's pipeline, one request each, and give the blob's exact bytes", async () => {
  const { blob, bytes, etag } = await uploaded("flows/PT1H.json", 3 * 1024 * 1024 + 17);
  assert.ok(protocolClientOf(blob), "the storage client carries the pipeline downloadRange sends through");
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, () => "forward");
  try {
    const client = blobViaProxy(azuriteConnectionString(), proxy.url, blob.containerName, blob.name);
    const ranges: Array<[number, number]> = [[0, 1], [0, 12], [5, 2_005], [1_000_000, bytes.length], [0, bytes.length], [bytes.length - 3, bytes.length + 100]];
    for (const [start, end] of ranges) {
      const before = proxy.seen.length;
      assert.ok((await downloadRange(client, start, end, etag)).equals(bytes.subarray(start, end)), `[${start}, ${end})`);
      assert.equal(proxy.seen.length - before, 1, `[${start}, ${end}): one request`);
      assert.equal(proxy.seen.at(-1)!.range, `bytes=${start}-${end - 1}`);
      assert.equal(proxy.seen.at(-1)!.ifMatch, etag);
    }
    assert.equal((await downloadRange(client, bytes.length, bytes.length + 10, etag)).length, 0, "a range at the end: nothing there");
    assert.equal((await downloadRange(client, 10, 10, etag)).length, 0);
    assert.ok((await downloadRange(client, 3, 9, undefined)).equals(bytes.subarray(3, 9)), "no condition without an ETag");
    assert.equal(proxy.seen.at(-1)!.ifMatch, undefined);
  } finally {
    await proxy.stop();
  }
});

test("a download through the pipeline tells a changed blob from a gone one, takes 416 as nothing there, and passes other errors on", async () => {
  const { blob, etag } = await uploaded("changing/PT1H.json", 1_000);
  await assert.rejects(downloadRange(blob, 0, 100, '"0x1234"'), (error) => error instanceof BlobChangedError);
  let status = 416;
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method }) => (method === "GET" ? { status } : "forward"));
  try {
    const client = blobViaProxy(azuriteConnectionString(), proxy.url, blob.containerName, blob.name);
    assert.equal((await downloadRange(client, 1_000, 1_010, etag)).length, 0);
    status = 503;
    await assert.rejects(downloadRange(client, 0, 10, etag), (error: { statusCode?: number }) => error.statusCode === 503);
  } finally {
    await proxy.stop();
  }
  await blob.delete();
  await assert.rejects(downloadRange(blob, 0, 100, etag), (error) => error instanceof BlobGoneError);
  await assert.rejects(downloadRange(blob, 0, 100, undefined), (error) => error instanceof BlobGoneError);
});

test("a download cut off mid-body is downloaded again by the SDK: the same bytes", async () => {
  const { blob, bytes, etag } = await uploaded("cut/PT1H.json", 200_000);
  let first = true;
  const faults: Fault[] = [];
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method }) => {
    const fault: Fault = method === "GET" && first ? "cutBody" : "forward";
    if (method === "GET") first = false;
    faults.push(fault);
    return fault;
  });
  try {
    assert.ok((await downloadRange(blobViaProxy(azuriteConnectionString(), proxy.url, blob.containerName, blob.name), 100, 150_100, etag)).equals(bytes.subarray(100, 150_100)));
    assert.deepEqual(proxy.seen.map((request) => [request.fault, request.range]), [["cutBody", "bytes=100-150099"], ["forward", "bytes=100-150099"]]);
  } finally {
    await proxy.stop();
  }
});

test("an answer that is not the range asked for is cut to it when it holds the range within the limit, and refused otherwise", () => {
  const offset = (status: number, contentRange: string | undefined, contentLength: number, start: number, end: number, limit = end - start): number =>
    offsetOfRange({ status, contentRange, contentLength }, start, end, limit, "b");
  assert.equal(offset(206, "bytes 4-7/16", 4, 4, 8), 0, "the range asked for");
  assert.equal(offset(206, undefined, 4, 4, 8), 0, "a 206 without Content-Range starts where asked");
  assert.equal(offset(206, "bytes 4-15/*", NaN, 4, 8), 0, "no Content-Length");
  assert.equal(offset(206, "bytes */16", 0, 16, 20), 0, "an empty answer: nothing there");
  assert.equal(offset(200, undefined, 16, 4, 8, 16), 4, "the whole blob within the limit: cut to the range");
  assert.equal(offset(200, undefined, 16, 20, 40, 16), 20, "the whole blob, ending before the range");
  assert.equal(offset(206, "bytes 2-9/16", 8, 4, 8, 8), 2, "more than asked for, on both sides, within the limit");
  const refused = /not that range, so not taken; it will be read again on the next poll/;
  assert.throws(() => offset(200, undefined, 16, 4, 8), refused, "the whole blob beyond the limit");
  assert.throws(() => offset(206, "bytes 4-15/16", 12, 4, 8), refused, "more than asked for, beyond the limit");
  for (const contentRange of ["bytes 5-7/16", "bytes */16", "4-7/16", "bytes 4-7"]) {
    assert.throws(() => offset(206, contentRange, 3, 4, 8, 100), refused, contentRange);
  }
});

test("a ranged download answered with the whole blob (a hop dropped the range) gives the range's exact bytes within the limit, through the pipeline and the SDK, and fails beyond it", async () => {
  const { blob, bytes } = await uploaded("whole/PT1H.json", 300_000);
  const container = BlobServiceClient.fromConnectionString(azuriteConnectionString()).getContainerClient(blob.containerName);
  // A SAS signs no header, so Azurite serves the request the proxy sends without x-ms-range (shared key would refuse it).
  const sasUrl = await container.generateSasUrl({ permissions: ContainerSASPermissions.parse("r"), expiresOn: new Date(Date.now() + 3_600_000) });
  let cutFirst = false;
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ method }) => {
    if (method !== "GET") return "forward";
    if (cutFirst) {
      cutFirst = false;
      return "cutBody";
    }
    return "dropRange";
  });
  try {
    const client = new ContainerClient(sasUrl.replace(azuriteBlobEndpoint(azuriteConnectionString()).origin, proxy.url)).getBlockBlobClient(blob.name);
    for (const viaSdk of [false, true]) {
      // At the end Azurite answers an empty 206 (nothing to cut off): through the pipeline only.
      for (const [start, end] of [[0, 10], [1_000, 151_000], [299_990, 300_100], ...(viaSdk ? [] : [[300_000, 300_010]])] as Array<[number, number]>) {
        cutFirst = viaSdk;
        const before = proxy.seen.length;
        assert.ok((await downloadRange(client, start, end, undefined, 300_000)).equals(bytes.subarray(start, end)), `[${start}, ${end})${viaSdk ? " via the SDK" : ""}`);
        assert.deepEqual(proxy.seen.slice(before).map((request) => [request.fault, request.status]),
          [...(viaSdk ? [["cutBody", 206]] : []), ["dropRange", 200]], "Azurite answered the dropped range with the whole blob");
      }
      cutFirst = viaSdk;
      await assert.rejects(downloadRange(client, 1_000, 151_000, undefined, 299_999), /300000 bytes \(status 200\): not that range/);
    }
  } finally {
    await proxy.stop();
  }
});
