import { LinearWebhookClient } from '@linear/sdk/webhooks';
import Mux from '@mux/mux-node';
import { Paddle } from '@paddle/paddle-node-sdk';
import '@shopify/shopify-api/adapters/web-api';
import { ApiVersion, LogSeverity, shopifyApi } from '@shopify/shopify-api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Case, cases, now, nowSec, other, publicUrl, type Sent } from './support/preset-cases.js';

/**
 * Senders whose own library verifies webhooks (linear, paddle and mux publish no signer): it must
 * accept the very request test/presets.test.ts sends to the relay (same case, same delivery id, same
 * instant) and refuse what the relay refuses, so the preset and the sender's own code agree. The
 * libraries read the wall clock, so Date here is set to the instant presets.test.ts gives the relay.
 */

const paddle = new Paddle('pdl_sdbx_apikey_presets_unused');
const mux = new Mux({ tokenId: 'unused', tokenSecret: 'unused' });
const shopify = (apiSecretKey: string) =>
  shopifyApi({
    apiKey: 'unused',
    apiSecretKey,
    hostName: 'relay.example.com',
    apiVersion: ApiVersion.July25,
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error, log: async () => {} },
  });
const settles = async (check: () => unknown) => {
  try {
    return (await check()) !== false;
  } catch {
    return false;
  }
};

const libraries: Record<string, (sent: Sent, secret: string) => Promise<boolean>> = {
  // @linear/sdk: LinearWebhookClient#verify throws on a bad signature or a webhookTimestamp older than 60 s.
  linear: (sent, secret) =>
    settles(() =>
      new LinearWebhookClient(secret).verify(Buffer.from(sent.body), sent.headers['linear-signature'] ?? ''),
    ),
  // @paddle/paddle-node-sdk: Webhooks#isSignatureValid (what unmarshal uses), ts older than 5 s refused.
  paddle: (sent, secret) =>
    settles(() =>
      paddle.webhooks.isSignatureValid(sent.body, secret, sent.headers['paddle-signature'] ?? ''),
    ),
  // @mux/mux-node: webhooks.verifySignature throws on a bad signature or a timestamp older than 300 s.
  mux: (sent, secret) => settles(() => mux.webhooks.verifySignature(sent.body, sent.headers, secret)),
  // @shopify/shopify-api: webhooks.validate (HMAC of the raw body, and the headers Shopify sends).
  shopify: async (sent, secret) => {
    const rawRequest = new Request(`${publicUrl}/webhook/presets/shopify`, {
      method: 'POST',
      headers: sent.headers,
      body: sent.body,
    });
    return (await shopify(secret).webhooks.validate({ rawBody: sent.body, rawRequest })).valid;
  },
};

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'], now });
});
afterAll(() => {
  vi.useRealTimers();
});

const covered = cases.filter((c) => c.scheme in libraries);
const env = (c: Case) => ({ secret: c.secret, url: `${publicUrl}/webhook/presets/${c.scheme}` });

it('covers every library-verified sender in the preset table', () => {
  expect(covered.map((c) => c.scheme).sort()).toEqual(Object.keys(libraries).sort());
});

describe.each(covered)("preset $scheme: the sender's library", (c) => {
  const accepts = libraries[c.scheme] as (sent: Sent, secret: string) => Promise<boolean>;
  const send = (atSec = nowSec, secret = c.secret) =>
    c.send(`${c.scheme}-delivery-1`, atSec, { ...env(c), secret });

  it('accepts the signed request presets.test.ts sends (202 there)', async () => {
    expect(await accepts(await send(), c.secret)).toBe(true);
  });

  it('refuses what the relay refuses: tampered body, wrong secret, missing header, stale timestamp', async () => {
    const sent = await send();
    // The same tampering as presets.test.ts.
    expect(await accepts({ ...sent, body: sent.body.replace('"', '"x') }, c.secret)).toBe(false);
    expect(await accepts(await send(nowSec, other), c.secret)).toBe(false);
    const headers = Object.fromEntries(Object.entries(sent.headers).filter(([h]) => !c.proof.includes(h)));
    expect(await accepts({ ...sent, headers }, c.secret)).toBe(false);
    if (c.windowSec) expect(await accepts(await send(nowSec - c.windowSec - 10), c.secret)).toBe(false);
  });
});
