import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { eventId } from '../../src/queue/envelope.js';
import { telegramAccount } from './config.js';
import { exampleAccount, fixtureBytes, fixtureNames } from './fixtures/config.js';
import { normalizeTelegram } from './normalize.js';

const load = (name: (typeof fixtureNames)[number]) =>
  JSON.parse(fixtureBytes(name).toString('utf8')) as Record<string, unknown>;

describe('telegram normalize over recorded fixtures', () => {
  it.each(fixtureNames)('%s: telegram.<update field>, key update-<id>, a valid job id', (name) => {
    const update = load(name);
    const e = normalizeTelegram(update);
    const field = Object.keys(update).find((k) => k !== 'update_id');
    expect(e.type).toBe(`telegram.${field}`);
    expect(e.key).toBe(`update-${update.update_id}`);
    expect(e.payload).toEqual(update);
    const id = eventId('telegram', 'support', e.key);
    expect(id).not.toContain(':');
    expect(id).not.toMatch(/^\d+$/);
  });

  it('a private message: subject = chat id, data.message from the Message, time from date', () => {
    expect(normalizeTelegram(load('message'))).toMatchObject({
      type: 'telegram.message',
      subject: '1111111',
      time: new Date(1441645532 * 1000).toISOString(),
      message: { id: '1365', conversation: '1111111', sender: '1111111', text: '/start' },
    });
  });

  it('captions, edits, channel posts', () => {
    expect(normalizeTelegram(load('message-group-photo'))).toMatchObject({
      subject: '-1001234567890',
      message: { text: 'Ticket #42 – screenshot ✅', conversation: '-1001234567890' },
    });
    expect(normalizeTelegram(load('edited-message'))).toMatchObject({
      type: 'telegram.edited_message',
      time: new Date(1441645700 * 1000).toISOString(),
      message: { text: '/start again' },
    });
    expect(normalizeTelegram(load('channel-post'))).toMatchObject({ message: { sender: '-1009876543210' } });
  });

  it('non-message updates: the chat where there is one, no data.message', () => {
    const callback = normalizeTelegram(load('callback-query'));
    expect(callback).toMatchObject({ type: 'telegram.callback_query', subject: '1111111' });
    expect(callback.message).toBeUndefined();
    expect(callback.time).toBeUndefined();
    expect(normalizeTelegram(load('my-chat-member')).subject).toBe('-1001234567890');
    expect(normalizeTelegram(load('message-reaction')).subject).toBe('1111111');
    expect(normalizeTelegram(load('inline-query')).subject).toBeUndefined();
    expect(normalizeTelegram(load('poll-answer')).subject).toBeUndefined();
  });

  it('never throws on shapes Telegram does not send', () => {
    for (const update of [
      {},
      { update_id: 1 },
      { update_id: 'x', message: null },
      { update_id: 2, message: { chat: 5, date: 'x' } },
    ]) {
      expect(() => normalizeTelegram(update)).not.toThrow();
    }
    expect(normalizeTelegram({ update_id: 3 })).toMatchObject({ type: 'telegram.update', key: 'update-3' });
  });
});

describe('telegram config', () => {
  const parse = (account: Record<string, unknown>) => telegramAccount.safeParse(account);
  const problems = (account: Record<string, unknown>): string[] => {
    try {
      parseConfig({ channels: { telegram: [account] } }, {});
      return [];
    } catch (err) {
      return err instanceof ConfigError ? [...err.problems] : [String(err)];
    }
  };

  it('defaults: webhook mode, the real Bot API, allowed updates left alone', () => {
    const account = telegramAccount.parse({
      account: 'a',
      botToken: exampleAccount.botToken,
      secretToken: 'abc_DEF-123',
    });
    expect(account).toMatchObject({
      mode: 'webhook',
      apiRoot: 'https://api.telegram.org',
      secretToken: ['abc_DEF-123'],
    });
    expect(account.allowedUpdates).toBeUndefined();
  });

  it('refuses a secretToken outside 1-256 of A-Z a-z 0-9 _ -, naming the bot-token mistake', () => {
    const colon = problems({
      account: 'a',
      botToken: exampleAccount.botToken,
      secretToken: exampleAccount.botToken,
    });
    expect(colon).toHaveLength(1);
    expect(colon[0]).toMatch(/^channels\.telegram\.0\.secretToken: .*bot token.*botToken/);
    expect(colon[0]).not.toContain(exampleAccount.botToken);
    expect(parse({ account: 'a', botToken: exampleAccount.botToken, secretToken: 'has space' }).success).toBe(
      false,
    );
    expect(
      parse({ account: 'a', botToken: exampleAccount.botToken, secretToken: 'x'.repeat(257) }).success,
    ).toBe(false);
    expect(
      parse({ account: 'a', botToken: exampleAccount.botToken, secretToken: ['ok', 'bad.dot'] }).success,
    ).toBe(false);
    expect(
      parse({ account: 'a', botToken: exampleAccount.botToken, secretToken: 'x'.repeat(256) }).success,
    ).toBe(true);
  });

  it('needs secretToken in webhook mode only, and a bot token shaped like one', () => {
    expect(problems({ account: 'a', botToken: exampleAccount.botToken })).toEqual([
      'channels.telegram.0.secretToken: required in webhook mode (or secretTokenFile)',
    ]);
    expect(parse({ account: 'a', botToken: exampleAccount.botToken, mode: 'polling' }).success).toBe(true);
    expect(problems({ account: 'a', botToken: 'not-a-token', secretToken: 's' })[0]).toMatch(
      /^channels\.telegram\.0\.botToken: /,
    );
    expect(problems({ account: 'a', secretToken: 's' })[0]).toMatch(/botToken: required/);
    expect(problems({ ...exampleAccount, mode: 'push' })[0]).toMatch(/^channels\.telegram\.0\.mode: /);
    expect(problems({ ...exampleAccount, allowedUpdates: ['Message'] })[0]).toMatch(/allowedUpdates\.0/);
  });
});
