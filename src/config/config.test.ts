import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { interpolate } from './interpolate.js';
import { developmentConfig, loadConfigFile, parseConfig } from './load.js';
import { collectSecrets } from './secret.js';

const dir = mkdtempSync(join(tmpdir(), 'relay-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('interpolation', () => {
  it('replaces ${VAR} and ${VAR:-default}, keeps $${ literal, reports unset variables with their line', () => {
    const out = interpolate('a: ${A}\nb: ${B:-fallback}\nc: $${C}\nd: ${MISSING}\n', { A: 'one' });
    expect(out.text).toBe('a: one\nb: fallback\nc: ${C}\nd: \n');
    expect(out.problems).toEqual([
      'line 4: environment variable MISSING is not set (use ${MISSING:-default} for a default)',
    ]);
  });
});

describe('validation', () => {
  it('fills the contract defaults', () => {
    const c = parseConfig({}, {});
    expect(c.server).toMatchObject({
      port: 8080,
      opsPort: 9090,
      bodyLimit: 1024 * 1024,
      trustProxy: 'loopback, uniquelocal',
    });
    expect(c.redis).toMatchObject({ url: 'redis://127.0.0.1:6379', prefix: 'relay' });
    expect(c.queue).toEqual({
      name: 'relay-events',
      attempts: 5,
      backoffMs: 1000,
      keepCompletedHours: 168,
      keepFailedHours: 336,
      dedupeHours: 24,
    });
    expect(c.admin.token).toBeUndefined();
  });

  it('PORT, OPS_PORT and REDIS_URL override the file', () => {
    const c = parseConfig(
      { server: { port: 1 } },
      { PORT: '8181', OPS_PORT: '9191', REDIS_URL: 'redis://10.0.0.1:6380' },
    );
    expect(c.server.port).toBe(8181);
    expect(c.server.opsPort).toBe(9191);
    expect(c.redis.url).toBe('redis://10.0.0.1:6380');
  });

  it('reports every problem at once, as path: message', () => {
    const found = problems(() =>
      parseConfig(
        {
          server: { port: 'eighty', bodyLimit: 'lots' },
          queue: { attempts: 0 },
          surprise: true,
          channels: {
            webhook: [
              { group: 'ok', trigger: 'no-auth' },
              { group: 'bad name!', trigger: 't', auth: { scheme: 'token', token: 'x' } },
              { group: 'g', trigger: 'h', auth: { scheme: 'hmac-sha256' } },
              { group: 'g', trigger: 'typo', auth: { scheme: 'token', token: 'x', tokne: 'y' } },
              { group: 'g', trigger: 'scheme', auth: { scheme: 'basic' } },
            ],
            nosuchchannel: [],
          },
        },
        { PORT: '80x' },
      ),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'PORT: must be a port number, got "80x"',
        'server.port: Invalid input: expected number, received string',
        'server.bodyLimit: must be a size such as 1mb, 512kb or 65536',
        'queue.attempts: Too small: expected number to be >=1',
        expect.stringMatching(/^\(top level\): Unrecognized key: "surprise"/),
        'channels.webhook.0.auth: required: set auth.scheme to hmac-sha256, token, standard-webhooks, a sender preset such as github or stripe (docs/channels/webhook.md lists them), or none to accept unsigned requests',
        'channels.webhook.1.group: must be 1-64 of A-Z a-z 0-9 _ -',
        'channels.webhook.2.auth.secrets: required (or secretsFile)',
        expect.stringMatching(/^channels\.webhook\.3\.auth: Unrecognized key: "tokne"/),
        expect.stringMatching(/^channels\.webhook\.4\.auth\.scheme: must be one of hmac-sha256, token/),
        expect.stringMatching(/^channels: Unrecognized key: "nosuchchannel"/),
      ]),
    );
  });

  it('refuses a trigger configured twice, and a cluster prefix without a hash tag', () => {
    const twice = { group: 'a', trigger: 'b', auth: { scheme: 'none' } };
    expect(problems(() => parseConfig({ channels: { webhook: [twice, twice] } }, {}))).toEqual([
      'channels.webhook.1: "a/b" is configured twice',
    ]);
    expect(problems(() => parseConfig({ redis: { cluster: [{ host: 'h', port: 1 }] } }, {}))).toEqual([
      'redis.prefix: on a Redis Cluster the prefix needs a hash tag, e.g. "{relay}"',
    ]);
  });

  it('takes secrets as one value, a rotation list, or a file; refuses both and unreadable files', () => {
    const secretFile = file('secret.txt', 'from-file-0123456789\n');
    const rotation = file('rotation.txt', 'new-one\nold-one\n');
    const c = parseConfig(
      {
        admin: { tokenFile: secretFile },
        channels: {
          webhook: [
            { group: 'a', trigger: 'one', auth: { scheme: 'token', token: 'single' } },
            { group: 'a', trigger: 'list', auth: { scheme: 'hmac-sha256', secrets: ['s1', 's2'] } },
            { group: 'a', trigger: 'file', auth: { scheme: 'hmac-sha256', secretsFile: rotation } },
          ],
        },
      },
      {},
    );
    expect(c.admin.token).toEqual(['from-file-0123456789']);
    const [one, list, fromFile] = c.channels.webhook ?? [];
    expect(one?.auth).toMatchObject({ scheme: 'token', token: ['single'] });
    expect(list?.auth).toMatchObject({ secrets: ['s1', 's2'], headerLower: 'x-signature-256' });
    expect(fromFile?.auth).toMatchObject({ secrets: ['new-one', 'old-one'] });
    expect([...collectSecrets(c)].sort()).toEqual([
      'from-file-0123456789',
      'new-one',
      'old-one',
      's1',
      's2',
      'single',
    ]);

    expect(
      problems(() =>
        parseConfig(
          {
            channels: {
              webhook: [
                { group: 'a', trigger: 'both', auth: { scheme: 'token', token: 'x', tokenFile: secretFile } },
                {
                  group: 'a',
                  trigger: 'gone',
                  auth: { scheme: 'token', tokenFile: join(dir, 'missing.txt') },
                },
                { group: 'a', trigger: 'std', auth: { scheme: 'standard-webhooks', secrets: 'not-base64!' } },
              ],
            },
          },
          {},
        ),
      ),
    ).toEqual([
      'channels.webhook.0.auth.tokenFile: give token or tokenFile, not both',
      `channels.webhook.1.auth.tokenFile: cannot read secret file ${join(dir, 'missing.txt')} (ENOENT)`,
      'channels.webhook.2.auth.secrets: must be a whsec_<base64> key',
    ]);
  });

  it('admin.token needs at least 16 characters, inline, in a rotation list or in tokenFile', () => {
    const short = file('short-admin-token.txt', 'abc123\n');
    const line = 'must be at least 16 characters (e.g. openssl rand -hex 32)';
    expect(problems(() => parseConfig({ admin: { token: 'abc123' } }, {}))).toEqual([`admin.token: ${line}`]);
    expect(problems(() => parseConfig({ admin: { token: ['0123456789abcdef', 'abc123'] } }, {}))).toEqual([
      `admin.token.1: ${line}`,
    ]);
    expect(problems(() => parseConfig({ admin: { tokenFile: short } }, {}))).toEqual([
      `admin.tokenFile: ${line}`,
    ]);
    expect(problems(() => parseConfig({ admin: { token: 'abc123' } }, {})).join('\n')).not.toContain(
      'abc123',
    );
    expect(parseConfig({ admin: { token: '0123456789abcdef' } }, {}).admin.token).toEqual([
      '0123456789abcdef',
    ]);
  });

  it('never puts a secret in a problem message', () => {
    const found = problems(() =>
      parseConfig(
        {
          channels: {
            webhook: [
              { group: 'a', trigger: 'b', auth: { scheme: 'token', token: 'super-secret-value', extra: 1 } },
            ],
          },
        },
        {},
      ),
    );
    expect(found.join('\n')).not.toContain('super-secret-value');
  });
});

