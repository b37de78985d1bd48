import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { chatMessage } from '../channels/googlechat/fixtures/events.js';
import { decodeChatMessage } from '../channels/googlechat/pubsub.js';
import {
  hasBigDigitRun,
  hasInexactInteger,
  keepsBigIntegers,
  numberText,
  parseExactJson,
} from '../src/exact-json.js';
import { redisUrl, startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

/**
 * Contract section 4: an integer beyond 2^53 keeps every digit in the job's stored JSON (Node 22+);
 * where the runtime cannot write it exactly, `data.raw` holds the exact body text. Run on both
 * Node versions CI runs: `npx vitest run test/exact-payloads.test.ts` (Node 20) and
 * `bash scripts/ci-node22.sh test/exact-payloads.test.ts`.
 */

const shopifyId = '820982911946154508'; // JSON.parse makes it 820982911946154500
const body = `{"id":${shopifyId},"total":"10.00","line_items":[{"id":866550311766439020,"qty":1}]}`;
const token = 'exact-payload-token-0123';
const secretToken = 'exact-telegram-secret';
const redis = new Redis(redisUrl);
const started: TestRelay[] = [];

async function relay(journal?: object): Promise<TestRelay> {
  const t = await startTestRelay({
    ...(journal ? { queue: { journal: { enabled: true, ...journal } } } : {}),
    channels: {
      webhook: [{ group: 'shop', trigger: 'orders', auth: { scheme: 'token', token } }],
      telegram: [{ account: 'support', botToken: '1:x', secretToken, mode: 'webhook' }],
    },
  });
  started.push(t);
  return t;
}
afterAll(async () => {
  for (const t of started) await t.close();
  redis.disconnect();
});

/** The job's `data` field exactly as Redis holds it: what a worker in any language reads. */
async function storedData(t: TestRelay, id: string): Promise<string> {
  return until(() => redis.hget(`${t.prefix}:relay-events:${id}`, 'data'));
}

function expectExact(stored: string, exactText: string): void {
  if (keepsBigIntegers) {
    expect(stored).toContain(`"id":${shopifyId}`);
    expect(stored).toContain('866550311766439020');
    expect(JSON.parse(stored).data.raw).toBeUndefined();
  } else {
    // The payload is the runtime's best parse; the exact text sits beside it.
    expect(JSON.parse(stored).data.raw).toBe(exactText);
  }
}

describe('big integers in payloads', () => {
  it.each([
    ['direct to jobs', undefined],
    ['through the journal, pump thread', { pump: 'thread' }],
    ['through the journal, pump inline', { pump: 'inline' }],
  ])('a generic trigger keeps Shopify’s id exact: %s', async (_name, journal) => {
    const t = await relay(journal);
    const res = await t.post('/webhook/shop/orders', body, {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'idempotency-key': `order-${journal ? JSON.stringify(journal) : 'direct'}`,
    });
    expect(res.status).toBe(202);
    const { ids } = (await res.json()) as { ids: string[] };
    expectExact(await storedData(t, ids[0] as string), body);
  });

  it('a Telegram update whose ids pass 2^53 is accepted and keyed by its exact digits', async () => {
    const t = await relay();
    const update = `{"update_id":12345678901234567891,"message":{"message_id":5,"date":1441645532,"chat":{"id":-1001234567890123456,"type":"supergroup"},"text":"hi"}}`;
    const res = await t.post('/telegram/support', update, {
      'content-type': 'application/json',
      'x-telegram-bot-api-secret-token': secretToken,
    });
    expect(res.status).toBe(200);
    const [event] = await until(async () => {
      const jobs = await t.jobs();
      return jobs.length > 0 && jobs;
    });
    const stored = await storedData(t, event?.id as string);
    if (keepsBigIntegers) {
      expect(stored).toContain('"update_id":12345678901234567891');
      expect(event?.subject).toBe('-1001234567890123456');
    } else {
      expect(JSON.parse(stored).data.raw).toBe(update);
    }
  });

  it('leaves every other body alone: no raw text, numbers stay numbers', async () => {
    const t = await relay();
    const plain = '{"id":9007199254740991,"ratio":0.1,"big":1e300,"s":"820982911946154508"}';
    const res = await t.post('/webhook/shop/orders', plain, {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'idempotency-key': 'plain',
    });
    const { ids } = (await res.json()) as { ids: string[] };
    const stored = JSON.parse(await storedData(t, ids[0] as string));
    expect(stored.data.raw).toBeUndefined();
    expect(stored.data.payload).toEqual(JSON.parse(plain));
  });
});

describe('loops that parse JSON themselves', () => {
  it('a Google Chat Pub/Sub message keeps its big integer, or carries its exact text', () => {
    const text = JSON.stringify(chatMessage(1)).replace(/^\{/, `{"threadKey":${shopifyId},`);
    const decoded = decodeChatMessage({
      ackId: 'a',
      message: { data: Buffer.from(text).toString('base64') },
    });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    if (keepsBigIntegers) {
      expect(JSON.stringify(decoded.event.payload)).toContain(`"threadKey":${shopifyId}`);
      expect(decoded.event.raw).toBeUndefined();
    } else expect(decoded.event.raw).toBe(text);
  });
});

describe('parseExactJson', () => {
  it('finds only integers JSON.parse would round, outside strings', () => {
    expect(hasInexactInteger('{"a":9007199254740993}')).toBe(true);
    expect(hasInexactInteger('[-820982911946154508]')).toBe(true);
    expect(hasInexactInteger('{"a":9007199254740991}')).toBe(false);
    expect(hasInexactInteger('{"a":"820982911946154508"}')).toBe(false);
    expect(hasInexactInteger('{"a\\"":"x\\"820982911946154508"}')).toBe(false);
    expect(hasInexactInteger('{"a":1234567890123456.5,"b":1e300}')).toBe(false);
  });

  it('finds a run of 16 digits wherever it lies, as /\\d{16}/ does', () => {
    const cases = ['', '1234567890123456', '123456789012345', `${'1'.repeat(15)}a${'1'.repeat(15)}`];
    // Runs of 14 to 18 digits at every offset around the scan's stride, between letters and digits.
    for (let len = 14; len <= 18; len++)
      for (let at = 0; at < 40; at++) {
        cases.push(`${'x'.repeat(at)}${'7'.repeat(len)}${'y'.repeat(40 - at)}`);
        cases.push(`${'12345 '.repeat(at % 7)}${'x'.repeat(at)}${'9'.repeat(len)}`);
      }
    for (const text of cases) expect(hasBigDigitRun(text), text).toBe(/\d{16}/.test(text));
  });

  it('writes the exact digits back where the runtime can, and says when it cannot', () => {
    const { value, inexact } = parseExactJson(body);
    expect(inexact).toBe(!keepsBigIntegers);
    if (keepsBigIntegers) {
      expect(JSON.stringify(value)).toBe(body);
      expect(numberText((value as { id: unknown }).id)).toBe(shopifyId);
    }
    expect(numberText(5)).toBe('5');
    expect(numberText('')).toBeUndefined();
    expect(numberText({ rawJSON: '1' })).toBeUndefined();
  });
});
