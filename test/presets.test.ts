import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventId } from '../src/queue/envelope.js';
import { presets } from '../src/verify/presets/index.js';
import {
  type Case,
  cases,
  type Env,
  now,
  nowSec,
  other,
  otherWhsec,
  plain,
  publicUrl,
  type Sent,
  stripe,
  whsec,
} from './support/preset-cases.js';
import { runRelay, writeConfig } from './support/process.js';
import { redisUrl, startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

/**
 * Sender presets, table-driven over test/support/preset-cases.ts: for each, signed → 202 and one
 * job keyed by the sender's delivery id with its senderevent, a redelivery makes none; wrong
 * secret, missing header, tampered body, stale timestamp, wrong URL → 401 and nothing queued.
 */

const adminToken = 'admin-token-for-presets-01';

const pathOf = (c: Case) => `/webhook/presets/${c.scheme}${c.query ?? ''}`;
const env = (c: Case, overrides: Partial<Env> = {}): Env => ({
  secret: c.secret,
  url: `${publicUrl}${pathOf(c)}`,
  ...overrides,
});

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay(
    {
      publicUrl,
      admin: { token: adminToken },
      // Every refused case below fails authentication from one client on purpose.
      server: { rateLimit: { enabled: false } },
      channels: {
        webhook: cases.map((c) => ({
          group: 'presets',
          trigger: c.scheme,
          auth: { scheme: c.scheme, secrets: [c.secret] },
        })),
      },
      routes: [{ match: { senderevent: 'invoice.*' }, queues: ['billing-events'] }],
    },
    { now: () => now },
  );
});
afterAll(() => t.close());

async function post(c: Case, sent: Sent): Promise<Response> {
  return t.post(pathOf(c), sent.body, { 'content-type': 'application/json', ...sent.headers });
}

let n = 0;
const freshId = (c: Case) => `${c.scheme}-delivery-${++n}`;

describe.each(cases)('preset $scheme', (c) => {
  it('signed: 202, one job keyed by the delivery id, with senderevent; a redelivery makes none', async () => {
    const id = freshId(c);
    const sent = await c.send(id, nowSec, env(c));
    const res = await post(c, sent);
    expect(res.status).toBe(202);
    const [jobId] = ((await res.json()) as { ids: string[] }).ids;
    const job = (await t.queue().getJob(jobId as string))?.data;
    expect(job?.senderevent).toBe(c.event);
    for (const h of c.proof) expect(job?.data.headers).not.toHaveProperty(h);
    if (c.key === undefined) return;
    expect(jobId).toBe(eventId('webhook', `presets/${c.scheme}`, c.key(id)));
    const again = await post(c, await c.send(id, nowSec, env(c)));
    expect(((await again.json()) as { ids: string[] }).ids).toEqual([jobId]);
    expect((await t.jobs()).filter((e) => e.id === jobId)).toHaveLength(1);
  });

  const refused: Array<[string, () => Promise<Sent | undefined>]> = [
    [
      'wrong secret',
      async () => c.send(freshId(c), nowSec, env(c, { secret: c.secret === whsec ? otherWhsec : other })),
    ],
    [
      'missing signature header',
      async () => {
        const sent = await c.send(freshId(c), nowSec, env(c));
        const headers = Object.fromEntries(
          Object.entries(sent.headers).filter(([h]) => !c.proof.includes(h)),
        );
        return { ...sent, headers };
      },
    ],
    [
      'tampered body',
      async () => {
        if (c.token) return undefined;
        const sent = await c.send(freshId(c), nowSec, env(c));
        return { ...sent, body: sent.body.replace('"', '"x') };
      },
    ],
    [
      'stale timestamp',
      async () => (c.windowSec ? c.send(freshId(c), nowSec - c.windowSec - 10, env(c)) : undefined),
    ],
    [
      'signed for another URL',
      async () =>
        c.signsUrl ? c.send(freshId(c), nowSec, env(c, { url: `${publicUrl}/elsewhere` })) : undefined,
    ],
  ];

  it.each(refused)('%s → 401, nothing queued', async (_name, make) => {
    const sent = await make();
    if (!sent) return; // not applicable to this sender
    const before = (await t.jobs()).length;
    const res = await post(c, sent);
    expect(res.status).toBe(401);
    expect((await t.jobs()).length).toBe(before);
  });
});

