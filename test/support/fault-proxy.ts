/**
 * A TCP proxy between the client under test and sshd that injects faults: cut a connection after N bytes,
 * stop answering, reset, refuse new connections, drop idle ones.
 */
import * as net from 'node:net';

export interface FaultProxy {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** Close every connection after this many more bytes client -> server (upload) or server -> client. */
  cutAfter(direction: 'up' | 'down', bytes: number): void;
  /** Stop forwarding in both directions without closing (a server that stops answering). */
  blackhole(on: boolean): void;
  /** Refuse the next `n` connections (accept and destroy at once). */
  refuseNext(n: number): void;
  /** Reset (RST) every open connection. */
  resetAll(): void;
  /** Open client connections right now. */
  openConnections(): number;
  clear(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  let cut: { direction: 'up' | 'down'; left: number } | undefined;
  let hole = false;
  let refuse = 0;
  const held: (() => void)[] = [];

  const server = net.createServer((client) => {
    proxy.accepted++;
    if (refuse > 0) {
      refuse--;
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const forward = (from: net.Socket, to: net.Socket, direction: 'up' | 'down') => {
      from.on('data', (data: Buffer) => {
        const send = () => {
          if (cut && cut.direction === direction) {
            if (data.length >= cut.left) {
              to.write(data.subarray(0, cut.left));
              cut = undefined;
              client.destroy();
              upstream.destroy();
              return;
            }
            cut.left -= data.length;
          }
          to.write(data);
        };
        if (hole) held.push(() => undefined); // swallowed: the peer never answers
        else send();
      });
    };
    forward(client, upstream, 'up');
    forward(upstream, client, 'down');
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', done);
    upstream.on('close', done);
    client.on('error', done);
    upstream.on('error', done);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const proxy: FaultProxy = {
    port: (server.address() as net.AddressInfo).port,
    accepted: 0,
    cutAfter: (direction, bytes) => (cut = { direction, left: bytes }),
    blackhole: (on) => (hole = on),
    refuseNext: (n) => (refuse = n),
    resetAll: () => {
      for (const s of sockets) s.resetAndDestroy();
    },
    openConnections: () => [...sockets].filter((s) => s.remotePort !== targetPort).length,
    clear: () => {
      cut = undefined;
      hole = false;
      refuse = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
