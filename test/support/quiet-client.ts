import { Socket } from 'node:net';

/**
 * A client that opens a request and then goes quiet: how long the server let it hold the socket
 * (from the connection), and the status it answered (0: closed without one). Gives up after
 * `giveUpMs`.
 */
export function quietClient(
  url: string,
  opening: string,
  giveUpMs = 30_000,
): Promise<{ heldMs: number; status: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    let started = performance.now();
    let received = '';
    const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({
        heldMs: performance.now() - started,
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0),
      });
    });
    socket.connect(Number(port), hostname, () => {
      started = performance.now();
      socket.write(opening);
    });
  });
}
