// Starts Microsoft's Azure Storage emulator (npm `azurite`) on loopback, in memory, telemetry off.
import { spawn, type ChildProcess } from "node:child_process";
import { BlobServiceClient, type BlockBlobClient } from "@azure/storage-blob";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { freePort, waitForPort } from "./ports";

/** Azurite's documented well-known development account. Not a secret: it is public and only valid on the emulator. */
export const AZURITE_ACCOUNT = "devstoreaccount1";
const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface RunningAzurite {
  blobUrl: string;
  connectionString: string;
  /** The emulator's process (benchmarks read its CPU from /proc). */
  pid?: number;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<RunningAzurite> {
  const require = createRequire(__filename);
  const entry = join(dirname(require.resolve("azurite/package.json")), "dist", "src", "azurite.js");
  const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, [
    entry,
    "--blobHost", "127.0.0.1", "--blobPort", String(blobPort),
    "--queueHost", "127.0.0.1", "--queuePort", String(queuePort),
    "--tableHost", "127.0.0.1", "--tablePort", String(tablePort),
    "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent", "--loose",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk) => { stderr += String(chunk); });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await Promise.race([
      waitForPort(blobPort, 30_000),
      exited.then(() => { throw new Error(`azurite exited during start-up: ${stderr.trim()}`); }),
    ]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const blobUrl = `http://127.0.0.1:${blobPort}/${AZURITE_ACCOUNT}`;
  return {
    blobUrl,
    pid: child.pid,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${blobUrl};QueueEndpoint=http://127.0.0.1:${queuePort}/${AZURITE_ACCOUNT};` +
      `TableEndpoint=http://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT};`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The blob endpoint of an Azurite connection string (`http://127.0.0.1:<port>/devstoreaccount1`). */
export function azuriteBlobEndpoint(connectionString: string): URL {
  return new URL(/BlobEndpoint=([^;]+)/.exec(connectionString)![1]!);
}

/** The same connection string reaching Azurite through `proxyUrl` (a faultyProxy in front of its blob endpoint). */
export function viaProxy(connectionString: string, proxyUrl: string): string {
  return connectionString.replace(/BlobEndpoint=http:\/\/[^/;]+/, `BlobEndpoint=${proxyUrl}`);
}

/** A client for blob `name` of `container` that reaches Azurite through `proxyUrl` (viaProxy). */
export function blobViaProxy(connectionString: string, proxyUrl: string, container: string, name: string): BlockBlobClient {
  return BlobServiceClient.fromConnectionString(viaProxy(connectionString, proxyUrl)).getContainerClient(container).getBlockBlobClient(name);
}
