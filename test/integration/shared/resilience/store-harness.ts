import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export { closedPort } from '../../../support/http.ts';

export interface TcpProxy {
  port: number;
  /** Drops every connection and stops listening: to a client, the server just died. */
  kill(): Promise<void>;
}

/** A loopback TCP proxy to `target`, so a test can take a store away mid-run whatever runs behind it. */
export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    const remote = connect(target.port, target.host);
    track(client);
    track(remote);
    client.pipe(remote).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    port,
    kill: async () => {
      for (const socket of sockets) socket.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
