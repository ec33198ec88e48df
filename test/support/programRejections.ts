// A Pulumi program run in the test's own process (an inline program on the real engine, or one under mocks): when
// it fails, its rejected outputs and the registrations the engine cut short ("Resource monitor is terminating")
// reach this process as unhandled rejections, as they reach Pulumi's Node.js language host in a real run (which logs
// them with the program's errors). Kept here while the program lives, instead of failing the file from node:test's
// own hook, so a test can check that they are what the failure explains and nothing else.

export interface ProgramRejections {
  /** The rejections since the last call, emptied. */
  take(): string[];
  /** Gives node:test its hook back. */
  restore(): void;
}

export function keepProgramRejections(): ProgramRejections {
  const kept: string[] = [];
  const record = (reason: unknown): void => void kept.push(reason instanceof Error ? reason.message : String(reason));
  const testRunnerHooks = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", record);
  return {
    take: () => kept.splice(0),
    restore: () => {
      process.off("unhandledRejection", record);
      for (const hook of testRunnerHooks) process.on("unhandledRejection", hook);
    },
  };
}
