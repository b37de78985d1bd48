import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeBotApi, startFakeBotApi } from '../../test/fakes/telegram-bot-api.js';
import { relayBin } from '../../test/support/process.js';
import { channels } from '../index.js';
import { exampleBotToken, exampleSecretToken } from './fixtures/config.js';

let fake: FakeBotApi;
let dir: string;
let configFile: string;

beforeAll(async () => {
  fake = await startFakeBotApi(exampleBotToken);
  dir = mkdtempSync(join(tmpdir(), 'relay-telegram-cli-'));
  configFile = join(dir, 'relay.yaml');
  writeFileSync(
    configFile,
    [
      'publicUrl: https://relay.example.com/',
      'channels:',
      '  telegram:',
      `    - { account: support, botToken: "${exampleBotToken}", secretToken: ${exampleSecretToken}, apiRoot: ${fake.url}, allowedUpdates: [message] }`,
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `relay telegram …` in-process, registered as the host does (the channel's `commands`), and returns what it printed. */
async function relay(...args: string[]): Promise<string> {
  const program = new Command('relay').exitOverride();
  channels.telegram.commands(program);
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    printed.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'relay', 'telegram', ...args, '--config', configFile]);
  } finally {
    process.stdout.write = write;
  }
  return printed.join('');
}

describe('relay telegram …', () => {
  it('set-webhook registers {publicUrl}/telegram/{account} with the secret token, in one line', async () => {
    const out = await relay('set-webhook', 'support');
    expect(out).toBe(
      'telegram/support: webhook set to https://relay.example.com/telegram/support with secret_token (allowed_updates: message)\n',
    );
    expect(fake.callsOf('setWebhook').at(-1)?.params).toEqual({
      url: 'https://relay.example.com/telegram/support',
      secret_token: exampleSecretToken,
      allowed_updates: ['message'],
    });
    expect(out).not.toContain(exampleSecretToken);
  });

  it('webhook-info prints the registration and whether it matches publicUrl', async () => {
    expect(await relay('webhook-info', 'support')).toBe(
      'telegram/support: url https://relay.example.com/telegram/support, 0 pending; matches publicUrl\n',
    );
    fake.webhook.url = 'https://elsewhere.example/x';
    expect(await relay('webhook-info', 'support')).toMatch(
      /; webhook drift: Telegram delivers to https:\/\/elsewhere\.example\/x/,
    );
  });

  it('delete-webhook removes it', async () => {
    expect(await relay('delete-webhook', 'support', '--drop-pending-updates')).toBe(
      'telegram/support: webhook deleted, pending updates dropped\n',
    );
    expect(fake.webhook.url).toBe('');
    expect(fake.callsOf('deleteWebhook').at(-1)?.params).toEqual({ drop_pending_updates: true });
  });

  it('the built relay offers them through the channel registry', async () => {
    fake.webhook.url = 'https://relay.example.com/telegram/support';
    // Not spawnSync: the fake Bot API answers from this process.
    const args = [relayBin, 'telegram', 'webhook-info', 'support', '--config', configFile];
    const out = await promisify(execFile)(process.execPath, args, { timeout: 20_000 });
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe(
      'telegram/support: url https://relay.example.com/telegram/support, 0 pending; matches publicUrl\n',
    );
  });
});
