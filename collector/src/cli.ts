#!/usr/bin/env node
// The collector's entry point: `flowlogs-collector <command> [args]` (`npm run collector -- <command>` in the repo).
// Commands live in ./commands and are dispatched from the table below.
import { EXIT, type Command, type CommandIo } from "./commands/command";
import { parseCommand } from "./commands/parse";
import { runCommand } from "./commands/run";
import { escapeControl } from "./safeText";

export const COMMANDS: Readonly<Record<string, Command>> = {
  parse: parseCommand,
  run: runCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `usage: flowlogs-collector <command> [args]\n\ncommands:\n${lines.join("\n")}\n\n` +
    "Run `flowlogs-collector <command> --help` for a command's arguments.";
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(`${help()}\n`);
    return EXIT.ok;
  }
  if (name === undefined) {
    io.stderr.write(`${help()}\n`);
    return EXIT.usage;
  }
  const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr.write(`unknown command "${escapeControl(name)}"; known commands: ${Object.keys(COMMANDS).join(", ")}\n${help()}\n`);
    return EXIT.usage;
  }
  return command.run(args, io);
}

if (require.main === module) {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    // `parse ... | head`: the reader has what it wanted. Anywhere else (run's stdout sink) the write fails and the
    // command says so: its jobs give their tries back and release their leases, and a --once pass exits 1.
    if (process.argv[2] === "parse") process.exit(EXIT.ok);
  });
  main(process.argv.slice(2), process).then(
    (status) => { process.exitCode = status; },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
