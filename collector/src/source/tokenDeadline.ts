// A deadline on getting the Entra ID token a storage request is signed with. The storage pipeline's bearer-token
// policy asks the credential before each try is sent, above the request deadline (requestDeadline.ts), and
// @azure/identity sets no limit of its own: ManagedIdentityCredential gives MSAL no abort signal (it ignores the
// caller's), its HTTP requests have no timeout (only DefaultAzureCredential's IMDS probe has one, 1 s to the headers),
// and the token cycler shares one pending refresh among all requests. A token endpoint that stops answering would hold
// every storage request, so every job and the poll, for ever.
//
// Two parts, both of FLOWLOGS_STORAGE_TIMEOUT_MS: getToken fails with a RestError ETIMEDOUT, which the storage SDK's
// retry policy retries like a socket timeout (a request whose tries all fail is a storage failure: a listing fails
// its poll, a job gives its try back); and each HTTP request of the credential's own is aborted, so a stalled
// connection to the token endpoint is closed rather than left open behind the given-up getToken. A request that is
// stopped stops waiting for the shared fetch on its own (stopWaitingForTokenPolicy), without ending it for the rest.
import { createDefaultHttpClient, RestError, type HttpClient, type PipelinePolicy } from "@azure/core-rest-pipeline";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";

export class TokenDeadlineCredential implements TokenCredential {
  constructor(readonly credential: TokenCredential, readonly ms: number) {}

  getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken | null> {
    return new Promise((resolve, reject) => {
      const controller = new AbortController();
      const fail = (error: unknown): void => {
        controller.abort(error);
        reject(error);
      };
      const timer = setTimeout(() => fail(new RestError(
        `no access token came from the storage credential (${this.credential.constructor.name}: managed identity or Microsoft Entra ID) ` +
          `for ${this.ms} ms (FLOWLOGS_STORAGE_TIMEOUT_MS): the storage request was not sent`,
        { code: "ETIMEDOUT" },
      )), this.ms);
      timer.unref();
      // The caller's signal is not followed: the token cycler shares this one fetch among every request waiting for a
      // token and hands it the first one's signal, so following it would fail them all when that one request is
      // stopped (its job stopped or lost its lease). That request stops waiting in stopWaitingForTokenPolicy instead.
      const done = (): void => clearTimeout(timer);
      this.credential.getToken(scopes, { ...options, abortSignal: controller.signal }).then(
        (token) => { done(); resolve(token); },
        (error: unknown) => { done(); reject(error); },
      );
    });
  }
}

export const STOP_WAITING_FOR_TOKEN_POLICY = "flowlogsStopWaitingForToken";
/** The storage pipeline's policy that gets each try its token (core-rest-pipeline's bearerTokenAuthenticationPolicy). */
export const BEARER_TOKEN_POLICY = "bearerTokenAuthenticationPolicy";

/**
 * Ahead of the bearer-token policy: a request whose signal fires stops waiting at once, with an AbortError as an
 * aborted send gives, while the token fetch it may be waiting for goes on for the other requests. What the rest of
 * the pipeline does with the request afterwards (an aborted send) is not waited for.
 */
export function stopWaitingForTokenPolicy(): PipelinePolicy {
  return {
    name: STOP_WAITING_FOR_TOKEN_POLICY,
    sendRequest(request, next) {
      const signal = request.abortSignal;
      if (!signal) return next(request);
      if (signal.aborted) return Promise.reject(stoppedError());
      const sent = next(request);
      return new Promise((resolve, reject) => {
        const onAbort = (): void => {
          sent.catch(() => undefined);
          reject(stoppedError());
        };
        signal.addEventListener("abort", onAbort, { once: true });
        const settle = (): void => signal.removeEventListener("abort", onAbort);
        sent.then((response) => { settle(); resolve(response); }, (error: unknown) => { settle(); reject(error); });
      });
    },
  };
}

function stoppedError(): Error {
  const error = new Error("the storage request was stopped (the operation was aborted)");
  error.name = "AbortError"; // what an aborted send rejects with: the storage retry policy does not retry it
  return error;
}

/** An HTTP client for a credential's own requests that aborts each after `ms`, its body included (token answers are small). */
export function httpClientWithDeadline(ms: number, client: HttpClient = createDefaultHttpClient()): HttpClient {
  return {
    async sendRequest(request) {
      const outer = request.abortSignal;
      const controller = new AbortController();
      const abort = (): void => controller.abort();
      const timer = setTimeout(abort, ms);
      timer.unref();
      outer?.addEventListener("abort", abort);
      if (outer?.aborted) abort();
      request.abortSignal = controller.signal;
      try {
        return await client.sendRequest(request);
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener("abort", abort);
        request.abortSignal = outer;
      }
    },
  };
}
