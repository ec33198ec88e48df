// The threat list file (FLOWLOGS_THREAT_LIST_FILE): loaded at start-up, where a list that cannot be used stops the
// collector, and checked again before every poll. The check is a stat (modification time, size, inode); only when
// that moved is the file read, and only when its SHA-256 moved is it parsed. Polling rather than fs.watch: on an
// Azure Files (SMB) mount, how the list reaches the container, changes written by other clients raise no inotify
// event, and a stat a minute costs nothing. A reload that fails keeps the list loaded before and says why.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import type { ThreatIndicator, ThreatLookup } from "../model";
import { parseThreatList, type BadLine, type ThreatList } from "../enrich/threatList";
import { ConfigError } from "./config";
import type { Logger } from "./logger";

export interface ThreatListSettings {
  file: string;
  /** Larger files are refused (memory bound). */
  maxBytes: number;
}

/** Bad lines named in one log event; the count says how many there were in all. */
const BAD_LINES_LOGGED = 20;

class ThreatListUnusable extends Error {}

interface Loaded {
  list: ThreatList;
  sha256: string;
  badLines: BadLine[];
}

export class ThreatListFile implements ThreatLookup {
  private constructor(
    private readonly settings: ThreatListSettings,
    private readonly log: Logger,
    private current: Loaded,
    /** The file version (stat) last looked at, loaded or refused: refused versions are reported once. */
    private seen: string,
  ) {}

  /** Loads the list, or throws a ConfigError naming FLOWLOGS_THREAT_LIST_FILE and the problem. */
  static async open(settings: ThreatListSettings, log: Logger): Promise<ThreatListFile> {
    try {
      const version = await fileVersion(settings.file);
      const loaded = await load(settings, undefined);
      const file = new ThreatListFile(settings, log, loaded!, version);
      file.report(loaded!, false);
      return file;
    } catch (error) {
      throw new ConfigError(`FLOWLOGS_THREAT_LIST_FILE ${settings.file}: ${reason(error)}; fix the file, or unset the variable to run without a threat list`);
    }
  }

  match(ip: string): ThreatIndicator | undefined {
    return this.current.list.match(ip);
  }

  get entries(): number {
    return this.current.list.entries;
  }

  /**
   * Loads the file again if it changed since last looked at: `reloaded` when a new list is in use, `refused` when a
   * new version could not be used (reported once per version), else `unchanged`.
   */
  async refresh(): Promise<"unchanged" | "reloaded" | "refused"> {
    let version: string;
    try {
      version = await fileVersion(this.settings.file);
    } catch (error) {
      version = `unreadable: ${reason(error)}`;
      if (version === this.seen) return "unchanged";
      this.seen = version;
      this.refused(reason(error));
      return "refused";
    }
    if (version === this.seen) return "unchanged";
    this.seen = version;
    try {
      const loaded = await load(this.settings, this.current.sha256);
      if (!loaded) return "unchanged"; // touched, same content
      this.current = loaded;
      this.report(loaded, true);
      return "reloaded";
    } catch (error) {
      this.refused(reason(error));
      return "refused";
    }
  }

  private report(loaded: Loaded, reload: boolean): void {
    const { file } = this.settings;
    this.log("info", reload ? "threatlist.reloaded" : "threatlist.loaded", {
      file, entries: loaded.list.entries, sha256: loaded.sha256.slice(0, 16), badLines: loaded.badLines.length,
    });
    if (loaded.badLines.length > 0) {
      this.log("warn", "threatlist.lines.rejected", {
        file, count: loaded.badLines.length, lines: loaded.badLines.slice(0, BAD_LINES_LOGGED),
        action: "these lines are skipped; every other entry is in use",
      });
    }
  }

  private refused(why: string): void {
    this.log("error", "threatlist.reload.failed", {
      file: this.settings.file, reason: why,
      action: `still using the list loaded before (${this.current.list.entries} entries, sha256 ${this.current.sha256.slice(0, 16)})`,
    });
  }
}

async function fileVersion(file: string): Promise<string> {
  const info = await stat(file);
  if (!info.isFile()) throw new ThreatListUnusable("is not a file");
  return `${info.mtimeMs}:${info.size}:${info.ino}`;
}

/** Reads and parses the file; undefined when its content hashes to `unchangedSha256`. */
async function load(settings: ThreatListSettings, unchangedSha256: string | undefined): Promise<Loaded | undefined> {
  const info = await stat(settings.file);
  if (info.size > settings.maxBytes) {
    throw new ThreatListUnusable(`is ${info.size} bytes, more than FLOWLOGS_THREAT_LIST_MAX_BYTES (${settings.maxBytes}): raise it or shorten the list`);
  }
  const bytes = await readFile(settings.file);
  if (bytes.length > settings.maxBytes) throw new ThreatListUnusable(`grew past FLOWLOGS_THREAT_LIST_MAX_BYTES (${settings.maxBytes}) while being read`);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (sha256 === unchangedSha256) return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ThreatListUnusable("is not UTF-8 text");
  }
  const { list, badLines } = parseThreatList(text, basename(settings.file));
  if (list.entries === 0 && badLines.length > 0) {
    const first = badLines[0]!;
    throw new ThreatListUnusable(`no line is an address or CIDR (${badLines.length} bad lines; line ${first.line}: ${first.reason})`);
  }
  return { list, sha256, badLines };
}

function reason(error: unknown): string {
  if (error instanceof ThreatListUnusable) return error.message;
  const code = (error as { code?: unknown })?.code;
  if (code === "ENOENT") return "does not exist";
  if (code === "EACCES") return "cannot be read (permission denied)";
  return error instanceof Error ? error.message : String(error);
}
