// A loopback TCP front that closes its first connections as soon as they arrive, before any TLS handshake (a node or
// load balancer restarting), and passes every later one through to `target` untouched.
import { connect, createServer, type Socket } from "node:net";

export interface HandshakeDropper {
  /** https://127.0.0.1:<port>: the front's address, for a TLS server behind it. */
  url: string;
  /** Connections closed so far. */
  dropped(): number;
  stop(): Promise<void>;
}

export async function startHandshakeDropper(target: string, drops: number): Promise<HandshakeDropper> {
  const { hostname, port } = new URL(target);
  let dropped = 0;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    return socket;
  };
  const server = createServer((client) => {
    track(client);
    if (dropped < drops) {
      dropped++;
      client.end();
      return;
    }
    const upstream = track(connect(Number(port), hostname));
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `https://127.0.0.1:${address.port}`,
    dropped: () => dropped,
    stop: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
