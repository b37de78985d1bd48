import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHmac } from '../../src/verify/hmac.js';
import { signStandardWebhook } from '../../src/verify/standard-webhooks.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';

const stdSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const now = 1_800_000_000_000;

const config = {
  channels: {
    webhook: [
      {
        group: 'billing',
        trigger: 'invoices',
        auth: {
          scheme: 'hmac-sha256',
          secrets: ['new-secret', 'old-secret'],
          header: 'X-Signature-256',
          prefix: 'sha256=',
        },
      },
      {
        group: 'b64',
        trigger: 'hook',
        auth: { scheme: 'hmac-sha256', secrets: 'b64-secret', encoding: 'base64' },
      },
      { group: 'ci', trigger: 'deploys', auth: { scheme: 'token', token: 'ci-token-0123456789' } },
      { group: 'std', trigger: 'events', auth: { scheme: 'standard-webhooks', secrets: [stdSecret] } },
      { group: 'open', trigger: 'ping', auth: { scheme: 'none' } },
      { group: 'other', trigger: 'routed', auth: { scheme: 'none' }, queue: 'other-queue' },
      {
        group: 'pd',
        trigger: 'rotating',
        auth: {
          scheme: 'hmac-sha256',
          secrets: ['pd-new', 'pd-old'],
          header: 'X-PagerDuty-Signature',
          prefix: 'v1=',
        },
      },
      {
        group: 'sha1',
        trigger: 'hook',
        auth: {
          scheme: 'hmac-sha256',
          secrets: 'sha1-secret',
          header: 'X-Hub-Signature',
          prefix: 'sha1=',
          algorithm: 'sha1',
        },
      },
      {
        group: 'gl',
        trigger: 'push',
        auth: { scheme: 'token', header: 'X-Gitlab-Token', token: 'gitlab-token-0123456789' },
      },
    ],
  },
  routes: [{ match: { channel: 'webhook', trigger: 'ci/deploys' }, queues: ['audit'] }],
};

const hmacHeaders = (body: string, secret = 'new-secret') => ({
  'content-type': 'application/json',
  'x-signature-256': signHmac(secret, Buffer.from(body), {
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: 'sha256=',
  }),
});

const stdHeaders = (body: string, id = 'msg_1', ts = Math.floor(now / 1000)) => ({
  'content-type': 'application/json',
  'webhook-id': id,
  'webhook-timestamp': String(ts),
  'webhook-signature': signStandardWebhook(stdSecret, id, ts, body),
});

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay(config, { now: () => now });
});
afterAll(() => t.close());

async function ids(res: Response): Promise<string[]> {
  expect(res.status).toBe(202);
  return ((await res.json()) as { ids: string[] }).ids;
}

