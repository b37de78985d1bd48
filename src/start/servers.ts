import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RelayError } from '../errors.js';

/** Which server, and the settings that move it, for the one line a taken port gets. */
const portSettings = {
  public: 'PORT or server.port',
  ops: 'OPS_PORT or server.opsPort',
} as const;

/** Binds the server; resolves its `http://host:port` with the port actually bound (0 picks a free one). */
export function listen(
  server: Server,
  port: number,
  host: string | undefined,
  which: keyof typeof portSettings,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new RelayError(
              'port_in_use',
              `${which} port ${port} is already in use (another relay?): stop it, or set ${portSettings[which]}`,
              { cause: err },
            )
          : err,
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const a = server.address() as AddressInfo;
      const h =
        a.family === 'IPv6'
          ? a.address === '::'
            ? '127.0.0.1'
            : `[${a.address}]`
          : a.address === '0.0.0.0'
            ? '127.0.0.1'
            : a.address;
      resolve(`http://${h}:${a.port}`);
    });
  });
}

/**
 * Stops accepting, answers what is in flight, and tells keep-alive clients to go: every response
 * from now on says `Connection: close`, and connections that fall idle are closed as they do.
 */
export function closeServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    server.prependListener('request', (_req, res) => res.setHeader('connection', 'close'));
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
