import { Command } from 'commander';
import { channelList } from '../../channels/index.js';
import { registerAuthCommands } from './auth.js';
import { registerDoctorCommand } from './doctor.js';
import { registerTriggerCommands } from './triggers.js';

/** A command's action, imported when the command runs: `relay start` loads only what start needs. */
const lazyAction =
  <A extends unknown[]>(load: () => Promise<(...args: A) => unknown>) =>
  async (...args: A): Promise<void> => {
    await (await load())(...args);
  };

const program = new Command('relay')
  .description('Self-hosted webhook relay: verified provider events onto a BullMQ queue')
  .showHelpAfterError();

const configOption = ['--config <file>', 'config file (default: $RELAY_CONFIG, then ./relay.yaml)'] as const;

program
  .command('start')
  .description('run the relay (HTTP servers and outbound loops)')
  .option(...configOption)
  .action(lazyAction(() => import('./start.js').then((m) => m.startCommand)));

program
  .command('check')
  .description('validate the config and print what it sets up')
  .option(...configOption)
  .option('--online', 'also call each provider once (auth test)')
  .option('--destinations', 'also send each destination one OPTIONS request (never an event)')
  .action(lazyAction(() => import('./check.js').then((m) => m.checkCommand)));

const events = program.command('events').description('inspect and replay queued events');
const filterOptions = (
  cmd: Command,
  states = 'waiting, active, delayed, prioritized, completed or failed (comma-separated)',
) =>
  cmd
    .option(...configOption)
    .option('--state <state>', states)
    .option('--channel <channel>', 'e.g. webhook, slack')
    .option('--account <account>', 'account, or group/trigger for generic triggers')
    .option('--type <type>', 'event type, or a prefix ending in * (slack.*)')
    .option('--since <duration>', 'only events received within, e.g. 2h')
    .option('--limit <n>', 'at most this many (default 50)')
    .option('--json', 'machine-readable output');
filterOptions(events.command('list').description('recent events, newest first')).action(
  lazyAction(() => import('./events.js').then((m) => m.listCommand)),
);
events
  .command('show <id>')
  .description('one event: envelope, state, attempts, failure')
  .option(...configOption)
  .option('--json')
  .action(lazyAction(() => import('./events.js').then((m) => m.showCommand)));
filterOptions(
  events
    .command('replay [ids...]')
    .description('replay events: completed → a copy with a new id and replayof; failed → retried in place')
    .option('--dry-run', 'count what would be replayed and show a sample; enqueue nothing')
    .option('--rate <n/s>', 'throttle: at most this many replays per second (10/s) or minute (300/m)'),
  'completed or failed (comma-separated); events in other states are still on their way to a worker',
).action(lazyAction(() => import('./events.js').then((m) => m.replayCommand)));

program
  .command('sign <target>')
  .description('print a curl line with valid auth: GROUP/TRIGGER, or CHANNEL:ACCOUNT')
  .option(...configOption)
  .option('--data <json|@file>', 'the body, inline or @file.json', '{}')
  .option('--url <base>', 'base URL (default http://127.0.0.1:<server.port>)')
  .option('--token <token>', "a run-time token trigger's token (Redis keeps only its SHA-256)")
  .action(lazyAction(() => import('./sign.js').then((m) => m.signCommand)));

program
  .command('rejections')
  .description('recent rejected requests with their reason codes')
  .option(...configOption)
  .option('--channel <channel>')
  .option('--since <duration>', 'window, at most a day (default 1h)')
  .option('--limit <n>', 'at most this many (default 100)')
  .option('--json', 'machine-readable output')
  .action(lazyAction(() => import('./rejections.js').then((m) => m.rejectionsCommand)));

program
  .command('tail')
  .description('print events as they are enqueued, one line each (Ctrl-C to stop)')
  .option(...configOption)
  .option('--channel <channel>', 'only this channel, e.g. webhook, slack')
  .option('--json', 'the CloudEvent envelope, one JSON object per line')
  .action(lazyAction(() => import('./tail.js').then((m) => m.tailCommand)));

program
  .command('listen')
  .description("follow a relay's events over one outbound connection and POST each to a local URL")
  .requiredOption('--forward-to <url>', 'where to POST each event, e.g. http://localhost:3000/hooks')
  .option(...configOption)
  .option('--url <ops-url>', 'the relay ops port (default: $RELAY_OPS_URL, then server.opsPort of --config)')
  .option('--token <token>', 'admin token (default: $RELAY_ADMIN_TOKEN, then admin.token of --config)')
  .option('--channel <channel>', 'only this channel, e.g. webhook, slack')
  .option('--account <account>', 'account, or group/trigger for generic triggers')
  .option('--type <type>', 'event type, or a prefix ending in * (slack.*)')
  .option('--since <duration>', 'start this far in the past, e.g. 10m (default: from now)')
  .option('--secret <whsec>', 'sign each POST with this Standard Webhooks secret')
  .action(lazyAction(() => import('./listen.js').then((m) => m.listenCommand)));

registerTriggerCommands(program, configOption);

registerDoctorCommand(program);
registerAuthCommands(program);
for (const channel of channelList) channel.commands?.(program);

await program.parseAsync(process.argv);
