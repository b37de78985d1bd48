import type { Command } from 'commander';
import { channelList } from '../../channels/index.js';
import { configuredChannels, type RuntimeChannel, runtimeChannel } from '../accounts.js';
import { parseDuration } from '../config/size.js';
import { RelayError } from '../errors.js';
import {
  describeTrigger,
  parseTriggerId,
  schemes,
  type TriggerRecord,
  triggerId,
  triggerInput,
  triggerPath,
} from '../triggers/record.js';
import { TriggerStore } from '../triggers/store.js';
import { presets } from '../verify/presets/index.js';
import { type CliContext, openContext } from './context.js';
import { fail, printJson, table } from './output.js';

/**
 * `relay triggers`: run-time generic triggers. Like `relay events`, it works on the relay's Redis
 * directly (no admin token or reachable ops port needed); the store it shares with the admin API
 * applies the same rules and announces each change, so every running replica sees it within a second.
 */
async function withStore<T>(
  configFlag: string | undefined,
  fn: (store: TriggerStore, ctx: CliContext, runtime: RuntimeChannel) => Promise<T>,
): Promise<T> {
  const ctx = await openContext(configFlag);
  try {
    const runtime = runtimeChannel(configuredChannels(ctx.loaded.config, channelList));
    if (!runtime) throw new RelayError('bad_flag', 'no registered channel takes run-time triggers');
    const { prefix } = ctx.loaded.config.redis;
    const store = new TriggerStore(ctx.redis, prefix, runtime.runtime, runtime.configuredIds);
    return await fn(store, ctx, runtime);
  } finally {
    await ctx.close();
  }
}

function idFrom(target: string): string {
  const parts = parseTriggerId(target);
  if (!parts)
    throw new RelayError('bad_flag', `${target}: name a trigger as GROUP/TRIGGER (1-64 of A-Z a-z 0-9 _ -)`);
  return triggerId(parts.group, parts.trigger);
}

function urlOf(ctx: CliContext, record: TriggerRecord): string {
  const path = triggerPath(record.group, record.trigger);
  return `${ctx.loaded.config.publicUrl?.replace(/\/$/, '') ?? ''}${path}`;
}

/** How a sender authenticates, in one line, for the scheme. */
function howToSend(record: TriggerRecord): string {
  switch (record.scheme) {
    case 'standard-webhooks':
      return 'sign with Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)';
    case 'hmac-sha256':
      return `send ${record.header ?? 'X-Signature-256'}: ${record.prefix ?? ''}<${record.encoding ?? 'hex'} HMAC-SHA256 of the body>`;
    case 'token':
      return 'send Authorization: Bearer <secret> (or X-Relay-Token: <secret>)';
    case 'none':
      return 'unsigned: anyone who knows the URL can enqueue events';
    default:
      return `the ${record.scheme} sender signs each request (${presets.get(record.scheme)?.doc ?? 'its docs'})`;
  }
}

