import { channelList } from '../../channels/index.js';
import { configuredChannels } from '../accounts.js';
import { loadConfig } from '../config/load.js';
import { fail } from './output.js';

/** Validates the config (every problem at once) and prints what it configures, never a secret. */
export function checkCommand(flags: { config?: string; online?: boolean }): void {
  try {
    const loaded = loadConfig(flags.config);
    const { config } = loaded;
    const lines = [`config: ${loaded.source}: valid`];
    lines.push(
      `public port ${config.server.port}, ops port ${config.server.opsPort}, redis ${config.redis.url.replace(/\/\/[^@/]*@/, '//***@')} (prefix ${config.redis.prefix})`,
    );
    lines.push(
      `queue ${config.queue.name}: ${config.queue.attempts} attempts, dedupe ${config.queue.dedupeHours} h`,
    );
    lines.push(`admin API: ${config.admin.token ? 'enabled' : 'disabled (no admin.token)'}`);
    for (const { channel, accounts } of configuredChannels(config, channelList)) {
      for (const account of accounts) {
        const warnings = channel.warnings?.(account) ?? [];
        lines.push(
          `${channel.name} ${channel.accountId(account)}: ok${warnings.length ? ` (warning: ${warnings.join('; ')})` : ''}`,
        );
        if (flags.online)
          lines.push(`  online: no provider call exists for ${channel.name}; nothing to check`);
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (err) {
    fail(err);
  }
}
