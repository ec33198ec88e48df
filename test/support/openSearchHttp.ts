// Plain HTTP to the test OpenSearch (the Elasticsearch client refuses non-Elasticsearch servers). Tests pass
// `opensearchUrl()` in themselves: test/run.ts looks for that call in a test file to decide whether to start it.
export interface OpenSearchAnswer {
  status: number;
  body: any;
}

export function openSearchHttp(node: string) {
  const call = async (method: string, path: string, body?: unknown): Promise<OpenSearchAnswer> => {
    const response = await fetch(new URL(path, node), {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  /** The answer's body, or an error naming the request when it is not a 2xx. */
  const ok = async (method: string, path: string, body?: unknown): Promise<any> => {
    const answer = await call(method, path, body);
    if (answer.status < 200 || answer.status >= 300) throw new Error(`${method} ${path}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  return {
    call,
    ok,
    count: async (index: string, query?: unknown): Promise<number> => {
      await ok("POST", `/${index}/_refresh`);
      return (await ok("POST", `/${index}/_count`, query ? { query } : undefined)).count as number;
    },
  };
}
