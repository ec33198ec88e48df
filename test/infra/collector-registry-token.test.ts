// The ACR token exchange the image push uses (contract: POST /oauth2/exchange, form-encoded, grant_type
// access_token, answer { refresh_token }), against a fake fetch: errors name the fix and never carry a token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ACR_TOKEN_USERNAME, exchangeForAcrRefreshToken } from "../../infra/components/containerRegistry";

const AAD_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.aad-token-body.sig";

function fakeFetch(status: number, body: string, seen: Array<{ url: string; init: RequestInit }>): typeof fetch {
  return (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), init: init ?? {} });
    return new Response(body, { status });
  }) as typeof fetch;
}

test("registry token exchange (contract): form-encoded POST to /oauth2/exchange, refresh token returned", async () => {
  const seen: Array<{ url: string; init: RequestInit }> = [];
  const token = await exchangeForAcrRefreshToken({ loginServer: "myacr.azurecr.io", aadToken: AAD_TOKEN, tenant: "t-1" },
    fakeFetch(200, JSON.stringify({ refresh_token: "acr-refresh" }), seen));
  assert.equal(token, "acr-refresh");
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.url, "https://myacr.azurecr.io/oauth2/exchange");
  assert.equal(seen[0]!.init.method, "POST");
  assert.deepEqual(seen[0]!.init.headers, { "content-type": "application/x-www-form-urlencoded" });
  const form = new URLSearchParams(String(seen[0]!.init.body));
  assert.deepEqual(Object.fromEntries(form), { grant_type: "access_token", service: "myacr.azurecr.io", access_token: AAD_TOKEN, tenant: "t-1" });
  assert.equal(ACR_TOKEN_USERNAME, "00000000-0000-0000-0000-000000000000");
});

test("registry token exchange: a refusal names the registry and the missing role, never the token", async () => {
  const refusal = exchangeForAcrRefreshToken({ loginServer: "myacr.azurecr.io", aadToken: AAD_TOKEN },
    fakeFetch(401, '{"errors":[{"code":"UNAUTHORIZED"}]}', []));
  await assert.rejects(refusal, (error: Error) => {
    assert.match(error.message, /myacr\.azurecr\.io\/oauth2\/exchange answered HTTP 401/);
    assert.match(error.message, /AcrPush, Contributor or Owner/);
    assert.match(error.message, /Container Registry Repository Writer if the registry is in ABAC/, "the role for the other mode too");
    assert.ok(!error.message.includes(AAD_TOKEN));
    return true;
  });
});

test("registry token exchange: no refresh token in the answer, or no Azure token at all, is a clear error", async () => {
  await assert.rejects(exchangeForAcrRefreshToken({ loginServer: "myacr.azurecr.io", aadToken: AAD_TOKEN }, fakeFetch(200, "{}", [])), /without a refresh_token/);
  await assert.rejects(exchangeForAcrRefreshToken({ loginServer: "myacr.azurecr.io", aadToken: AAD_TOKEN }, fakeFetch(200, "<html>", [])), /without a refresh_token/);
  const seen: Array<{ url: string; init: RequestInit }> = [];
  await assert.rejects(exchangeForAcrRefreshToken({ loginServer: "myacr.azurecr.io", aadToken: "" }, fakeFetch(200, "{}", seen)), /sign in \(az login/);
  assert.equal(seen.length, 0, "nothing is sent without a token");
});
