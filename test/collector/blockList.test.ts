import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient, ContainerClient, ContainerSASPermissions, type BlockBlobClient } from "@azure/storage-blob";
import { parseXML } from "@azure/core-xml";
import { azuriteBlobEndpoint, blobViaProxy } from "../support/azurite";
import { azuriteConnectionString } from "../support/env";
import { scratchContainers } from "../support/scratchContainers";
import { startFaultyProxy, type Fault } from "../support/faultyProxy";
import { getCommittedBlocks, parseCommittedBlocks } from "../../collector/src/source/blockList";
import { protocolClientOf } from "../../collector/src/source/protocolRequest";
import type { CommittedBlock } from "../../collector/src/source/blockPlan";
import { downloadRange } from "../../collector/src/source/download";

const scratch = scratchContainers(azuriteConnectionString());
let sequence = 0;

/** What the SDK's getBlockList says, in getCommittedBlocks' terms. */
async function bySdk(blob: BlockBlobClient) {
  const list = await blob.getBlockList("committed");
  const blocks = (list.committedBlocks ?? []).map((block) => ({ id: block.name, size: block.size }));
  return { blocks, length: list.blobContentLength, etag: list.etag, lastModified: list.lastModified };
}

/** A blob of committed blocks of these sizes (ids base64 with `+`, `/` and `=` in them), plus one staged block left uncommitted. */
async function blockBlob(container: ContainerClient, sizes: number[]): Promise<BlockBlobClient> {
  const blob = container.getBlockBlobClient(`flows/${sequence++}/PT1H.json`);
  const ids: string[] = [];
  for (const [i, size] of sizes.entries()) {
    const id = Buffer.from([0xfb, 0xff, i, 0xfe, 0x3e]).toString("base64"); // "+/8…" and padding
    ids.push(id);
    await blob.stageBlock(id, Buffer.alloc(size, 0x61), size);
  }
  await blob.commitBlockList(ids);
  await blob.stageBlock(Buffer.from("uncommitted").toString("base64"), "zz", 2);
  return blob;
}

test("parseCommittedBlocks reads the plain forms of a block list: declaration, BOM, whitespace, empty and absent lists, uncommitted blocks after", () => {
  const plain = '<?xml version="1.0" encoding="utf-8"?><BlockList><CommittedBlocks><Block><Name>QTAw</Name><Size>12</Size></Block>' +
    "<Block><Name>+/8=</Name><Size>2576</Size></Block></CommittedBlocks><UncommittedBlocks><Block><Name>eA==</Name><Size>3</Size></Block></UncommittedBlocks></BlockList>";
  const expected: CommittedBlock[] = [{ id: "QTAw", size: 12 }, { id: "+/8=", size: 2576 }];
  assert.deepEqual(parseCommittedBlocks(plain), expected);
  assert.deepEqual(parseCommittedBlocks(`\ufeff${plain}\r\n`), expected);
  const pretty = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList>\n  <CommittedBlocks>\n    <Block>\n      <Name>QTAw</Name>\n" +
    "      <Size>12</Size>\n    </Block>\n\t<Block><Name>+/8=</Name> <Size>2576</Size></Block>\n  </CommittedBlocks>\n</BlockList>\n";
  assert.deepEqual(parseCommittedBlocks(pretty), expected);
  assert.deepEqual(parseCommittedBlocks('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><BlockList><CommittedBlocks/><UncommittedBlocks/></BlockList>'), []);
  assert.deepEqual(parseCommittedBlocks("<BlockList><CommittedBlocks /></BlockList>"), []);
  assert.deepEqual(parseCommittedBlocks("<BlockList><CommittedBlocks></CommittedBlocks></BlockList>"), []);
  assert.deepEqual(parseCommittedBlocks("<BlockList><UncommittedBlocks/></BlockList>"), []);
  assert.deepEqual(parseCommittedBlocks("<BlockList/>"), []);
  assert.deepEqual(parseCommittedBlocks("<BlockList><CommittedBlocks><Block><Name>A</Name><Size>999999999999999</Size></Block></CommittedBlocks></BlockList>"),
    [{ id: "A", size: 999_999_999_999_999 }]);
});

