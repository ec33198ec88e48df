// Small helpers for benchmarks: medians (and means) over repetitions, and printing `name: value` lines.

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Runs `fn` `times` times and returns the median of what it returns (e.g. a rate). */
export function medianOf(times: number, fn: () => number): number {
  return median(Array.from({ length: times }, fn));
}

export function report(name: string, value: number, digits = 2, note = ""): void {
  process.stdout.write(`${name}: ${value.toFixed(digits)}${note ? `  # ${note}` : ""}\n`);
}

export function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** Wall-clock seconds `work` takes. */
export function secondsOf(work: () => void): number {
  const started = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}
