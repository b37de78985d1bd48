import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { teamsAccount } from './config.js';
import { fixture, graphItem as item } from './fixtures/graph.js';
import { mentionsClientState } from './graph-verify.js';
import { teams, withClientState } from './index.js';

let t: TestRelay;
const json = { 'content-type': 'application/json' };

async function rejections(): Promise<string> {
  await new Promise((r) => setTimeout(r, 50));
  const entries = await t.relay.redis.xrevrange(`${t.prefix}:relay:rejections`, '+', '-', 'COUNT', 200);
  return entries.map(([, fields]) => fields.join(' ')).join('\n');
}

async function ids(res: Response): Promise<string[]> {
  expect(res.status).toBe(202);
  return ((await res.json()) as { ids: string[] }).ids;
}

beforeAll(async () => {
  t = await startTestRelay({
    channels: {
      teams: [
        { account: 'contoso', clientState: ['cs-new', 'cs-old'] },
        { account: 'botonly', appId: 'bot-app', openIdMetadataUrl: 'http://127.0.0.1:9/unused' },
      ],
    },
  });
});
afterAll(async () => {
  await t?.close();
});

describe('Graph: validation handshake', () => {
  it.each(['POST', 'GET'])(
    '%s ?validationToken= answers the decoded token as text/plain, before any parsing',
    async (method) => {
      const before = (await t.jobs()).length;
      const res = await fetch(
        `${t.url}/teams/contoso/notifications?validationToken=Validation%3A+Testing+client+a%2Bb`,
        {
          method,
          ...(method === 'POST'
            ? { body: 'not json at all', headers: { 'content-type': 'text/plain; charset=utf-8' } }
            : {}),
        },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('Validation: Testing client a+b');
      expect((await t.jobs()).length).toBe(before);
    },
  );

  it('is not answered for an account without clientState (fail closed)', async () => {
    const res = await fetch(`${t.url}/teams/botonly/notifications?validationToken=abc`);
    expect(res.status).toBe(401);
  });
});

describe('Graph: change notifications', () => {
  it('queues one teams.notification per item, keyed by id; a redelivery makes no second job', async () => {
    const body = JSON.stringify(fixture('graph-notification.json')).replace('secretClientValue', 'cs-new');
    const [first] = await ids(await t.post('/teams/contoso/notifications', body, json));
    const before = (await t.jobs()).length;
    const [again] = await ids(await t.post('/teams/contoso/notifications', body, json));
    expect(again).toBe(first);
    expect((await t.jobs()).length).toBe(before);
    const job = await t.queue().getJob(first as string);
    expect(job?.name).toBe('teams.notification');
    expect(job?.data).toMatchObject({ source: '/teams/contoso', channel: 'teams', account: 'contoso' });
    expect(job?.data.data.payload).toEqual(JSON.parse(body).value[0]);
  });

  it('a multi-item batch makes one job each; the rotated-out clientState still counts', async () => {
    const batch = {
      value: [item(), item({ clientState: 'cs-old' }), item({ id: undefined, resourceData: { id: 'r9' } })],
    };
    const got = await ids(await t.post('/teams/contoso/notifications', JSON.stringify(batch), json));
    expect(new Set(got).size).toBe(3);
    for (const id of got) expect((await t.queue().getJob(id))?.name).toBe('teams.notification');
  });

  it('mixed batch: valid items queued, items with a wrong or missing clientState dropped and recorded', async () => {
    const good = item();
    const batch = { value: [item({ clientState: 'nope-state' }), good, item({ clientState: undefined })] };
    const got = await ids(await t.post('/teams/contoso/notifications', JSON.stringify(batch), json));
    expect(got).toHaveLength(1);
    expect((await t.queue().getJob(got[0] as string))?.data.data.payload).toEqual(good);
    const log = await rejections();
    expect(log).toMatch(/bad_signature[\s\S]*"item":0/);
    expect(log).toMatch(/missing_signature[\s\S]*"item":2/);
    expect(log).not.toContain('nope-state');
  });

  it('lifecycle notifications become teams.lifecycle events', async () => {
    const body = JSON.stringify(fixture('graph-lifecycle.json')).replaceAll('secretClientValue', 'cs-new');
    const got = await ids(await t.post('/teams/contoso/notifications', body, json));
    expect(got).toHaveLength(3);
    const jobs = await Promise.all(got.map((id) => t.queue().getJob(id)));
    expect(jobs.map((j) => j?.name)).toEqual(['teams.lifecycle', 'teams.lifecycle', 'teams.lifecycle']);
    expect(
      jobs.map((j) => (j?.data.data.payload as { lifecycleEvent?: string } | undefined)?.lifecycleEvent),
    ).toEqual(['reauthorizationRequired', 'subscriptionRemoved', 'missed']);
  });

  it('sign() names the route and stamps the clientState into a body the relay accepts', async () => {
    const account = teamsAccount.parse({ account: 'contoso', clientState: ['cs-new', 'cs-old'] });
    const unsigned = Buffer.from(JSON.stringify({ value: [item({ clientState: undefined })] }));
    const signed = teams.sign(account, unsigned);
    expect(signed.path).toBe('/teams/contoso/notifications');
    expect(signed.body).toEqual(withClientState(account, unsigned));
    expect(await ids(await t.post(signed.path, signed.body ?? unsigned, { ...signed.headers }))).toHaveLength(
      1,
    );
    expect(() => teams.sign(teamsAccount.parse({ account: 'b', appId: 'x' }), unsigned)).toThrow(
      /cannot be signed by hand/,
    );
  });
});

describe('Graph: refused requests make no job', () => {
  const cases: Array<[string, string, string, Record<string, string>, number]> = [
    [
      'every item has a wrong clientState',
      'contoso',
      JSON.stringify({ value: [item({ clientState: 'x' }), item({ clientState: 'y' })] }),
      json,
      401,
    ],
    [
      'no item has a clientState',
      'contoso',
      JSON.stringify({ value: [item({ clientState: undefined })] }),
      json,
      401,
    ],
    ['empty value array', 'contoso', '{"value":[]}', json, 401],
    ['account without clientState', 'botonly', JSON.stringify({ value: [item()] }), json, 401],
    ['unknown account', 'nobody', JSON.stringify({ value: [item()] }), json, 404],
    // The proof is inside the body: one that cannot be read proves nothing (401, a failed authentication).
    ['malformed JSON', 'contoso', '{"value":[', json, 401],
    ['malformed JSON holding the clientState', 'contoso', '{"value":[{"clientState":"cs-new"', json, 401],
    ['no value array', 'contoso', '{"values":[]}', json, 401],
    ['clientState outside any item', 'contoso', '{"clientState":"cs-new","value":[{"id":"x"}]}', json, 401],
    ['items that are not objects', 'contoso', '{"value":["cs-new",1]}', json, 401],
    ['text/plain without validationToken', 'contoso', 'hello', { 'content-type': 'text/plain' }, 415],
  ];
  it.each(cases)('%s → %i', async (_name, account, body, headers, status) => {
    const before = (await t.jobs()).length;
    const res = await t.post(`/teams/${account}/notifications`, body, headers);
    expect(res.status).toBe(status);
    expect(JSON.stringify(await res.json())).not.toMatch(/cs-new|cs-old/);
    expect((await t.jobs()).length).toBe(before);
  });

  it('GET without validationToken → 400', async () => {
    expect((await fetch(`${t.url}/teams/contoso/notifications`)).status).toBe(400);
  });

  it('never logs a clientState', () => {
    const text = t.logs.join('\n');
    for (const secret of ['cs-new', 'cs-old']) expect(text).not.toContain(secret);
  });
});

describe('Graph: the clientState pre-check on raw bytes', () => {
  const states = ['cs-new', 'a+b<c>'];
  it.each([
    ['compact', '{"value":[{"clientState":"cs-new"}]}', true],
    ['spaced and pretty-printed', '{ "value": [ { "clientState" :\n\t "cs-new" } ] }', true],
    ['JSON-escaped as .NET writes it', '{"value":[{"clientState":"a\\u002Bb\\u003Cc\\u003E"}]}', true],
    ['a later item', '{"value":[{"clientState":"old"},{"clientState":"cs-new"}]}', true],
    ['absent', '{"value":[{"id":"cs-new"}]}', false],
    ['a prefix of a real one', '{"value":[{"clientState":"cs-ne"}]}', false],
    ['a longer one', '{"value":[{"clientState":"cs-new2"}]}', false],
    ['unterminated', '{"value":[{"clientState":"cs-new', false],
    ['not a string', '{"value":[{"clientState":1}]}', false],
  ])('%s → %s', (_name, body, expected) => {
    expect(mentionsClientState(Buffer.from(body), states)).toBe(expected);
  });

  it("takes Graph's longest clientState (255 characters) even fully escaped", () => {
    const long = 'A'.repeat(255);
    const escaped = '\\u0041'.repeat(255);
    expect(mentionsClientState(Buffer.from(`{"value":[{"clientState":"${escaped}"}]}`), [long])).toBe(true);
    expect(mentionsClientState(Buffer.from(`{"value":[{"clientState":"${escaped}A"}]}`), [long])).toBe(false);
  });

  it('stops looking after 1,000 decoys (a genuine batch carries its clientState from the first item)', () => {
    const decoys = (n: number) => Array.from({ length: n }, (_, i) => `{"clientState":"d${i}"}`);
    const body = (n: number) =>
      Buffer.from(
        JSON.stringify({ value: [] }).replace(
          '[]',
          `[${[...decoys(n), '{"clientState":"cs-new"}'].join(',')}]`,
        ),
      );
    expect(mentionsClientState(body(999), states)).toBe(true);
    expect(mentionsClientState(body(1000), states)).toBe(false);
  });
});
