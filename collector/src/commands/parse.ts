// `parse <file|->`: prints the documents of one flow-log file as NDJSON, one per tuple in file order, each as
// {"_id": <id>, ...document}. Rejected tuples/records go to stderr with their position and reason, then a summary.
// Exit 0 when the input is a flow-log document (even with rejects), 1 when it is not one or cannot be read.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { parseThreatList } from "../enrich/threatList";
import { FlowLogFormatError, parseFlowLogText } from "../format/parse";
import type { FlowEnrichment, ParseResult, Reject } from "../model";
import { escapeControl } from "../safeText";
import { ConfigError, loadGeoIpSettings, openEnrichment } from "../service/config";
import { EXIT, type Command } from "./command";

const USAGE = `usage: flowlogs-collector parse [--threat-list <list>] <file|->

Reads one flow-log document ({"records": [...]}, e.g. a PT1H.json blob; "-" reads stdin) and prints one ECS
document per flow tuple as NDJSON on stdout: {"_id": "<deterministic id>", ...document}.
Invalid tuples and records are skipped and reported on stderr (record index, tuple index, reason), followed by a
summary line. --threat-list tags the flows of listed addresses as the run service does with FLOWLOGS_THREAT_LIST_FILE
(its bad lines are reported on stderr and skipped). Public endpoints get geo/AS fields as the service gives them, from
the same settings: FLOWLOGS_GEOIP (on by default, off for none), FLOWLOGS_GEOIP_DATABASE, FLOWLOGS_GEOIP_ASN_DATABASE.
Exit status: 0 parsed (even with rejects), 1 not a flow-log document, unreadable, or a threat list without a usable
line, 2 usage or settings error.`;

export const parseCommand: Command = {
  summary: "print the ECS documents of one flow-log file as NDJSON",
  usage: USAGE,
  async run(args, io) {
    if (args.includes("--help") || args.includes("-h")) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    const enrichment: FlowEnrichment = {};
    if (args[0] === "--threat-list") {
      if (args.length < 2) {
        io.stderr.write(`parse: --threat-list needs the list's path\n${USAGE}\n`);
        return EXIT.usage;
      }
      const loaded = await loadThreatList(args[1]!, io.stderr);
      if (!loaded) return EXIT.failure;
      enrichment.threats = loaded;
      args = args.slice(2);
    }
    if (args.length !== 1) {
      io.stderr.write(`parse: expected exactly one file (or - for stdin), got ${args.length}\n${USAGE}\n`);
      return EXIT.usage;
    }
    try {
      enrichment.addresses = openEnrichment(loadGeoIpSettings(process.env));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      io.stderr.write(`${escapeControl(`parse: ${error.message}`)}\n`);
      return EXIT.usage;
    }
    const source = args[0];
    let text: string;
    try {
      text = source === "-" ? await readStream(io.stdin) : await readFile(source, "utf8");
    } catch (error) {
      io.stderr.write(`${escapeControl(`parse: cannot read ${source}: ${(error as Error).message}`)}\n`);
      return EXIT.failure;
    }
    let result: ParseResult;
    try {
      result = parseFlowLogText(text, enrichment);
    } catch (error) {
      if (!(error instanceof FlowLogFormatError)) throw error;
      io.stderr.write(`${escapeControl(`parse: ${source}: ${error.message}`)}\n`);
      return EXIT.failure;
    }
    await writeDocuments(result, io.stdout);
    // Rejects quote the input: escaped so a tuple cannot forge a line or drive the terminal.
    for (const reject of result.rejects) io.stderr.write(`${escapeControl(formatReject(reject))}\n`);
    io.stderr.write(`${escapeControl(summary(source, result))}\n`);
    return EXIT.ok;
  },
};

/** The list, with its bad lines reported; undefined (reported) when it cannot be read or has no usable line. */
async function loadThreatList(path: string, stderr: NodeJS.WritableStream) {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    stderr.write(`${escapeControl(`parse: cannot read the threat list ${path}: ${(error as Error).message}`)}\n`);
    return undefined;
  }
  const { list, badLines } = parseThreatList(text, basename(path));
  for (const bad of badLines) stderr.write(`${escapeControl(`parse: threat list ${path} line ${bad.line}: ${bad.reason}; skipped`)}\n`);
  if (list.entries === 0 && badLines.length > 0) {
    stderr.write(`${escapeControl(`parse: threat list ${path} has no usable line`)}\n`);
    return undefined;
  }
  return list;
}

export function formatReject(reject: Reject): string {
  const where = reject.tuple === undefined ? `record ${reject.record}` : `record ${reject.record}, tuple ${reject.tuple}`;
  return `rejected ${where}: ${reject.reason}${reject.raw === undefined ? "" : ` | raw: ${reject.raw}`}`;
}

function summary(source: string, { documents, rejects }: ParseResult): string {
  const tuples = rejects.filter((reject) => reject.tuple !== undefined).length;
  return `parse: ${source === "-" ? "stdin" : source}: ${documents.length} documents, ${rejects.length} rejects ` +
    `(${tuples} tuples, ${rejects.length - tuples} records or groups)`;
}

// Output goes out in large chunks, waiting for the stream to drain, so big files neither buffer twice in memory
// nor lose lines when stdout is a slow pipe.
async function writeDocuments({ documents }: ParseResult, stdout: NodeJS.WritableStream): Promise<void> {
  const CHUNK = 1 << 20;
  let chunk = "";
  for (const { id, source } of documents) {
    // The document's own JSON text with _id first: the same line JSON.stringify({ _id, ...doc }) gives.
    chunk += `{"_id":${JSON.stringify(id)},${source.slice(1)}\n`;
    if (chunk.length >= CHUNK) {
      await write(stdout, chunk);
      chunk = "";
    }
  }
  if (chunk) await write(stdout, chunk);
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(text)) resolve();
    else stream.once("drain", resolve);
  });
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}
