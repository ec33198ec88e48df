// A write ended by its WriteOptions.signal (the collector's stop, a lost lease) rather than by the cluster: what its
// waits and requests reject with, so nobody takes it for the cluster's trouble.

export class StoppedWriteError extends Error {
  constructor(signal: AbortSignal) {
    super("the write was stopped before the cluster acknowledged all of it", { cause: signal.reason });
    this.name = "StoppedWriteError";
  }
}

/** Calls `stop` once when `signal` aborts (at once if it already has); returns what removes the listener. */
export function onStop(signal: AbortSignal | undefined, stop: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    stop();
    return () => {};
  }
  signal.addEventListener("abort", stop, { once: true });
  return () => signal.removeEventListener("abort", stop);
}
