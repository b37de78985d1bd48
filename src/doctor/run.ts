import { channelList } from '../../channels/index.js';
import { type ChannelAccounts, configuredChannels } from '../accounts.js';
import { openContext } from '../cli/context.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
import { destinationFindings } from '../destinations/doctor.js';
import { ConfigError, errorMessage } from '../errors.js';
import { listEvents } from '../queue/inspect.js';
import type { QueueSet } from '../queue/queues.js';
import { authLookup } from './auth-info.js';
import { type Finding, finding } from './finding.js';
import { loopFindings, readLeases } from './loops.js';
import { memoryFindings, readMemoryFacts } from './memory.js';
import { diagnoseRejections } from './patterns.js';
import { readRedisFacts, redisFindings } from './redis.js';
import { registrationFindings } from './registration.js';

const dayMs = 24 * 3_600_000;

function configFindings(loaded: LoadedConfig, configured: readonly ChannelAccounts[]): Finding[] {
  const count = configured.reduce((n, c) => n + c.accounts.length, 0);
  const out = [finding('ok', 'config', `${loaded.source} is valid (${count} accounts)`)];
  for (const { channel, accounts } of configured)
    for (const account of accounts)
      for (const w of channel.warnings?.(account) ?? [])
        out.push(finding('warning', `config ${channel.name}/${channel.accountId(account)}`, w));
  if (!loaded.config.admin.token)
    out.push(
      finding('warning', 'config admin', 'no admin.token: /admin (events, replay, dashboard) answers 404'),
    );
  return out;
}

/** Newest accepted event per `channel/account` in the queues (replayed copies are not deliveries). */
async function lastAccepted(
  queues: QueueSet,
  names: readonly string[],
  nowMs: number,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const records = await listEvents(queues, names, { sinceMs: nowMs - 14 * dayMs, limit: 5000 });
  for (const r of records) {
    if (r.event.replayof) continue;
    const key = `${r.event.channel}/${r.event.account}`;
    const at = r.event.receivedat;
    if (at > (out.get(key) ?? '')) out.set(key, at);
  }
  return out;
}

/** Every check `relay doctor` makes, in order; a check that cannot run says so and the rest go on. */
export async function runDoctor(configFlag: string | undefined, nowMs = Date.now()): Promise<Finding[]> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(configFlag);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => finding('problem', 'config', p));
    return [finding('problem', 'config', errorMessage(err))];
  }
  const configured = configuredChannels(loaded.config, channelList).filter((c) => c.accounts.length > 0);
  const out = configFindings(loaded, configured);

  let ctx: Awaited<ReturnType<typeof openContext>>;
  try {
    ctx = await openContext(configFlag);
  } catch (err) {
    out.push(finding('problem', 'redis', `${errorMessage(err)}; nothing else that needs Redis was checked`));
    out.push(...(await registrationFindings(configured, loaded.config.publicUrl, undefined, nowMs)));
    return out;
  }
  try {
    const step = async (check: string, run: () => Promise<Finding[]>) => {
      try {
        out.push(...(await run()));
      } catch (err) {
        out.push(finding('problem', check, `could not check: ${errorMessage(err)}`));
      }
    };
    await step('redis', async () => redisFindings(await readRedisFacts(ctx.redis)));
    await step('redis memory', async () =>
      memoryFindings(
        await readMemoryFacts(ctx.redis, loaded.config.redis.prefix, ctx.queueNames, nowMs),
        loaded.config.queue,
      ),
    );
    await step('loops', async () =>
      loopFindings(await readLeases(ctx.redis, loaded.config.redis.prefix, configured), nowMs),
    );
    const readCursor = (loopId: string) =>
      ctx.redis.hget(`${loaded.config.redis.prefix}:relay:cursors`, loopId);
    await step('registration', () =>
      registrationFindings(configured, loaded.config.publicUrl, readCursor, nowMs),
    );
    await step('destinations', () => destinationFindings(loaded.config, ctx.redis, ctx.queues));
    await step('rejections', async () => {
      const records = await ctx.rejections.list({ sinceMs: dayMs, limit: 10_000 }, nowMs);
      const accounts = new Map(
        configured.map(({ channel, accounts }) => [channel.name, accounts.map((a) => channel.accountId(a))]),
      );
      return diagnoseRejections(records, {
        accounts,
        auth: authLookup(configured),
        lastAccepted: await lastAccepted(ctx.queues, ctx.queueNames, nowMs),
      });
    });
  } finally {
    await ctx.close();
  }
  return out;
}
