// A job's signal: aborted by the first of its sources (the collector's stop, the lease lost), and unhooked from them
// when the job ends. Not AbortSignal.any: each signal it makes from the service-long stop signal left about 180 bytes
// on the heap after the job on the image's Node.js 22 (test/collector/service.stopSignal.test.ts), which a tailing
// service, a job per blob and minute, piles up until its heap runs out.

export interface JobSignal {
  readonly signal: AbortSignal;
  /** Removes the listeners put on the sources; the signal stays as it is. */
  dispose(): void;
}

export function jobSignal(sources: ReadonlyArray<AbortSignal | undefined>): JobSignal {
  const controller = new AbortController();
  const hooked: AbortSignal[] = [];
  const dispose = (): void => {
    for (const source of hooked.splice(0)) source.removeEventListener("abort", abort);
  };
  function abort(this: AbortSignal): void {
    controller.abort(this.reason);
    dispose();
  }
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    source.addEventListener("abort", abort);
    hooked.push(source);
  }
  if (controller.signal.aborted) dispose();
  return { signal: controller.signal, dispose };
}
