import type { Command } from 'commander';
import { channelList } from '../../channels/index.js';
import { configuredChannels } from '../accounts.js';
import { deprecationWarnings } from '../config/deprecated.js';
import { loadConfig } from '../config/load.js';
import { describeRedis } from '../redis/url.js';
import { probeAccount } from './online.js';
import { fail } from './output.js';

/**
 * Validates the config (every problem at once) and prints what it configures, never a secret.
 * `--online` also calls each provider once per account (an auth test) and exits 1 when any refuses.
 */
export async function checkCommand(flags: {
  config?: string;
  online?: boolean;
  destinations?: boolean;
}): Promise<void> {
  try {
    const loaded = loadConfig(flags.config);
    const { config } = loaded;
    const lines = [`config: ${loaded.source}: valid`];
    lines.push(
      `public port ${config.server.port}, ops port ${config.server.opsPort}, redis ${describeRedis(config.redis)} (prefix ${config.redis.prefix})`,
    );
    lines.push(
      `queue ${config.queue.name}: ${config.queue.attempts} attempts, dedupe ${config.queue.dedupeHours} h`,
    );
    const journal = config.queue.journal;
    lines.push(
      journal?.enabled
        ? `ingest journal: on (requests acknowledged on one XADD; pump ${journal.pump === 'thread' ? 'in its own thread' : 'on the request thread'}, batches of ${journal.batch}; 503 past ${journal.maxBacklog} entries not yet jobs)`
        : 'ingest journal: off (jobs made before the 2xx)',
    );
    lines.push(`admin API: ${config.admin.token ? 'enabled' : 'disabled (no admin.token)'}`);
    for (const warning of deprecationWarnings(config)) lines.push(`warning: ${warning}`);
    const accounts = configuredChannels(config, channelList).flatMap(({ channel, accounts }) =>
      accounts.map((account) => ({ channel, account })),
    );
    // Every provider at once: one slow provider should not make the others wait.
    const online = flags.online
      ? await Promise.all(accounts.map(({ channel, account }) => probeAccount(channel, account)))
      : [];
    let refused = 0;
    accounts.forEach(({ channel, account }, i) => {
      const warnings = channel.warnings?.(account) ?? [];
      lines.push(
        `${channel.name} ${channel.accountId(account)}: ok${warnings.length ? ` (warning: ${warnings.join('; ')})` : ''}`,
      );
      const probe = online[i];
      if (!probe) return;
      if (probe.status === 'problem') refused++;
      lines.push(`  online: ${probe.status === 'none' ? '' : `${probe.status}: `}${probe.message}`);
    });
    // A destination is called only when asked (--destinations), and then with OPTIONS: no event.
    const { probeDestination } = await import('../destinations/doctor.js');
    const probes = flags.destinations ? await Promise.all(config.destinations.map(probeDestination)) : [];
    config.destinations.forEach((d, i) => {
      lines.push(
        `destination ${d.name}: ${new URL(d.url).host}, ${d.secret.length} secret(s), concurrency ${d.concurrency}${d.rate ? `, ${d.rate}/s` : ''}`,
      );
      const probe = probes[i];
      if (!probe) return;
      if (probe.verdict === 'problem') refused++;
      lines.push(`  online: ${probe.verdict}: ${probe.message}`);
    });
    process.stdout.write(`${lines.join('\n')}\n`);
    if (refused > 0) {
      process.stderr.write(`relay: ${refused} account(s) failed the online check; see the lines above\n`);
      process.exitCode = 1;
    }
  } catch (err) {
    fail(err);
  }
}

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('validate the config and print what it sets up')
    .option('--config <file>', 'config file (default: $RELAY_CONFIG, then ./relay.yaml)')
    .option('--online', 'also call each provider once with the configured credentials (auth test)')
    .option('--destinations', 'also send each destination one OPTIONS request (never an event)')
    .action(checkCommand);
}
