// Structured logs: one JSON object per line, one line per event. Callers pass facts, never secrets (connection
// strings and API keys are not in any event; see describeConfig).

export type Level = "debug" | "info" | "warn" | "error";

export interface LogEvent {
  time: string;
  level: Level;
  event: string;
  replica?: string;
  [field: string]: unknown;
}

export type Logger = (level: Level, event: string, fields?: Record<string, unknown>) => void;

export const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];

/** Lines below `minLevel` are not written; listeners (tests) still see every event. */
export function jsonLogger(write: (line: string) => void, base: Record<string, unknown> = {}, minLevel: Level = "info"): { log: Logger; events: (listener: (event: LogEvent) => void) => void } {
  const listeners: Array<(event: LogEvent) => void> = [];
  const threshold = LEVELS.indexOf(minLevel);
  const log: Logger = (level, event, fields = {}) => {
    const entry: LogEvent = { time: new Date().toISOString(), level, event, ...base, ...fields };
    for (const listener of listeners) listener(entry);
    if (LEVELS.indexOf(level) >= threshold) write(`${JSON.stringify(entry)}\n`);
  };
  return { log, events: (listener) => listeners.push(listener) };
}

/** An error as a short, secret-free string (stack traces of SDK errors can echo request URLs with SAS tokens). */
export function describeError(error: unknown): string {
  // Azure SDK errors carry the HTTP status and the service's error code: lead with them (403 vs 404 matters).
  const { statusCode, code } = (error ?? {}) as { statusCode?: unknown; code?: unknown };
  const status = typeof statusCode === "number" ? `HTTP ${statusCode}${typeof code === "string" ? ` ${code}` : ""}: ` : "";
  const message = status + (error instanceof Error ? error.message : String(error));
  return message
    .replace(/(sig|AccountKey|SharedAccessSignature|token|api_key|password)=[^&;\s"]+/gi, "$1=redacted")
    .replace(/(\w+:\/\/)[^/@\s"]*@/g, "$1(redacted)@")
    .slice(0, 500);
}
