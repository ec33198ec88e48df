// The committed block list of a PT1H.json, asked for once per blob job (blobReader.ts). The request goes through the
// client's own pipeline (its credential, retries, request ids), but its answer is read here. The SDK turns the XML
// into a generic tree and then maps it (fast-xml-parser, core-client's deserializer): 0.87-1.23 ms of CPU per call
// for 3-60 blocks, against 0.36-0.62 ms read here (PERFORMANCE.md, fourteenth session), on a request a tailing job
// makes every minute per NIC. Any XML other than the plain form Azure and Azurite write goes back to the SDK's
// getBlockList, as does a client without the pipeline this relies on.
import type { BlockBlobClient } from "@azure/storage-blob";
import type { CommittedBlock } from "./blockPlan";
import { protocolClientOf, readStreamed, sendGet, storageError } from "./protocolRequest";

export interface CommittedBlockList {
  blocks: CommittedBlock[];
  /** The blob's length (x-ms-blob-content-length), else the sum of the committed blocks. */
  length: number;
  /** As the response header has it (quoted): the form If-Match wants. */
  etag?: string;
  lastModified?: Date;
}

const OK = new Set([200]);

/**
 * The committed blocks, length and version of a blob. Errors are the SDK's: RestError with statusCode and code;
 * an AbortError once `abortSignal` is aborted.
 */
export async function getCommittedBlocks(blob: BlockBlobClient, abortSignal?: AbortSignal): Promise<CommittedBlockList> {
  const list = await blockList(blob, abortSignal);
  return list.etag === undefined ? withVersion(blob, list, abortSignal) : list;
}

/**
 * Azure sends Get Block List's ETag and Last-Modified "only if the blob has committed blocks": a blob written by one
 * Put Blob has none. Without its version, downloads would go without If-Match and a part-way checkpoint could not
 * tell a re-upload from the blob it was taken on; so such a blob (and only such a blob: Azure's own flow logs have
 * blocks) costs one more request, whose ETag and length describe the same version.
 */
async function withVersion(blob: BlockBlobClient, list: CommittedBlockList, abortSignal?: AbortSignal): Promise<CommittedBlockList> {
  const properties = await blob.getProperties({ abortSignal });
  return { ...list, length: properties.contentLength ?? list.length, etag: properties.etag, lastModified: properties.lastModified };
}

async function blockList(blob: BlockBlobClient, abortSignal?: AbortSignal): Promise<CommittedBlockList> {
  const client = protocolClientOf(blob);
  if (client) {
    const url = `${blob.url}${blob.url.includes("?") ? "&" : "?"}comp=blocklist&blocklisttype=committed`;
    const response = await sendGet(client, url, { accept: "application/xml" }, OK, abortSignal);
    if (response.status !== 200) throw storageError(response, "a block list request");
    // An answer cut off while streaming is asked for again below, as the pipeline's retries would have done.
    const body = await readStreamed(response);
    const blocks = body && parseCommittedBlocks(body.toString("utf8"));
    if (blocks) return answer(blocks, response.headers.get("x-ms-blob-content-length"), response.headers.get("etag"), response.headers.get("last-modified"));
  }
  const list = await blob.getBlockList("committed", { abortSignal });
  const blocks = (list.committedBlocks ?? []).map((block) => ({ id: block.name, size: block.size }));
  return { blocks, length: list.blobContentLength ?? sumOfSizes(blocks), etag: list.etag, lastModified: list.lastModified };
}

function answer(blocks: CommittedBlock[], length: string | undefined, etag: string | undefined, lastModified: string | undefined): CommittedBlockList {
  return {
    blocks,
    length: length !== undefined && /^\d+$/.test(length) ? Number(length) : sumOfSizes(blocks),
    etag,
    lastModified: lastModified !== undefined ? new Date(lastModified) : undefined,
  };
}

function sumOfSizes(blocks: readonly CommittedBlock[]): number {
  return blocks.reduce((total, block) => total + block.size, 0);
}

/**
 * The committed blocks of a Get Block List answer in its plain form: `<BlockList><CommittedBlocks><Block><Name>id
 * </Name><Size>n</Size></Block>…</CommittedBlocks>…</BlockList>`, with an optional XML declaration, whitespace between
 * tags, `<CommittedBlocks/>` or no CommittedBlocks for none. Undefined for anything else (attributes, comments,
 * entities, other elements among the committed blocks, a cut document): the caller then lets the SDK's XML parser
 * read it. Block ids are base64, so a name holds no markup, entity or space.
 */
export function parseCommittedBlocks(xml: string): CommittedBlock[] | undefined {
  let at = 0;
  const skipSpace = (): void => {
    while (at < xml.length && isSpace(xml.charCodeAt(at))) at++;
  };
  const take = (text: string): boolean => {
    skipSpace();
    if (!xml.startsWith(text, at)) return false;
    at += text.length;
    return true;
  };
  /** Text up to the next `<`, which must start `closing`; undefined if it holds `&` or is not so closed. */
  const textUntil = (closing: string): string | undefined => {
    const end = xml.indexOf("<", at);
    if (end < 0 || !xml.startsWith(closing, end)) return undefined;
    const text = xml.slice(at, end);
    if (text.includes("&")) return undefined;
    at = end + closing.length;
    return text;
  };

  if (xml.charCodeAt(0) === 0xfeff) at = 1;
  if (take("<?xml")) {
    const end = xml.indexOf("?>", at);
    if (end < 0) return undefined;
    at = end + 2;
  }
  if (take("<BlockList/>") || take("<BlockList />")) return endOfDocument() ? [] : undefined;
  if (!take("<BlockList>")) return undefined;
  const blocks: CommittedBlock[] = [];
  if (take("<CommittedBlocks/>") || take("<CommittedBlocks />")) return rest() ? blocks : undefined;
  if (!take("<CommittedBlocks>")) return rest() ? blocks : undefined;
  for (;;) {
    if (take("</CommittedBlocks>")) return rest() ? blocks : undefined;
    if (!take("<Block>") || !take("<Name>")) return undefined;
    const id = textUntil("</Name>");
    // Base64 ids have no spaces: an empty or padded name is left to the SDK (its parser trims).
    if (!id || isSpace(id.charCodeAt(0)) || isSpace(id.charCodeAt(id.length - 1)) || !take("<Size>")) return undefined;
    const size = textUntil("</Size>");
    if (size === undefined || !/^\d{1,15}$/.test(size) || !take("</Block>")) return undefined;
    blocks.push({ id, size: Number(size) });
  }

  /** The rest of the root (uncommitted blocks: not read) and its end. */
  function rest(): boolean {
    const end = xml.lastIndexOf("</BlockList>");
    if (end < at) return false;
    at = end + "</BlockList>".length;
    return endOfDocument();
  }
  function endOfDocument(): boolean {
    skipSpace();
    return at === xml.length;
  }
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}