describe('loading files', () => {
  it('interpolates the environment before parsing YAML', () => {
    const path = file(
      'relay.yaml',
      'queue:\n  name: ${QUEUE:-from-default}\nchannels:\n  webhook:\n    - { group: g, trigger: t, auth: { scheme: token, token: "${TOKEN}" } }\n',
    );
    const loaded = loadConfigFile(path, { TOKEN: 'tok-from-env' });
    expect(loaded.config.queue.name).toBe('from-default');
    expect(loaded.config.channels.webhook?.[0]?.auth).toMatchObject({ token: ['tok-from-env'] });
    expect(loaded.secrets.has('tok-from-env')).toBe(true);
  });

  it('reports unset variables together with schema problems, and YAML errors with their line', () => {
    const path = file('bad.yaml', 'server:\n  port: ${NOPE}\nqueue: { attempts: -1 }\n');
    expect(problems(() => loadConfigFile(path, {}))).toEqual([
      'line 2: environment variable NOPE is not set (use ${NOPE:-default} for a default)',
      'server.port: Invalid input: expected number, received null',
      'queue.attempts: Too small: expected number to be >=1',
    ]);
    const broken = file('broken.yaml', 'server:\n  port: [1,\n');
    expect(problems(() => loadConfigFile(broken, {}))[0]).toMatch(/^line \d+: not valid YAML/);
  });

  it('the development default has one demo/hello token trigger with a token kept across starts', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-dev-'));
    const first = developmentConfig(cwd, {});
    const second = developmentConfig(cwd, {});
    expect(first.demoToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(second.demoToken).toBe(first.demoToken);
    expect(first.config.channels.webhook?.[0]).toMatchObject({
      group: 'demo',
      trigger: 'hello',
      auth: { scheme: 'token' },
    });
  });
});

describe('shipped files', () => {
  it('relay.example.yaml is valid with nothing set in the environment', () => {
    const loaded = loadConfigFile(new URL('../../relay.example.yaml', import.meta.url).pathname, {});
    expect(loaded.config.admin.token).toBeUndefined();
    expect(loaded.config.channels.webhook).toHaveLength(3);
  });
});

describe('interpolation and comments', () => {
  it('leaves comments alone but not a # inside quotes', () => {
    const out = interpolate('a: ${A} # uses ${B}\nb: "x#${A}"\n# ${C}\n', { A: '1' });
    expect(out).toEqual({ text: 'a: 1 # uses ${B}\nb: "x#1"\n# ${C}\n', problems: [] });
  });
});