test("parseCommittedBlocks leaves every other form to the SDK's parser: entities, comments, CDATA, attributes, other elements, bad sizes, cut documents", () => {
  const wrap = (blocks: string): string => `<BlockList><CommittedBlocks>${blocks}</CommittedBlocks></BlockList>`;
  const refused = [
    wrap("<Block><Name>a&amp;b</Name><Size>1</Size></Block>"),
    wrap("<Block><Name>&#65;</Name><Size>1</Size></Block>"),
    wrap("<!-- a comment --><Block><Name>A</Name><Size>1</Size></Block>"),
    wrap("<Block><Name><![CDATA[A]]></Name><Size>1</Size></Block>"),
    wrap('<Block kind="x"><Name>A</Name><Size>1</Size></Block>'),
    wrap("<Block><Size>1</Size><Name>A</Name></Block>"),
    wrap("<Block><Name>A</Name><Size>1</Size><Extra/></Block>"),
    wrap("<Block><Name>A</Name></Block>"),
    wrap("<Block><Name></Name><Size>1</Size></Block>"),
    wrap("<Block><Name> A</Name><Size>1</Size></Block>"),
    wrap("<Block><Name>A</Name><Size>-1</Size></Block>"),
    wrap("<Block><Name>A</Name><Size>1.5</Size></Block>"),
    wrap("<Block><Name>A</Name><Size>1e3</Size></Block>"),
    wrap("<Block><Name>A</Name><Size>9999999999999999</Size></Block>"),
    wrap("<Block><Name>A</Name><Size></Size></Block>"),
    wrap("<Other/>"),
    '<BlockList xmlns="x"><CommittedBlocks/></BlockList>',
    "<BlockList><CommittedBlocks><Block><Name>A</Name><Size>1</Size></Block>",
    "<BlockList><CommittedBlocks><Block><Name>A</Name><Size>1</Size></Block></CommittedBlocks>",
    `${wrap("")}<extra/>`,
    "<?xml version=\"1.0\"",
    "",
    "<Error><Code>BlobNotFound</Code></Error>",
  ];
  for (const xml of refused) assert.equal(parseCommittedBlocks(xml), undefined, xml);
});

test("parseCommittedBlocks agrees with the SDK's own XML parser on random block lists, compact and indented", async () => {
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const blocks: CommittedBlock[] = Array.from({ length: random(70) }, () => ({
      id: Buffer.from(Array.from({ length: 1 + random(48) }, () => random(256))).toString("base64"),
      size: random(3) === 0 ? random(3) : random(4_000 * 1024 * 1024),
    }));
    const indent = round % 2 === 1 ? "\n  " : "";
    const xml = `<?xml version="1.0" encoding="utf-8"?><BlockList>${indent}<CommittedBlocks>` +
      blocks.map((block) => `${indent}<Block>${indent}<Name>${block.id}</Name>${indent}<Size>${block.size}</Size>${indent}</Block>`).join("") +
      `${indent}</CommittedBlocks>${indent}<UncommittedBlocks />${indent}</BlockList>`;
    assert.deepEqual(parseCommittedBlocks(xml), blocks);
    // What the SDK's deserializer starts from: its parser's tree (one Block is an object, several an array).
    const tree = await parseXML(xml, { includeRoot: false });
    const parsed = tree.CommittedBlocks?.Block;
    const sdkBlocks = (parsed === undefined ? [] : Array.isArray(parsed) ? parsed : [parsed])
      .map((block: { Name: string; Size: string }) => ({ id: String(block.Name), size: Number(block.Size) }));
    assert.deepEqual(sdkBlocks, blocks);
  }
});

test("contract with the pinned SDK: getCommittedBlocks reads the answer itself and gives what getBlockList gives, on Azurite", async () => {
  const container = scratch.container("blocklist");
  await container.create();
  const grown = await blockBlob(container, [12, ...Array.from({ length: 60 }, (_, i) => 2_000 + i * 37), 2]);
  const single = container.getBlockBlobClient("single/PT1H.json");
  await single.upload('{"records":[]}', 14);
  const stagedOnly = container.getBlockBlobClient("staged/PT1H.json");
  await stagedOnly.stageBlock(Buffer.from("s").toString("base64"), "xy", 2);
  // Through a counting proxy: one request per call shows Azurite's answer was read here, not handed back to the SDK.
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, () => "forward");
  try {
    for (const blob of [grown, single, stagedOnly]) {
      const throughProxy = blobViaProxy(azuriteConnectionString(), proxy.url, container.containerName, blob.name);
      assert.ok(protocolClientOf(throughProxy), "the storage client carries the pipeline getCommittedBlocks sends through");
      const before = proxy.seen.length;
      const ours = await getCommittedBlocks(throughProxy);
      assert.equal(proxy.seen.length - before, 1, `${blob.name}: one request`);
      assert.deepEqual(ours, await bySdk(blob), blob.name);
    }
  } finally {
    await proxy.stop();
  }
  assert.equal((await getCommittedBlocks(grown)).blocks.length, 62);
  assert.equal((await getCommittedBlocks(grown)).length, 12 + 2 + Array.from({ length: 60 }, (_, i) => 2_000 + i * 37).reduce((a, b) => a + b, 0));
});