describe('sender presets: around the table', () => {
  it('routes: copies events by senderevent', async () => {
    const stripeCase = cases.find((c) => c.scheme === 'stripe') as Case;
    const res = await post(stripeCase, await stripeCase.send('routed', nowSec, env(stripeCase)));
    const [id] = ((await res.json()) as { ids: string[] }).ids;
    expect(await t.queue('billing-events').getJob(id as string)).toBeTruthy();
    const github = cases.find((c) => c.scheme === 'github') as Case;
    const other = await post(github, await github.send('not-routed', nowSec, env(github)));
    const [otherId] = ((await other.json()) as { ids: string[] }).ids;
    expect(await t.queue('billing-events').getJob(otherId as string)).toBeFalsy();
  });

  it('a URL-signed failure logs the URL it checked, never the secret', async () => {
    const square = cases.find((c) => c.scheme === 'square') as Case;
    await post(
      square,
      await square.send('wrong-url', nowSec, env(square, { url: 'https://elsewhere.example/x' })),
    );
    const entries = await t.relay.redis.xrevrange(`${t.prefix}:relay:rejections`, '+', '-', 'COUNT', 20);
    const flat = entries.map(([, fields]) => fields.join(' ')).join('\n');
    expect(flat).toContain(`${publicUrl}/webhook/presets/square`);
    expect(flat).not.toContain(plain);
  });

  it('never writes a preset secret to the logs', () => {
    const text = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(50);
    for (const c of cases) expect(text).not.toContain(c.secret);
  });

  it('docs/channels/webhook.md has a table row for every preset', () => {
    const doc = readFileSync(new URL('../docs/channels/webhook.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
    for (const name of presets.keys())
      expect(
        rows.some((row) => row.split('|')[1]?.includes(`\`${name}\``)),
        name,
      ).toBe(true);
  });

  it('run-time triggers take a preset and the sender-given secret (PUT /admin/triggers)', async () => {
    const putTrigger = (body: object) =>
      fetch(`${t.opsUrl}/admin/triggers/rt/stripe`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const noSecret = await putTrigger({ scheme: 'stripe' });
    expect(noSecret.status).toBe(400);
    const secret = 'whsec_runtime_stripe_0123456789';
    expect((await putTrigger({ scheme: 'stripe', secret })).status).toBe(201);
    const body = '{"id":"evt_rt","type":"invoice.paid"}';
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: nowSec });
    const send = () =>
      t.post('/webhook/rt/stripe', body, { 'content-type': 'application/json', 'stripe-signature': header });
    const res = await until(async () => {
      const r = await send();
      return r.status === 202 ? r : undefined;
    });
    const [id] = ((await res.json()) as { ids: string[] }).ids;
    expect(id).toBe(eventId('webhook', 'rt/stripe', 'evt_rt'));
    expect((await t.queue().getJob(id as string))?.data.senderevent).toBe('invoice.paid');
    const tampered = await t.post('/webhook/rt/stripe', body.replace('rt', 'xx'), {
      'content-type': 'application/json',
      'stripe-signature': header,
    });
    expect(tampered.status).toBe(401);
    const rotate = await fetch(`${t.opsUrl}/admin/triggers/rt/stripe/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: '{"grace":"1h"}',
    });
    expect(rotate.status).toBe(400);
    expect(await rotate.text()).toContain('comes from the sender');
  });

  it('relay triggers create --scheme <preset> --secret: the CLI stores it, the running relay verifies with it', async () => {
    const config = writeConfig({ redis: { url: redisUrl, prefix: t.prefix }, publicUrl });
    const secret = 'whsec_cli_stripe_0123456789';
    const created = runRelay([
      'triggers',
      'create',
      'cli/stripe',
      '--scheme',
      'stripe',
      '--secret',
      secret,
      '--config',
      config,
    ]);
    expect(created.status).toBe(0);
    expect(created.stdout).toContain('the stripe sender signs each request');
    expect(created.stdout).not.toContain(secret);
    const refused = runRelay(['triggers', 'create', 'cli/bare', '--scheme', 'stripe', '--config', config]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('pass it as secret (relay triggers create --secret)');
    const body = '{"id":"evt_cli","type":"invoice.paid"}';
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: nowSec });
    await until(async () => {
      const r = await t.post('/webhook/cli/stripe', body, {
        'content-type': 'application/json',
        'stripe-signature': header,
      });
      return r.status === 202;
    });
  });

  it('the JSON Schema asks each preset for its credential, as relay check does', () => {
    const schema = JSON.parse(readFileSync(new URL('../docs/relay.schema.json', import.meta.url), 'utf8'));
    const validate = new Ajv({ strict: false, logger: false }).compile(schema);
    const valid = (auth: object) => validate({ channels: { webhook: [{ group: 'g', trigger: 't', auth }] } });
    for (const name of presets.keys()) {
      const needs = presets.get(name)?.needs;
      expect(valid({ scheme: name }), name).toBe(false);
      expect(
        valid(needs === 'secrets' ? { scheme: name, secrets: ['s'] } : { scheme: name, publicKey: 'k' }),
        name,
      ).toBe(true);
    }
    expect(valid({ scheme: 'stripe', secretsFile: '/run/secrets/stripe' })).toBe(true);
    expect(valid({ scheme: 'not-a-sender', secrets: ['s'] })).toBe(false);
  });
});
