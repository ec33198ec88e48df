// `npm run demo -- [options]`: the command line, validated with messages that say what to change.
export interface DemoOptions {
  /** Minutes of the simulated hour to write (1–60). */
  minutes: number;
  /** Records each NIC writes per minute (1–100). */
  recordsPerMinute: number;
  /** Keep Azurite and Elasticsearch running after the summary, until Ctrl-C. */
  keep: boolean;
  /** Data stream namespace; default "demo" on the demo's own cluster, a unique one on a cluster named by ES_URL. */
  namespace?: string;
  help: boolean;
}

export const DEMO_USAGE = `usage: npm run demo -- [--minutes N] [--records-per-minute N] [--namespace NAME] [--keep]

Writes one simulated hour of Azure NSG (v1, v2) and VNet (v4) flow logs to a local Azurite, minute by minute as
Azure does, runs the collector over it into Elasticsearch, and prints what the dashboard shows.

  --minutes N             minutes of the hour to write, 1-60 (default 60)
  --records-per-minute N  flow-log records each NIC writes per minute, 1-100 (default 6)
  --namespace NAME        data stream namespace (a-z, 0-9, _); default "demo", or a unique one when ES_URL is set
  --keep                  leave Azurite and Elasticsearch running and print their URLs; Ctrl-C stops them

Environment: ES_URL uses that Elasticsearch instead of starting one (ES_API_KEY or ES_USERNAME/ES_PASSWORD
authenticate); ES_VERSION picks the version the demo starts.`;

export class DemoUsageError extends Error {}

export function parseDemoOptions(args: string[]): DemoOptions {
  const options: DemoOptions = { minutes: 60, recordsPerMinute: 6, keep: false, help: false };
  const value = (i: number, flag: string): string => {
    const next = args[i + 1];
    if (next === undefined || next.startsWith("--")) throw new DemoUsageError(`${flag} needs a value`);
    return next;
  };
  const whole = (text: string, flag: string, min: number, max: number): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new DemoUsageError(`${flag} ${JSON.stringify(text)} is not a whole number from ${min} to ${max}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--keep") options.keep = true;
    else if (arg === "--help" || arg === "-h") options.help = true;
    else if (arg === "--minutes") options.minutes = whole(value(i++, arg), arg, 1, 60);
    else if (arg === "--records-per-minute") options.recordsPerMinute = whole(value(i++, arg), arg, 1, 100);
    else if (arg === "--namespace") {
      const name = value(i++, arg);
      if (!/^[a-z0-9_]{1,100}$/.test(name)) throw new DemoUsageError(`--namespace ${JSON.stringify(name)} is invalid: use 1-100 of a-z, 0-9 and _`);
      options.namespace = name;
    } else throw new DemoUsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  return options;
}
