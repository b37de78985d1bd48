import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { parseConfig } from './load.js';

/**
 * docs/relay.schema.json (what an editor checks) and the relay's own loader (what `relay check`
 * and `relay start` check) must give the same verdict on every config: each sample below goes to
 * both. Formats (uri, email) are left to the loader; the samples use well-formed URLs.
 */
const schema = JSON.parse(
  readFileSync(new URL('../../docs/relay.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const validate = new Ajv({ strict: false, validateFormats: false, allErrors: true }).compile(schema);

const dir = mkdtempSync(join(tmpdir(), 'relay-schema-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, 'from-a-file_0123\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const botToken = '123456789:AAexample-bot-token';
const sub = 'projects/p/subscriptions/chat-events';

/** [name, channels, valid]: every minimal account shape a user can write, and the mistakes. */
const samples: [string, Record<string, unknown[]>, boolean][] = [
  ['slack: appToken only (Socket Mode)', { slack: [{ account: 'a', appToken: 'xapp-1-A-1-x' }] }, true],
  ['slack: signingSecret only (HTTP)', { slack: [{ account: 'a', signingSecret: 's' }] }, true],
  ['slack: signingSecretFile only', { slack: [{ account: 'a', signingSecretFile: secretFile }] }, true],
  ['slack: both', { slack: [{ account: 'a', signingSecret: 's', appToken: 'xapp-1' }] }, true],
  ['slack: neither secret', { slack: [{ account: 'a' }] }, false],
  ['slack: signingSecret left empty (null)', { slack: [{ account: 'a', signingSecret: null }] }, false],
  [
    'googleChat: subscription only (Pub/Sub)',
    { googleChat: [{ account: 'a', subscription: sub, credentials: { accessToken: 't' } }] },
    true,
  ],
  ['googleChat: audience only (HTTP endpoint)', { googleChat: [{ account: 'a', audience: '1234' }] }, true],
  ['googleChat: neither audience nor subscription', { googleChat: [{ account: 'a' }] }, false],
  [
    'googleChat: credentials with both serviceAccountFile and accessToken',
    {
      googleChat: [
        {
          account: 'a',
          subscription: sub,
          credentials: { serviceAccountFile: '/sa.json', accessToken: 't' },
        },
      ],
    },
    false,
  ],
  [
    'googleChat: empty credentials',
    { googleChat: [{ account: 'a', subscription: sub, credentials: {} }] },
    false,
  ],
  ['telegram: polling, no secretToken', { telegram: [{ account: 'a', botToken, mode: 'polling' }] }, true],
  ['telegram: webhook with secretToken', { telegram: [{ account: 'a', botToken, secretToken: 'st' }] }, true],
  [
    'telegram: webhook with secretTokenFile',
    { telegram: [{ account: 'a', botToken, mode: 'webhook', secretTokenFile: secretFile }] },
    true,
  ],
  ['telegram: webhook (the default) without secretToken', { telegram: [{ account: 'a', botToken }] }, false],
  [
    'telegram: webhook with secretToken left empty (null)',
    { telegram: [{ account: 'a', botToken, mode: 'webhook', secretToken: null }] },
    false,
  ],
  ['telegram: no botToken', { telegram: [{ account: 'a', mode: 'polling' }] }, false],
  ['teams: Graph only (clientState)', { teams: [{ account: 'a', clientState: 'cs' }] }, true],
  ['teams: Bot only (appId)', { teams: [{ account: 'a', appId: 'app' }] }, true],
  [
    'teams: Graph with client credentials',
    {
      teams: [
        {
          account: 'a',
          clientState: 'cs',
          subscriptions: [{ resource: '/chats/getAllMessages', changeType: 'created' }],
          credentials: { tenantId: 't', clientId: 'c', clientSecret: 's' },
        },
      ],
    },
    true,
  ],
  [
    'teams: Graph with an access token',
    { teams: [{ account: 'a', clientState: 'cs', credentials: { accessToken: 'at' } }] },
    true,
  ],
  ['teams: neither clientState nor appId', { teams: [{ account: 'a' }] }, false],
  [
    'teams: subscriptions without clientState',
    {
      teams: [{ account: 'a', appId: 'app', subscriptions: [{ resource: '/chats', changeType: 'created' }] }],
    },
    false,
  ],
  [
    'teams: clientSecret and accessToken together',
    {
      teams: [
        {
          account: 'a',
          clientState: 'cs',
          credentials: { tenantId: 't', clientId: 'c', clientSecret: 's', accessToken: 'at' },
        },
      ],
    },
    false,
  ],
  [
    'teams: clientSecret without tenantId',
    { teams: [{ account: 'a', clientState: 'cs', credentials: { clientId: 'c', clientSecret: 's' } }] },
    false,
  ],
  [
    'whatsapp: appSecret and verifyToken',
    { whatsapp: [{ account: 'a', appSecret: 's', verifyToken: 'v' }] },
    true,
  ],
  ['whatsapp: no verifyToken', { whatsapp: [{ account: 'a', appSecret: 's' }] }, false],
  ...mailboxSamples(),
  ...webhookSamples(),
];

/** Generic triggers: each scheme with and without the secret it needs, and presets by their kind. */
function webhookSamples(): [string, Record<string, unknown[]>, boolean][] {
  const trigger = (auth: Record<string, unknown>) => ({ webhook: [{ group: 'g', trigger: 't', auth }] });
  const whsec = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
  return [
    ['webhook: token', trigger({ scheme: 'token', token: 't0k3n-t0k3n' }), true],
    ['webhook: token without a token', trigger({ scheme: 'token' }), false],
    ['webhook: hmac-sha256', trigger({ scheme: 'hmac-sha256', secrets: ['s1'] }), true],
    [
      'webhook: hmac-sha256 with secretsFile',
      trigger({ scheme: 'hmac-sha256', secretsFile: secretFile }),
      true,
    ],
    ['webhook: hmac-sha256 without secrets', trigger({ scheme: 'hmac-sha256' }), false],
    ['webhook: standard-webhooks', trigger({ scheme: 'standard-webhooks', secrets: [whsec] }), true],
    ['webhook: standard-webhooks without secrets', trigger({ scheme: 'standard-webhooks' }), false],
    ['webhook: none', trigger({ scheme: 'none' }), true],
    ['webhook: stripe preset', trigger({ scheme: 'stripe', secrets: ['whsec_x'] }), true],
    ['webhook: stripe preset without secrets', trigger({ scheme: 'stripe' }), false],
    ['webhook: discord preset without publicKey', trigger({ scheme: 'discord' }), false],
  ];
}

/** Gmail and Outlook credentials: each kind alone is valid; mixed or incomplete kinds are not. */
function mailboxSamples(): [string, Record<string, unknown[]>, boolean][] {
  const gmail = (credentials: Record<string, unknown>) => ({ gmail: [{ account: 'g', credentials }] });
  const outlook = (credentials: Record<string, unknown>) => ({
    outlook: [{ account: 'o', user: 'sales@contoso.com', credentials }],
  });
  const refresh = { clientId: 'c', clientSecret: 's', refreshToken: 'r' };
  const app = { tenantId: 't', clientId: 'c' };
  return [
    ['gmail: clientId, clientSecret, refreshToken', gmail(refresh), true],
    ['gmail: accessToken', gmail({ accessToken: 'at' }), true],
    [
      'gmail: refreshTokenFile instead of refreshToken',
      gmail({ clientId: 'c', clientSecret: 's', refreshTokenFile: secretFile }),
      true,
    ],
    ['gmail: no refreshToken', gmail({ clientId: 'c', clientSecret: 's' }), false],
    ['gmail: accessToken and a refresh token together', gmail({ ...refresh, accessToken: 'at' }), false],
    [
      'gmail: serviceAccountFile and clientId together',
      gmail({ serviceAccountFile: '/sa.json', subject: 'a@b.c', clientId: 'c' }),
      false,
    ],
    ['gmail: no credentials at all', gmail({}), false],
    ['outlook: client credentials', outlook({ ...app, clientSecret: 's' }), true],
    ['outlook: delegated (refreshToken, public client)', outlook({ ...app, refreshToken: 'r' }), true],
    ['outlook: accessToken', outlook({ accessToken: 'at' }), true],
    ['outlook: no tenantId', outlook({ clientId: 'c', clientSecret: 's' }), false],
    ['outlook: neither clientSecret nor refreshToken', outlook(app), false],
    [
      'outlook: accessToken and clientSecret together',
      outlook({ ...app, clientSecret: 's', accessToken: 'at' }),
      false,
    ],
  ];
}

function loaderVerdict(config: unknown): { valid: boolean; problems: readonly string[] } {
  try {
    parseConfig(config, {});
    return { valid: true, problems: [] };
  } catch (err) {
    if (err instanceof ConfigError) return { valid: false, problems: err.problems };
    throw err;
  }
}

/** Top-level settings with rules of their own: destinations' secret, the admin token's length. */
const topLevel: [string, Record<string, unknown>, boolean][] = [
  [
    'destination with a secret',
    {
      destinations: [
        {
          name: 'd',
          url: 'http://backend:8100/hooks',
          secret: `whsec_${Buffer.from('k'.repeat(32)).toString('base64')}`,
        },
      ],
    },
    true,
  ],
  [
    'destination without a secret',
    { destinations: [{ name: 'd', url: 'http://backend:8100/hooks' }] },
    false,
  ],
  ['admin token of 16 characters', { admin: { token: '0123456789abcdef' } }, true],
  ['admin token of 8 characters', { admin: { token: '01234567' } }, false],
];

describe('the JSON Schema and the config loader agree', () => {
  it.each(topLevel)('%s', (_name, config, valid) => {
    expect({ loader: loaderVerdict(config).valid }).toEqual({ loader: valid });
    expect({ schema: validate(config), errors: validate.errors ?? [] }).toMatchObject({ schema: valid });
  });

  it.each(samples)('%s', (_name, channels, valid) => {
    const config = { channels };
    const loader = loaderVerdict(config);
    const editor = validate(config);
    expect({ loader: loader.valid, problems: loader.problems }).toMatchObject({ loader: valid });
    expect({ schema: editor, errors: validate.errors ?? [] }).toMatchObject({ schema: valid });
  });
});