test("getCommittedBlocks fails as the SDK does: a RestError with Azure's status, code and message", async () => {
  const container = scratch.container("blocklist-missing");
  await container.create();
  const cases = [container.getBlockBlobClient("missing/PT1H.json"), scratch.container("blocklist-nocontainer").getBlockBlobClient("PT1H.json")];
  for (const blob of cases) {
    const sdk = await bySdk(blob).then(() => undefined, (error: unknown) => error as { statusCode: number; code: string; message: string });
    const ours = await getCommittedBlocks(blob).then(() => undefined, (error: unknown) => error as { statusCode: number; code: string; message: string; name: string });
    assert.ok(sdk && ours);
    assert.equal(ours.name, "RestError");
    assert.equal(ours.statusCode, sdk.statusCode);
    assert.equal(ours.code, sdk.code);
    assert.equal(ours.message.replace(/RequestId:.*\nTime:.*/s, ""), sdk.message.replace(/RequestId:.*\nTime:.*/s, ""));
  }
});

test("an answer in another XML form, or cut off while streaming, is read again by the SDK's getBlockList: same blocks", async () => {
  const container = scratch.container("blocklist-forms");
  await container.create();
  const blob = await blockBlob(container, [12, 300, 400, 2]);
  const expected = await bySdk(blob);
  // A comment in the first answer (valid XML the SDK reads, outside the plain form); the second one cut after half.
  const faults: Fault[] = [{ rewriteBody: (xml) => xml.replace("<CommittedBlocks>", "<CommittedBlocks><!-- from a proxy -->") }, "cutBody"];
  for (const fault of faults) {
    let first = true;
    const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, ({ path }) => {
      if (!path.includes("comp=blocklist") || !first) return "forward";
      first = false;
      return fault;
    });
    try {
      assert.deepEqual(await getCommittedBlocks(blobViaProxy(azuriteConnectionString(), proxy.url, container.containerName, blob.name)), expected);
      assert.deepEqual(proxy.seen.filter((request) => request.path.includes("comp=blocklist")).map((request) => request.fault), [fault, "forward"]);
    } finally {
      await proxy.stop();
    }
  }
});

test("block lists and downloads go through the client's credential policy: a token over plain http is refused as for the SDK's own calls", async () => {
  const container = scratch.container("blocklist-token");
  await container.create();
  const blob = await blockBlob(container, [12, 40, 2]);
  // What a managed identity gives the collector in Azure (storage.ts); the bearer policy refuses it over http.
  const credential = { getToken: async () => ({ token: "not-a-real-token", expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const withToken = new BlobServiceClient(azuriteBlobEndpoint(azuriteConnectionString()).href, credential).getContainerClient(container.containerName).getBlockBlobClient(blob.name);
  assert.ok(protocolClientOf(withToken));
  const refusal = await withToken.getBlockList("committed").then(() => assert.fail("the SDK sent a token over http"), (error: Error) => error.message);
  assert.match(refusal, /https|TLS/i);
  await assert.rejects(getCommittedBlocks(withToken), (error: Error) => error.message === refusal);
  await assert.rejects(downloadRange(withToken, 0, 10, undefined), (error: Error) => error.message === refusal);
});

test("with a SAS in the client's URL (a SharedAccessSignature connection string), block lists and downloads keep it and add their own query", async () => {
  const container = scratch.container("blocklist-sas");
  await container.create();
  const blob = await blockBlob(container, [12, 70, 90, 2]);
  const sasUrl = await container.generateSasUrl({ permissions: ContainerSASPermissions.parse("rl"), expiresOn: new Date(Date.now() + 3_600_000) });
  const proxy = await startFaultyProxy(azuriteBlobEndpoint(azuriteConnectionString()).origin, () => "forward");
  try {
    const withSas = new ContainerClient(sasUrl.replace(azuriteBlobEndpoint(azuriteConnectionString()).origin, proxy.url)).getBlockBlobClient(blob.name);
    assert.match(withSas.url, /\?.*sig=/);
    assert.deepEqual(await getCommittedBlocks(withSas), await bySdk(blob));
    const bytes = await downloadRange(withSas, 12, 172, undefined);
    assert.deepEqual([bytes.length, bytes.every((byte) => byte === 0x61)], [160, true]);
    assert.deepEqual(proxy.seen.map((request) => [request.status, /[?&]sig=/.test(request.path), /comp=blocklist/.test(request.path)]),
      [[200, true, true], [206, true, false]], "one request each, the SAS kept, Azurite's answer a success");
  } finally {
    await proxy.stop();
  }
});
