import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlack } from '../channels/slack/verify.js';
import { type FakeBotApi, startFakeBotApi } from './fakes/telegram-bot-api.js';
import { runCli } from './ops-cli-harness.js';
import { writeConfig } from './support/process.js';
import { TestRedisServer } from './support/redis-server.js';
import { redisUrl, startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';

/**
 * `relay doctor` as a process (needs `npm run build`) against a running relay whose rejection log
 * holds the patterns the doctor should explain.
 */

const doctor = (config: string) => runCli(['doctor', '--config', config]);

const botToken = '123456:doctor-bot-token';
const secrets = {
  hmac: 'doctor-hmac-secret',
  signing: 'doctor-slack-signing-secret',
  telegram: 'doctor-telegram-secret-token',
  admin: 'doctor-admin-token',
};

let api: FakeBotApi;
let t: TestRelay;
let configPath: string;

beforeAll(async () => {
  api = await startFakeBotApi(botToken);
  const prefix = uniquePrefix('doctor');
  const raw = {
    publicUrl: 'https://relay.example.com',
    admin: { token: secrets.admin },
    channels: {
      webhook: [
        {
          group: 'shop',
          trigger: 'orders',
          auth: { scheme: 'hmac-sha256', secrets: [secrets.hmac], header: 'X-Shop-Signature' },
        },
      ],
      slack: [{ account: 'acme', signingSecret: secrets.signing }],
      telegram: [{ account: 'support', botToken, secretToken: secrets.telegram, apiRoot: api.url }],
    },
  };
  t = await startTestRelay(raw, { prefix });
  configPath = writeConfig({
    ...raw,
    server: { port: 0, opsPort: 0 },
    redis: { url: redisUrl, prefix },
  });
  await api.waitFor('setWebhook');

  const json = { 'content-type': 'application/json' };
  for (let i = 0; i < 3; i++) {
    // A proxy that drops the signature header.
    await t.post('/webhook/shop/orders', `{"n":${i}}`, json);
    // A provider that holds a URL with a typo.
    await t.post('/webhook/shop/ordrs', `{"n":${i}}`, json);
    // A sender whose clock is 7 minutes behind.
    const ts = String(Math.floor(Date.now() / 1000) - 420);
    const body = Buffer.from(`{"type":"event_callback","event_id":"Ev${i}"}`);
    await t.post('/slack/acme/events', body, {
      ...json,
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signSlack(secrets.signing, ts, body),
    });
  }
  // Someone pointed the bot elsewhere after the relay registered it.
  api.webhook.url = 'https://old-host.example.com/telegram/support';
  // The rejection log is written fire-and-forget: wait until all nine are there.
  const deadline = Date.now() + 10_000;
  while ((await t.relay.redis.xlen(`${prefix}:relay:rejections`)) < 9) {
    if (Date.now() > deadline) throw new Error('rejections were not recorded');
    await new Promise((r) => setTimeout(r, 20));
  }
}, 60_000);

afterAll(async () => {
  await t?.close();
  await api?.close();
});

describe('relay doctor', () => {
  it('explains each pattern in one line, and exits 1', async () => {
    const out = await doctor(configPath);
    if (process.env.SHOW_DOCTOR) console.log(out.stdout);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(1);
    const lines = out.stdout.trim().split('\n');
    const line = (re: RegExp) => lines.find((l) => re.test(l)) ?? `(no line matching ${re})`;
    expect(line(/^ok +config:/)).toContain('is valid (3 accounts)');
    expect(line(/^ok +redis version:/)).toMatch(/(Redis|Valkey) \d+\.\d+/);
    expect(line(/^problem +rejections webhook\/shop\/orders:/)).toContain(
      'your proxy or load balancer strips X-Shop-Signature',
    );
    expect(line(/^problem +rejections webhook\/shop\/ordrs:/)).toContain('Did you mean webhook/shop/orders');
    expect(line(/^problem +rejections slack\/acme:/)).toContain('clock off by 7 min: check NTP');
    expect(line(/^problem +telegram\/support registration:/)).toContain('old-host.example.com');
    expect(line(/^ok +loop telegram\/support webhook-registration:/)).toContain(
      `held by ${t.relay.loops.holder}`,
    );
    for (const l of lines) expect(l).toMatch(/^(ok|warning|problem|skipped) +\S/);
    for (const s of [...Object.values(secrets), botToken]) expect(out.stdout).not.toContain(s);
  });
});

describe('relay doctor on a badly set up Redis', () => {
  let redis: TestRedisServer;
  beforeAll(async () => {
    // As on managed Redis: CONFIG renamed away; and settings that lose events.
    redis = await TestRedisServer.start([
      '--rename-command',
      'CONFIG',
      '',
      '--maxmemory-policy',
      'allkeys-lru',
      '--appendonly',
      'no',
    ]);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('reads the policy from INFO when CONFIG is refused, and names the fix', async () => {
    const config = writeConfig({ redis: { url: redis.url, prefix: uniquePrefix('doctor') }, channels: {} });
    const out = await doctor(config);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(
      /^problem +redis maxmemory-policy: is allkeys-lru.*set maxmemory-policy noeviction/m,
    );
    expect(out.stdout).toMatch(/^warning +redis persistence: append-only file is off/m);
    expect(out.stdout).toMatch(/^ok +rejections: none in the last 24 h/m);
  });

  it('says Redis cannot be reached, in one line, and exits 1', async () => {
    const config = writeConfig({ redis: { url: 'redis://127.0.0.1:1', prefix: 'x' }, channels: {} });
    const out = await doctor(config);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/^problem +redis: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/m);
  });

  it('lists every config problem', async () => {
    const config = writeConfig({ server: { port: 'x' }, channels: { webhook: [{ group: 'g' }] } });
    const out = await doctor(config);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/^problem +config: server\.port/m);
  });
});
