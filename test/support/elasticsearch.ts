// Placeholder until the real-Elasticsearch harness lands (issue #4): fails loudly instead of pretending.
export interface RunningElasticsearch {
  url: string;
  stop(): Promise<void>;
}

export async function startElasticsearch(_options: { log?: (line: string) => void } = {}): Promise<RunningElasticsearch> {
  throw new Error("the Elasticsearch test harness is not built yet: set ES_URL to a running cluster");
}
