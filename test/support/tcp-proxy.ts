import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/**
 * A TCP hop to `to` (any URL with a host and port) whose connections a test can cut, refuse a
 * while, or, once, lose a reply on: the first chunk from upstream containing `loseReplyWith` is
 * swallowed and that connection cut (the server ran the command; the client never hears of it).
 */
export async function startTcpProxy(to: string, options: { loseReplyWith?: string } = {}) {
  const { hostname, port } = new URL(to);
  const sockets = new Set<Socket>();
  let refusing = false;
  let armed = options.loseReplyWith !== undefined;
  const server = createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = connect(Number(port), hostname);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (armed && options.loseReplyWith && chunk.includes(options.loseReplyWith)) {
        armed = false;
        client.destroy();
      } else client.write(chunk);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const hop = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    /** `to` with the proxy's host and port (and its scheme). */
    url: `${new URL(to).protocol}//${hop}`,
    /** True once a reply was lost (`loseReplyWith`). */
    get lostReply() {
      return options.loseReplyWith !== undefined && !armed;
    },
    /** Cuts every open connection and refuses new ones until `accept()`. */
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    accept() {
      refusing = false;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
