import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { RelayConfig } from '../config/schema.js';

type TrustFn = (addr: string, i: number) => boolean;
interface ProxyAddr {
  (req: IncomingMessage, trust: TrustFn): string;
  compile(val: string | readonly string[]): TrustFn;
}
// The package express uses for req.ip, so the public port answers to server.trustProxy exactly as express does.
const proxyaddr = createRequire(import.meta.url)('proxy-addr') as ProxyAddr;

/** express's compileTrust: `true`, a hop count, a comma-separated list or a list of addresses and names. */
function compileTrust(trustProxy: RelayConfig['server']['trustProxy']): TrustFn {
  if (trustProxy === true) return () => true;
  if (typeof trustProxy === 'number') return (_addr, i) => i < trustProxy;
  if (typeof trustProxy === 'string') return proxyaddr.compile(trustProxy.split(',').map((v) => v.trim()));
  return proxyaddr.compile(trustProxy || []);
}

/** The client's address (express's req.ip): X-Forwarded-For believed only from trusted proxies; IPv4 unmapped. */
export function clientAddressOf(
  trustProxy: RelayConfig['server']['trustProxy'],
): (req: IncomingMessage) => string {
  const trust = compileTrust(trustProxy);
  return (req) => {
    const ip = proxyaddr(req, trust) ?? req.socket.remoteAddress ?? '';
    return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  };
}
