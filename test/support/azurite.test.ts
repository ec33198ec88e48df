import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
import { azuriteConnectionString } from "./env";

test("the Azurite started by the runner stores and returns a block blob", async () => {
  const service = BlobServiceClient.fromConnectionString(azuriteConnectionString());
  const container = service.getContainerClient(`harness-${process.pid}`);
  await container.create();
  const blob = container.getBlockBlobClient("hello.txt");
  await blob.upload("hello", 5);
  const body = await blob.downloadToBuffer();
  assert.equal(body.toString(), "hello");
  await container.delete();
});
