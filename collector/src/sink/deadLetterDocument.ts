// The document a dead letter is stored as (mapped by dashboards/elasticsearch/component-templates/
// azure-flowlogs-deadletter-mappings.json), and the id it is stored under: derived from its content, so storing the
// same dead letter twice (a retried batch) keeps one copy.
import { createHash } from "node:crypto";
import type { DeadLetter } from "../model";

export function deadLetterDocument(entry: DeadLetter, timestamp: string): Record<string, unknown> {
  return {
    "@timestamp": timestamp,
    error: { message: entry.reason },
    event: { original: entry.raw },
    deadletter: {
      ...(entry.position ? { container: entry.position.container, blob: entry.position.blob } : {}),
      ...(entry.position?.offset !== undefined ? { offset: entry.position.offset } : {}),
      ...(entry.id !== undefined ? { document_id: entry.id } : {}),
    },
  };
}

export function deadLetterId(entry: DeadLetter): string {
  return createHash("sha256")
    .update(JSON.stringify([entry.position ?? null, entry.id ?? null, entry.reason, entry.raw]))
    .digest("base64url").slice(0, 32);
}
