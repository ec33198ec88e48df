// The scripts' shared command-line handling: strict options, --help, the usage on a mistake.
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]> & { help: { type: "boolean" } };

/**
 * The options given, or the exit code to return: 2 after a wrong option (the error and the usage on stderr), 0 after
 * --help (the usage on stdout). `options` declares `help` itself, so its type reaches the values.
 */
export function readCommandLine<T extends Options>(options: T, usage: string): ReturnType<typeof parseArgs<{ options: T; strict: true }>>["values"] | number {
  let values;
  try {
    ({ values } = parseArgs({ options, strict: true }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
    return 2;
  }
  if ((values as { help?: boolean }).help) {
    console.log(usage);
    return 0;
  }
  return values;
}
