import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';

/**
 * docker-compose.yml and the Dockerfile, checked without Docker (it does not run on these
 * machines): the file parses, references only what it defines, and exposes only what it should.
 */
const repo = new URL('../../', import.meta.url);
const text = (path: string) => readFileSync(new URL(path, repo), 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string | string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  networks?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(text('docker-compose.yml')) as {
  services: Record<string, Service>;
  networks?: Record<string, unknown>;
  volumes?: Record<string, unknown>;
};
const services = Object.entries(compose.services);
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
};
/** Compose's `${NAME:-default}` with nothing set: the default. */
const defaults = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('docker-compose.yml', () => {
  it('has only top-level keys of the compose spec', () => {
    for (const key of Object.keys(compose))
      expect(['services', 'networks', 'volumes', 'configs', 'secrets', 'name']).toContain(key);
  });

  it.each(services)('%s references only services, networks and volumes the file defines', (_name, s) => {
    expect(s.image ?? s.build).toBeDefined();
    for (const dependency of Object.keys(s.depends_on ?? {})) {
      const target = service(dependency);
      // A service `docker compose up` starts must not wait on one that only a profile starts.
      if (!s.profiles) expect(target.profiles, `${dependency} is behind a profile`).toBeUndefined();
    }
    for (const network of s.networks ?? []) expect(compose.networks ?? {}).toHaveProperty(network);
    for (const volume of s.volumes ?? []) {
      const source = defaults(volume).split(':')[0] ?? '';
      if (source.startsWith('.') || source.startsWith('/'))
        expect(existsSync(new URL(source, repo)), `bind mount ${source} is missing`).toBe(true);
      else expect(compose.volumes ?? {}).toHaveProperty(source);
    }
  });

  it('publishes the public port, never the ops port, and Redis on loopback only', () => {
    const published = services.flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p] as const));
    for (const [, port] of published) expect(port.split(':').at(-1)).not.toBe('9090');
    expect(service('relay').ports).toEqual(['8080:8080']);
    expect(service('relay').expose).toEqual(['9090']);
    for (const port of service('redis').ports ?? []) expect(port.startsWith('127.0.0.1:')).toBe(true);
  });

  it('Redis keeps its data: AOF on, noeviction, a named volume on /data', () => {
    const command = [service('redis').command ?? []].flat().join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(service('redis').volumes).toContain('redis-data:/data');
  });

  it('relay and worker start by default on the example config; nginx only with its profile', () => {
    expect(service('relay').profiles).toBeUndefined();
    expect(service('worker').profiles).toBeUndefined();
    expect(service('nginx').profiles).toEqual(['proxy']);
    expect(service('worker').entrypoint).toEqual(['node', 'dist/examples/worker.js']);
    expect(existsSync(new URL('examples/worker.ts', repo))).toBe(true);
    const env = service('relay').environment ?? {};
    const mount = defaults(service('relay').volumes?.[0] ?? '').split(':');
    expect(`${mount[1]}`).toBe(env.RELAY_CONFIG);
    const { config } = loadConfigFile(new URL(mount[0] ?? '', repo).pathname, {
      ...env,
      RELAY_ADMIN_TOKEN: '',
    });
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(config.server).toMatchObject({ port: 8080, opsPort: 9090 });
  });

  it('the nginx front runs the documented VM config, rewriting its one upstream line', () => {
    const command = [service('nginx').command ?? []].flat().join(' ');
    const [, from] = /sed 's\/([^/]+)\//.exec(command) ?? [];
    expect(text('docs/deploy/nginx-vm.conf').split(from ?? '\u0000')).toHaveLength(2);
  });
});

describe('Dockerfile', () => {
  const dockerfile = text('Dockerfile');
  const ignored = text('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('builds on a current Node LTS and runs a non-root relay start with a healthcheck on the ops port', () => {
    expect(dockerfile).toMatch(/ARG NODE_IMAGE=node:(22|24)-/);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toContain('ENTRYPOINT ["node", "/app/bin/relay.js"]');
    expect(final).toContain('CMD ["start"]');
    expect(final).toMatch(/HEALTHCHECK[\s\S]*OPS_PORT\|\|9090[\s\S]*\/healthz/);
  });

  it('the final stage has production dependencies only and runs no install scripts', () => {
    expect(final).toContain('npm ci --omit=dev --ignore-scripts');
    expect(final).not.toMatch(/npm (ci|install)(?![^\n]*--omit=dev)/);
  });

  it('every COPY source exists and is not excluded by .dockerignore', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      (m[1] ?? '').split(' '),
    );
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(existsSync(new URL(source, repo)), source).toBe(true);
      const excluded = ignored.some(
        (p) => p === source || (p.endsWith('/**') && source.startsWith(p.slice(0, -2))),
      );
      const reincluded = ignored.includes(`!${source}`);
      expect(excluded && !reincluded, `${source} is excluded from the build context`).toBe(false);
    }
  });

  it('keeps local secrets and state out of the build context', () => {
    for (const entry of ['relay.yaml', '.relay', 'node_modules', '.git', '*.pem'])
      expect(ignored).toContain(entry);
  });
});
