import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The first executable `name` on PATH or in the sbin directories (Debian puts nginx in /usr/sbin). */
export function findBinary(name: string, hint: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  throw new Error(`${name} is not installed; ${hint}`);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A throwaway self-signed certificate for `host`, made by openssl in `dir`. */
export function selfSignedCert(dir: string, host: string): { cert: string; key: string; pem: string } {
  const openssl = findBinary('openssl', 'install it with `apt-get install openssl`');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      `/CN=${host}`,
      '-addext',
      `subjectAltName=DNS:${host}`,
    ],
    { stdio: 'pipe' },
  );
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}

/**
 * Rewrites a documented config for a test run: each `[from, to]` must match at least once, so a
 * change to the document that the test no longer understands fails loudly instead of testing less.
 */
export function adapt(conf: string, swaps: ReadonlyArray<readonly [string | RegExp, string]>): string {
  let out = conf;
  for (const [from, to] of swaps) {
    const matches = typeof from === 'string' ? out.split(from).length - 1 : (out.match(from) ?? []).length;
    if (matches === 0) throw new Error(`the documented nginx config no longer contains ${String(from)}`);
    out = typeof from === 'string' ? out.split(from).join(to) : out.replace(from, to);
  }
  return out;
}

export interface Nginx {
  readonly dir: string;
  errorLog(): string;
  stop(): Promise<void>;
}

/** nginx in the foreground with its own prefix, pid, logs and temp paths, around an http-context file. */
export async function startNginx(httpConf: string, waitForPort: number): Promise<Nginx> {
  const bin = findBinary(
    'nginx',
    'install it with `apt-get install nginx` (.ci/run does this when it is missing)',
  );
  const dir = mkdtempSync(join(tmpdir(), 'relay-nginx-'));
  // Worker processes run as an unprivileged user when the tests run as root: they must reach the temp dirs.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'logs'));
  const main = `
pid ${dir}/nginx.pid;
worker_processes 1;
error_log ${dir}/logs/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/logs/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpConf}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), main);
  const child: ChildProcess = spawn(
    bin,
    ['-p', dir, '-e', join(dir, 'logs/error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'logs/error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const state = await Promise.race([
      exited.then(() => 'exited' as const),
      new Promise<'up' | 'down'>((resolve) => {
        const socket = connect(waitForPort, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve('up');
        });
        socket.once('error', () => setTimeout(() => resolve('down'), 50));
      }),
    ]);
    if (state === 'up') break;
    if (state === 'exited' || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start: ${stderr}\n${errorLog()}`);
    }
  }
  return {
    dir,
    errorLog,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface HttpsOptions {
  readonly port: number;
  readonly ca: string;
  readonly servername: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** Send the body chunked (no Content-Length). */
  readonly chunked?: boolean;
  /** The client's own address on loopback, to tell it apart from nginx's. */
  readonly localAddress?: string;
}

/** One HTTPS request to 127.0.0.1 that trusts only `ca` and checks the certificate against `servername`. */
export function https(path: string, options: HttpsOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const headers: Record<string, string> = { host: options.servername, ...options.headers };
    if (body && !options.chunked) headers['content-length'] = String(body.length);
    if (body && options.chunked) headers['transfer-encoding'] = 'chunked';
    let answered: Answer | undefined;
    const req = request(
      {
        host: '127.0.0.1',
        port: options.port,
        path,
        method: options.method ?? 'POST',
        headers,
        ca: options.ca,
        servername: options.servername,
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          answered = {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          };
          resolve(answered);
        });
        res.on('error', reject);
      },
    );
    // A server may answer (413) and close before the whole body is written: the answer is what counts.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (body && options.chunked) {
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}