describe('generic triggers: accepted requests', () => {
  it('hmac-sha256: queues a CloudEvent with the parsed JSON and non-secret headers', async () => {
    const body = '{"invoice":"in_1","amount":42,"name":"Ren\\u00e9e 😀"}';
    const [id] = await ids(
      await t.post('/webhook/billing/invoices', body, { ...hmacHeaders(body), 'x-request-id': 'r1' }),
    );
    const job = await t.queue().getJob(id as string);
    expect(job?.name).toBe('webhook.received');
    const e = job?.data;
    expect(e).toMatchObject({
      specversion: '1.0',
      id,
      source: '/webhook/billing/invoices',
      type: 'webhook.received',
      datacontenttype: 'application/json',
      channel: 'webhook',
      account: 'billing/invoices',
      receivedat: new Date(now).toISOString(),
      time: new Date(now).toISOString(),
      data: { payload: { invoice: 'in_1', amount: 42, name: 'Renée 😀' } },
    });
    expect(e?.data.headers?.['x-request-id']).toBe('r1');
    expect(e?.data.headers?.['content-type']).toBe('application/json');
    expect(e?.data.headers).not.toHaveProperty('x-signature-256');
    expect(id).not.toContain(':');
    expect(job?.opts.attempts).toBe(5);
  });

  it('hmac-sha256: accepts the old secret of a rotation list, and base64 digests', async () => {
    const body = '{"n":1}';
    await ids(await t.post('/webhook/billing/invoices', body, hmacHeaders(body, 'old-secret')));
    const sig = signHmac('b64-secret', Buffer.from(body), {
      algorithm: 'sha256',
      encoding: 'base64',
      prefix: '',
    });
    await ids(
      await t.post('/webhook/b64/hook', body, { 'content-type': 'application/json', 'x-signature-256': sig }),
    );
  });

  it('token: Authorization Bearer or X-Relay-Token; neither header is kept', async () => {
    const [a] = await ids(
      await t.post('/webhook/ci/deploys', '{}', {
        'content-type': 'application/json',
        authorization: 'Bearer ci-token-0123456789',
      }),
    );
    const [b] = await ids(
      await t.post('/webhook/ci/deploys', '{}', {
        'content-type': 'application/json',
        'x-relay-token': 'ci-token-0123456789',
      }),
    );
    for (const id of [a, b]) {
      const headers = (await t.queue().getJob(id as string))?.data.data.headers ?? {};
      expect(Object.keys(headers)).not.toContain('authorization');
      expect(Object.keys(headers)).not.toContain('x-relay-token');
    }
  });

  it('standard-webhooks: verified over the raw body, deduplicated by webhook-id', async () => {
    const body = '{"type":"invoice.paid"}';
    const [first] = await ids(await t.post('/webhook/std/events', body, stdHeaders(body, 'msg_dedupe')));
    const [second] = await ids(await t.post('/webhook/std/events', body, stdHeaders(body, 'msg_dedupe')));
    expect(second).toBe(first);
    const all = (await t.jobs()).filter((e) => e.id === first);
    expect(all).toHaveLength(1);
  });

  it('dedupes by Idempotency-Key, per trigger', async () => {
    const h = { 'content-type': 'application/json', 'idempotency-key': 'key-1' };
    const [a] = await ids(await t.post('/webhook/open/ping', '{"x":1}', h));
    const [b] = await ids(await t.post('/webhook/open/ping', '{"x":1}', h));
    const [c] = await ids(await t.post('/webhook/other/routed', '{"x":1}', h));
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('parses forms, keeps other text as {text}, and accepts a missing content type', async () => {
    const [form] = await ids(
      await t.post('/webhook/open/ping', 'a=1&b=two&a=3', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
    );
    const [text] = await ids(
      await t.post('/webhook/open/ping', 'plain words', { 'content-type': 'text/plain' }),
    );
    const [bare] = await ids(
      await fetch(`${t.url}/webhook/open/ping`, { method: 'POST', body: new Uint8Array(Buffer.from('raw')) }),
    );
    expect((await t.queue().getJob(form as string))?.data.data.payload).toEqual({ a: ['1', '3'], b: 'two' });
    expect((await t.queue().getJob(text as string))?.data.data.payload).toEqual({ text: 'plain words' });
    expect((await t.queue().getJob(bare as string))?.data.data.payload).toEqual({ text: 'raw' });
  });

  it("routes to the account's queue and copies to routes: queues", async () => {
    const [routed] = await ids(
      await t.post('/webhook/other/routed', '{}', { 'content-type': 'application/json' }),
    );
    expect(await t.queue('other-queue').getJob(routed as string)).toBeTruthy();
    expect(await t.queue().getJob(routed as string)).toBeFalsy();
    const [copied] = await ids(
      await t.post('/webhook/ci/deploys', '{}', {
        'content-type': 'application/json',
        authorization: 'Bearer ci-token-0123456789',
      }),
    );
    expect(await t.queue().getJob(copied as string)).toBeTruthy();
    expect(await t.queue('audit').getJob(copied as string)).toBeTruthy();
  });
});

describe('generic schemes: signature lists, algorithm, token header, svix aliases', () => {
  const body = '{"event":{"id":"e1"}}';
  const hex = (secret: string, alg: 'sha256' | 'sha1' = 'sha256') =>
    signHmac(secret, Buffer.from(body), { algorithm: alg, encoding: 'hex', prefix: '' });
  const json = { 'content-type': 'application/json' };

  it('hmac-sha256: any signature of a list, against any secret (PagerDuty during a rotation)', async () => {
    for (const header of [`v1=${hex('unrelated')},v1=${hex('pd-old')}`, `v1=${hex('pd-new')} v1=${hex('x')}`])
      await ids(await t.post('/webhook/pd/rotating', body, { ...json, 'x-pagerduty-signature': header }));
    const refused = await t.post('/webhook/pd/rotating', body, {
      ...json,
      'x-pagerduty-signature': `v1=${hex('unrelated')},v1=${hex('other')}`,
    });
    expect(refused.status).toBe(401);
  });

  it('hmac-sha256: algorithm sha1', async () => {
    await ids(
      await t.post('/webhook/sha1/hook', body, {
        ...json,
        'x-hub-signature': `sha1=${hex('sha1-secret', 'sha1')}`,
      }),
    );
    const sha256 = await t.post('/webhook/sha1/hook', body, {
      ...json,
      'x-hub-signature': `sha1=${hex('sha1-secret')}`,
    });
    expect(sha256.status).toBe(401);
  });

  it('token: header: reads only the named header', async () => {
    await ids(
      await t.post('/webhook/gl/push', body, { ...json, 'x-gitlab-token': 'gitlab-token-0123456789' }),
    );
    const bearer = await t.post('/webhook/gl/push', body, {
      ...json,
      authorization: 'Bearer gitlab-token-0123456789',
    });
    expect(bearer.status).toBe(401);
  });

  it('standard-webhooks: svix-* headers when webhook-* are absent', async () => {
    const h = stdHeaders(body, 'msg_svix');
    const svix = {
      ...json,
      'svix-id': h['webhook-id'],
      'svix-timestamp': h['webhook-timestamp'],
      'svix-signature': h['webhook-signature'],
    };
    const [first] = await ids(await t.post('/webhook/std/events', body, svix));
    const [again] = await ids(await t.post('/webhook/std/events', body, svix));
    expect(again).toBe(first);
    const tampered = await t.post('/webhook/std/events', `${body} `, svix);
    expect(tampered.status).toBe(401);
  });
});

describe('generic triggers: rejected requests make no job', () => {
  const body = '{"invoice":"in_2"}';
  const cases: Array<[string, string, string | Buffer, Record<string, string>, number]> = [
    ['hmac: missing header', '/webhook/billing/invoices', body, { 'content-type': 'application/json' }, 401],
    ['hmac: wrong secret', '/webhook/billing/invoices', body, hmacHeaders(body, 'not-the-secret'), 401],
    ['hmac: rotated-out secret', '/webhook/billing/invoices', body, hmacHeaders(body, 'older-secret'), 401],
    [
      'hmac: tampered byte',
      '/webhook/billing/invoices',
      body.replace('in_2', 'in_3'),
      hmacHeaders(body),
      401,
    ],
    [
      'hmac: signature without its prefix',
      '/webhook/billing/invoices',
      body,
      { ...hmacHeaders(body), 'x-signature-256': hmacHeaders(body)['x-signature-256'].slice(7) },
      401,
    ],
    ['token: missing', '/webhook/ci/deploys', '{}', { 'content-type': 'application/json' }, 401],
    [
      'token: wrong',
      '/webhook/ci/deploys',
      '{}',
      { 'content-type': 'application/json', authorization: 'Bearer nope' },
      401,
    ],
    [
      'std: stale timestamp',
      '/webhook/std/events',
      body,
      stdHeaders(body, 'msg_stale', Math.floor(now / 1000) - 301),
      401,
    ],
    [
      'std: future timestamp',
      '/webhook/std/events',
      body,
      stdHeaders(body, 'msg_future', Math.floor(now / 1000) + 400),
      401,
    ],
    [
      'std: missing signature',
      '/webhook/std/events',
      body,
      { ...stdHeaders(body), 'webhook-signature': '' },
      401,
    ],
    ['std: tampered body', '/webhook/std/events', `${body} `, stdHeaders(body), 401],
    ['unknown trigger', '/webhook/billing/nope', body, hmacHeaders(body), 404],
    ['unknown group', '/webhook/nobody/invoices', body, hmacHeaders(body), 404],
    ['malformed JSON, signed', '/webhook/billing/invoices', '{"a":', hmacHeaders('{"a":'), 400],
    [
      'invalid UTF-8 text, unsigned trigger',
      '/webhook/open/ping',
      Buffer.from([0x61, 0xff, 0xfe]),
      { 'content-type': 'text/plain' },
      400,
    ],
    ['binary content type', '/webhook/open/ping', 'x', { 'content-type': 'application/octet-stream' }, 415],
    [
      'gzip content-encoding',
      '/webhook/open/ping',
      'x',
      { 'content-type': 'text/plain', 'content-encoding': 'gzip' },
      415,
    ],
  ];

  it.each(cases)('%s → %i', async (_name, path, payload, headers, status) => {
    const before = (await t.jobs()).length;
    const res = await t.post(path, payload, headers);
    expect(res.status).toBe(status);
    const answer = (await res.json()) as { error: string };
    expect(typeof answer.error).toBe('string');
    expect(JSON.stringify(answer)).not.toMatch(/secret|sha256=/i);
    expect((await t.jobs()).length).toBe(before);
  });

  it('405 with Allow for another method', async () => {
    const res = await fetch(`${t.url}/webhook/open/ping`, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, PUT');
  });

  it('413 for a body over server.bodyLimit, 404 off any route', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    const res = await t.post('/webhook/open/ping', big, { 'content-type': 'text/plain' });
    expect(res.status).toBe(413);
    expect((await fetch(`${t.url}/admin/events`)).status).toBe(404);
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
  });

  it('records rejections with reason and header names, never values or bodies', async () => {
    await t.post('/webhook/billing/invoices', body, hmacHeaders(body, 'not-the-secret'));
    const entries = await t.relay.redis.xrevrange(`${t.prefix}:relay:rejections`, '+', '-', 'COUNT', 50);
    const flat = entries.map(([, fields]) => fields.join(' ')).join('\n');
    expect(flat).toContain('bad_signature');
    expect(flat).toContain('x-signature-256');
    expect(flat).toContain('stale_timestamp');
    expect(flat).toContain('unknown_account');
    expect(flat).not.toContain('not-the-secret');
    expect(flat).not.toContain('in_2');
    expect(flat).not.toContain(hmacHeaders(body, 'not-the-secret')['x-signature-256']);
  });

  it('never writes a configured secret to the logs', async () => {
    const text = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(10);
    for (const secret of ['new-secret', 'old-secret', 'b64-secret', 'ci-token-0123456789', stdSecret])
      expect(text).not.toContain(secret);
  });
});
