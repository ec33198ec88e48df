// One Entra ID token fetch serves every storage request waiting for it (core-rest-pipeline's token cycler hands that
// fetch the first waiting request's signal). A request that is stopped (its job stopped or lost its lease) must stop
// waiting at once without failing the others: before, the stop ended the shared fetch and every waiting request of
// the process failed with "the operation was aborted" (false blob.failed / list.failed).
// The collector's own client (createBlobService: DefaultAzureCredential, a user-assigned identity, with the request
// deadline on it) against a local token endpoint that answers after TOKEN_DELAY_MS. The storage account is a port
// nothing listens on: a request that got its token is sent and refused (ECONNREFUSED), which proves it was not failed
// by another request's stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { createBlobService } from "../../collector/src/source/storage";
import { withRequestDeadline } from "../../collector/src/source/requestDeadline";
import { useManagedIdentityEndpoint } from "../support/managedIdentityEnv";

const TOKEN_DELAY_MS = 800;
const DEADLINE_MS = 5_000;

test("a storage request stopped while it waits for the shared token fetch ends at once; the request waiting beside it gets the token and is sent", { timeout: 30_000 }, async () => {
  const tokenRequests: IncomingMessage[] = [];
  const endpoint = createServer((request, response) => {
    tokenRequests.push(request);
    setTimeout(() => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({
        access_token: "local-test-token", token_type: "Bearer", resource: "https://storage.azure.com",
        expires_on: String(Math.floor(Date.now() / 1000) + 3600), client_id: "11111111-2222-3333-4444-555555555555",
      }));
    }, TOKEN_DELAY_MS);
  });
  await new Promise<void>((listening) => endpoint.listen(0, "127.0.0.1", listening));
  const restoreEnv = useManagedIdentityEndpoint(`http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/msi/token`);
  try {
    const service = withRequestDeadline(createBlobService(
      { accountUrl: "https://127.0.0.1:9/devstoreaccount1", managedIdentityClientId: "11111111-2222-3333-4444-555555555555" },
      DEADLINE_MS, { retryOptions: { maxTries: 1 } },
    ), DEADLINE_MS);
    const stop = new AbortController();
    const started = Date.now();
    const outcome = (promise: Promise<unknown>) => promise.then(
      () => ({ error: undefined as unknown, afterMs: Date.now() - started }),
      (error: unknown) => ({ error, afterMs: Date.now() - started }));
    // The stopped request asks first, so the shared fetch carries its signal.
    const stopped = outcome(service.getContainerClient("stopped").getProperties({ abortSignal: stop.signal }));
    const beside = outcome(service.getContainerClient("beside").getProperties());
    setTimeout(() => stop.abort(), 100);

    const first = await stopped;
    assert.equal((first.error as Error | undefined)?.name, "AbortError", String(first.error));
    assert.ok(first.afterMs < TOKEN_DELAY_MS, `the stopped request ended after ${first.afterMs} ms, not at once`);

    const second = await beside;
    const error = second.error as { name?: string; code?: string; message?: string } | undefined;
    assert.notEqual(error?.name, "AbortError", `the request beside it failed with the other's stop: ${error?.message}`);
    assert.equal(error?.code, "ECONNREFUSED", `sent with its token and refused by the closed port: ${error?.message}`);
    assert.ok(second.afterMs >= TOKEN_DELAY_MS - 50, `it waited for the token (${second.afterMs} ms)`);
    assert.equal(tokenRequests.length, 1, "one token fetch served both");
  } finally {
    restoreEnv();
    endpoint.closeAllConnections();
    await new Promise((closed) => endpoint.close(closed));
  }
});
