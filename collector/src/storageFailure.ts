// Azure Storage failures that say nothing about the data (503s, timeouts, a reset connection, an answer not as asked):
// a blob job that meets one gives its try back (service/blobJob.ts), so a storage incident longer than
// FLOWLOGS_MAX_ATTEMPTS tries sets no good record aside.

/** A storage failure wrapped as what it interrupted, keeping the status and code for the logs and the 403 grace. */
export abstract class StorageFailure extends Error {
  readonly statusCode?: number;
  readonly code?: string;
  constructor(readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = cause instanceof Error ? cause.name : new.target.name;
    const { statusCode, code } = (cause ?? {}) as { statusCode?: unknown; code?: unknown };
    if (typeof statusCode === "number") this.statusCode = statusCode;
    if (typeof code === "string") this.code = code;
  }
}
