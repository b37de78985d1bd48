import { readFileSync } from 'node:fs';
import { channelList } from '../../channels/index.js';
import { configuredChannels } from '../accounts.js';
import { loadConfig } from '../config/load.js';
import { RelayError } from '../errors.js';
import { fail } from './output.js';

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `relay sign CHANNEL:ACCOUNT` or `relay sign GROUP/TRIGGER`: a curl line that the relay would accept. */
export function signCommand(target: string, flags: { config?: string; data?: string; url?: string }): void {
  try {
    const { config } = loadConfig(flags.config);
    const data = flags.data ?? '{}';
    const body = Buffer.from(data.startsWith('@') ? readFileSync(data.slice(1)) : data);
    const [channelName, accountId] = target.includes(':')
      ? (target.split(/:(.*)/s) as [string, string])
      : ['webhook', target];
    const entry = configuredChannels(config, channelList).find((c) => c.channel.name === channelName);
    if (!entry)
      throw new RelayError(
        'bad_flag',
        `unknown channel "${channelName}"; known: ${channelList.map((c) => c.name).join(', ')}`,
      );
    const account = entry.accounts.find((a) => entry.channel.accountId(a) === accountId);
    if (account === undefined) {
      const known = entry.accounts.map((a) => entry.channel.accountId(a));
      throw new RelayError(
        'bad_flag',
        `no ${channelName} account "${accountId}" in the config${known.length ? `; configured: ${known.join(', ')}` : ''}`,
      );
    }
    if (!entry.channel.sign) throw new RelayError('bad_flag', `channel ${channelName} cannot sign requests`);
    const base = (flags.url ?? `http://127.0.0.1:${config.server.port}`).replace(/\/$/, '');
    // Senders that sign the URL sign the one the relay checks: publicUrl, else the URL posted to.
    const signed = entry.channel.sign(account, body, Date.now(), config.publicUrl ?? base);
    const parts = [`curl -i -X ${signed.method} ${shellQuote(base + signed.path)}`];
    for (const [name, value] of Object.entries(signed.headers))
      parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
    parts.push(`--data-binary ${shellQuote((signed.body ?? body).toString('utf8'))}`);
    process.stdout.write(`${parts.join(' \\\n  ')}\n`);
  } catch (err) {
    fail(err);
  }
}
