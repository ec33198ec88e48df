// A configured @elastic/elasticsearch Client for tests: the cluster test/run.ts started, or the one named by ES_URL
// (with ES_API_KEY, or ES_USERNAME/ES_PASSWORD). Tests pass `elasticsearchUrl()` in themselves: test/run.ts looks
// for that call in a test file to decide whether to start Elasticsearch.
import { Client } from "@elastic/elasticsearch";
import { PLAIN_JSON_HEADERS } from "../../collector/src/sink/elasticsearch";

export function esClientOptions(node: string): { node: string; auth?: { apiKey: string } | { username: string; password: string }; headers: Record<string, string> } {
  const { ES_API_KEY: apiKey, ES_USERNAME: username, ES_PASSWORD: password } = process.env;
  const auth = apiKey ? { apiKey } : username && password ? { username, password } : undefined;
  // Plain JSON as the collector sends it, so the tests also run against an 8.x cluster (ES_URL).
  return { node, ...(auth ? { auth } : {}), headers: { ...PLAIN_JSON_HEADERS } };
}

export function esClient(node: string): Client {
  return new Client(esClientOptions(node));
}

/** A fresh data-stream namespace per test, so tests never share a data stream (this engine cannot delete them). */
export function uniqueNamespace(label: string): string {
  return `${label}${process.pid}${Math.random().toString(36).slice(2, 8)}`.toLowerCase().replace(/[^a-z0-9]/g, "");
}
