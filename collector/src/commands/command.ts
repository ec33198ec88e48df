// What every CLI command looks like, so cli.ts can dispatch from a table and tests can run commands in-process.

export interface CommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface Command {
  /** One line for `--help`. */
  summary: string;
  /** Usage text shown by `<command> --help` and on usage errors. */
  usage: string;
  /** Runs the command; resolves to the process exit status. */
  run(args: string[], io: CommandIo): Promise<number>;
}

/** Exit statuses shared by all commands. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