function printSecret(ctx: CliContext, verb: string, record: TriggerRecord, secret: string | undefined): void {
  const lines = [
    `${verb} trigger ${record.group}/${record.trigger} (${record.scheme})`,
    `  url:    ${urlOf(ctx, record)}`,
    ...(secret !== undefined
      ? [`  secret: ${secret}`, '          shown once: store it now, the relay cannot show it again']
      : []),
    `  auth:   ${howToSend(record)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function listCommand(flags: { config?: string; json?: boolean }): Promise<void> {
  await withStore(flags.config, async (store, _ctx, { runtime, accounts }) => {
    const now = Date.now();
    const all = [
      ...accounts.map((a) => runtime.describe(a)),
      ...(await store.list()).map((r) => describeTrigger(r, now)),
    ];
    if (flags.json) return printJson(all);
    if (all.length === 0) return void process.stdout.write('no generic triggers\n');
    const rows = all.map((t) => [
      t.id,
      t.source,
      t.scheme,
      t.queue ?? '',
      t.secrets
        .map((s) =>
          'expiresAt' in s && s.expiresAt ? `until ${s.expiresAt.slice(0, 16).replace('T', ' ')}` : 'current',
        )
        .join(', '),
    ]);
    process.stdout.write(`${table(['TRIGGER', 'SOURCE', 'SCHEME', 'QUEUE', 'SECRETS'], rows)}\n`);
  });
}

async function createCommand(
  target: string,
  flags: {
    config?: string;
    scheme?: string;
    secret?: string;
    header?: string;
    prefix?: string;
    encoding?: string;
    queue?: string;
    json?: boolean;
  },
): Promise<void> {
  const id = idFrom(target);
  const parsed = triggerInput.safeParse({
    scheme: flags.scheme,
    secret: flags.secret,
    header: flags.header,
    prefix: flags.prefix,
    encoding: flags.encoding,
    queue: flags.queue,
  });
  if (!parsed.success)
    throw new RelayError(
      'bad_flag',
      parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '),
    );
  const [group, trigger] = id.split('/') as [string, string];
  await withStore(flags.config, async (store, ctx) => {
    const result = await store.put(group, trigger, parsed.data, { createOnly: true });
    if (flags.json)
      return printJson({ ...describeTrigger(result.record, Date.now()), secret: result.secret });
    // A secret given with --secret is not echoed back.
    printSecret(ctx, 'created', result.record, flags.secret === undefined ? result.secret : undefined);
  });
}

async function rotateCommand(
  target: string,
  flags: { config?: string; grace?: string; json?: boolean },
): Promise<void> {
  const id = idFrom(target);
  const grace = flags.grace ?? '24h';
  const graceMs = grace === '0' ? 0 : parseDuration(grace);
  if (graceMs === undefined)
    throw new RelayError('bad_flag', `--grace ${grace}: use a duration such as 0, 15m, 24h or 7d`);
  await withStore(flags.config, async (store, ctx) => {
    const result = await store.rotate(id, graceMs);
    if (flags.json)
      return printJson({ ...describeTrigger(result.record, Date.now()), secret: result.secret });
    printSecret(ctx, 'rotated', result.record, result.secret);
    process.stdout.write(
      graceMs > 0
        ? `  the previous secret stays valid until ${new Date(Date.now() + graceMs).toISOString()}\n`
        : '  the previous secret no longer works\n',
    );
  });
}

async function deleteCommand(target: string, flags: { config?: string }): Promise<void> {
  const id = idFrom(target);
  await withStore(flags.config, async (store) => {
    if (!(await store.delete(id))) throw new RelayError('not_found', `no run-time trigger ${id}`);
    process.stdout.write(`deleted trigger ${id}\n`);
  });
}

const run =
  <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
  (...args: A) =>
    fn(...args).catch(fail);

export function registerTriggerCommands(program: Command, configOption: readonly [string, string]): void {
  const cmd = program
    .command('triggers')
    .description(
      'generic triggers created at run time (stored in Redis; config-file triggers are read-only)',
    );
  cmd
    .command('list')
    .description('every generic trigger, from the config and from Redis; never a secret')
    .option(...configOption)
    .option('--json')
    .action(run(listCommand));
  cmd
    .command('create <group/trigger>')
    .description('create a trigger with a generated secret, shown once')
    .option(...configOption)
    .option('--scheme <scheme>', `${schemes.join(', ')} (default standard-webhooks)`)
    .option('--secret <value>', "the sender's signing secret (sender presets, e.g. Stripe's whsec_…)")
    .option(
      '--header <name>',
      'hmac-sha256: signature header (default X-Signature-256); token: the header to read',
    )
    .option('--prefix <text>', 'hmac-sha256: written before the digest, e.g. sha256=')
    .option('--encoding <hex|base64>', 'hmac-sha256: digest encoding (default hex)')
    .option('--queue <name>', "route this trigger's events to another queue")
    .option('--json')
    .action(run(createCommand));
  cmd
    .command('rotate <group/trigger>')
    .description('a new secret, shown once; the previous one stays valid for --grace')
    .option(...configOption)
    .option('--grace <duration>', 'how long the previous secret keeps working, e.g. 0, 1h, 7d', '24h')
    .option('--json')
    .action(run(rotateCommand));
  cmd
    .command('delete <group/trigger>')
    .description('delete a run-time trigger')
    .option(...configOption)
    .action(run(deleteCommand));
}
