/** `npm run bench` options: parsed once, checked, and frozen for every other bench module. */
import { parseArgs } from 'node:util';

export const usage = `Usage: npm run bench -- [options]
  --rounds N        rounds, each one run of every server, alternating (default 3)
  --duration S      measured load per run in seconds (default 10)
  --warmup S        unmeasured load before each measured run, in seconds (default 2; 0 = none)
  --connections N   wrk connections (default 50)
  --overload X      after the rounds, one relay run at X times the connections (default 8; 0 = none):
                    every answer must stay within Slack's 3 s and every 2xx must be a job
  --servers LIST    which servers to run, comma-separated: relay,floor,naive (default all three)
  --log-level L     the relay's LOG_LEVEL (default: unset, the relay's default "info": one line per request)
  --relay-node-arg A  extra node flag for the relay (repeatable), for experiments, e.g.
                    --relay-node-arg=--import=/tmp/patch.mjs; printed in the header
  --journal         run the relay with queue.journal.enabled (acknowledge on one XADD; the pump makes the jobs)
  --pump P          with --journal: where the pump runs, thread (default) or inline (the request thread)
  --pin W           what is pinned to the server's core: process (default: every thread of the server)
                    or main (only its main thread; its other threads may use any core), for every server
  --profile         also run the relay once under node --cpu-prof and print its top frames
  --json            print the machine-readable result on stdout (progress goes to stderr)
  --no-save         do not write the result to bench/results/
  --help
Redis: REDIS_URL (default redis://127.0.0.1:6379; only 127.0.0.1/localhost are accepted).`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

function intOption(
  raw: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    overload: { type: 'string' },
    servers: { type: 'string' },
    'log-level': { type: 'string' },
    'relay-node-arg': { type: 'string', multiple: true },
    profile: { type: 'boolean', default: false },
    journal: { type: 'boolean', default: false },
    pump: { type: 'string', default: 'thread' },
    pin: { type: 'string', default: 'process' },
    json: { type: 'boolean', default: false },
    'no-save': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (args.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

export type ServerKind = 'relay' | 'floor' | 'naive';
const allServers: readonly ServerKind[] = ['relay', 'floor', 'naive'];
const servers = (args.servers ?? allServers.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');
for (const s of servers) if (!allServers.includes(s as ServerKind)) fail(`--servers: unknown server "${s}"`);
if (!['thread', 'inline'].includes(args.pump)) fail('--pump must be thread or inline');
if (!['process', 'main'].includes(args.pin)) fail('--pin must be process or main');
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
if (args['log-level'] !== undefined && !logLevels.includes(args['log-level']))
  fail(`--log-level must be one of ${logLevels.join(', ')}`);

export const options = Object.freeze({
  rounds: intOption(args.rounds, 'rounds', 3, 1, 20),
  durationSec: intOption(args.duration, 'duration', 10, 1, 120),
  warmupSec: intOption(args.warmup, 'warmup', 2, 0, 30),
  connections: intOption(args.connections, 'connections', 50, 1, 1000),
  overload: intOption(args.overload, 'overload', 8, 0, 20),
  servers: servers as ServerKind[],
  logLevel: args['log-level'],
  relayNodeArgs: args['relay-node-arg'] ?? [],
  profile: args.profile,
  journal: args.journal,
  pump: args.pump as 'thread' | 'inline',
  pin: args.pin as 'process' | 'main',
  json: args.json,
  save: !args['no-save'],
});

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
{
  const host = new URL(redisUrl).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost')
    fail(`bench: REDIS_URL must point at 127.0.0.1 or localhost, not ${host}`);
}

/** Progress and tables: stderr with --json (stdout is then the JSON result only). */
export const say = (line = '') => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
export const note = (line: string) => process.stderr.write(`${line}\n`);
