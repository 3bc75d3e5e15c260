import net, { type AddressInfo } from 'node:net';

/** A TCP server on 127.0.0.1:0 that speaks whatever its handler writes, counting connections. */
export interface RawServer {
  readonly port: number;
  readonly url: string;
  connections(): number;
  close(): Promise<void>;
}

export async function startRawServer(onConnection: (socket: net.Socket) => void): Promise<RawServer> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
