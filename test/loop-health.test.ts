import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhook } from '../channels/webhook/index.js';
import type { AnyChannel } from '../src/channel.js';
import { isFailing, readLoopState } from '../src/loops/state.js';
import { type FakeSlackSocket, startFakeSlackSocket } from './fakes/slack-socket.js';
import { runCli } from './ops-cli-harness.js';
import { writeConfig } from './support/process.js';
import { redisUrl, startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';
import { until } from './support/until.js';

/**
 * Readiness and `relay doctor` tell the truth about loops (contract section 5): a loop that waits
 * on the operator (Telegram webhook mode without publicUrl) is a warning, never a 503; a loop held
 * by a replica whose rounds keep failing (the provider refuses the token, or cannot be reached) is
 * a doctor problem with its last error, not "ok … held by". `relay doctor` runs as a process
 * (needs `npm run build`).
 */
const botToken = '123456:AAloop-health-bot';

let socket: FakeSlackSocket;
let t: TestRelay;
let configPath: string;
const prefix = uniquePrefix('loophealth');

beforeAll(async () => {
  socket = await startFakeSlackSocket('xapp-1-A1-1-the-right-token');
  const raw = {
    channels: {
      telegram: [
        { account: 'bot', botToken, secretToken: 'loop-health-secret', apiRoot: 'http://127.0.0.1:9' },
      ],
      slack: [
        // The fake refuses this token: invalid_auth, the credentials kind of failure.
        { account: 'refused', appToken: 'xapp-1-A1-1-a-revoked-token', apiUrl: socket.apiUrl },
        // Nothing listens there: the provider cannot be reached.
        { account: 'down', appToken: 'xapp-1-A1-1-unreachable', apiUrl: 'http://127.0.0.1:9/api/' },
      ],
    },
  };
  t = await startTestRelay(raw, { prefix });
  configPath = writeConfig({ ...raw, server: { port: 0, opsPort: 0 }, redis: { url: redisUrl, prefix } });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await socket?.close();
});

describe('readiness with loops that finished or fail', () => {
  it('Telegram webhook mode without publicUrl: /readyz 200, the wait is a warning', async () => {
    const readyz = async () => {
      const res = await fetch(`${t.opsUrl}/readyz`);
      return { res, body: (await res.json()) as { status: string; reasons?: string[]; warnings?: string[] } };
    };
    // Once the registration loop has ended: at once, for want of publicUrl.
    await until(
      async () => (await readyz()).body.warnings?.some((w) => w.includes('publicUrl is needed')),
      20_000,
      'the registration loop to end',
    );
    const { res, body } = await readyz();
    expect(body.reasons).toBeUndefined();
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.warnings?.join('\n')).toContain('telegram/bot webhook-registration: publicUrl is needed');
    // Loops failing round after round are named too (the relay still serves: they are warnings).
    const failing = await until(
      async () =>
        (await readyz()).body.warnings?.find((w) => /^slack\/down socket-mode: \d+ rounds failed/.test(w)),
      20_000,
      'a warning for the failing loop',
    );
    expect(failing).toMatch(/in a row; last error .*apps\.connections\.open/);
  });
});

describe('readiness with a one-shot loop', () => {
  it('a loop that did its work and ended is a warning, and the relay stays ready', async () => {
    let runs = 0;
    const oneShot: AnyChannel = {
      ...webhook,
      loops: () => [
        {
          name: 'register-once',
          async run(ctx) {
            runs++;
            ctx.ok();
          },
        },
      ],
    };
    const config = { channels: { webhook: [{ group: 'once', trigger: 'only', auth: { scheme: 'none' } }] } };
    const once = await startTestRelay(config, { channels: [oneShot] });
    try {
      const warning = await until(
        async () =>
          ((await (await fetch(`${once.opsUrl}/readyz`)).json()) as { warnings?: string[] }).warnings?.find(
            (w) => w.includes('register-once'),
          ),
        10_000,
        'the one-shot loop to end',
      );
      expect(warning).toMatch(/^webhook\/once\/only register-once: finished at \S+, nothing more to do$/);
      const res = await fetch(`${once.opsUrl}/readyz`);
      expect(res.status).toBe(200);
      expect(runs).toBe(1);
    } finally {
      await once.close();
    }
  });
});

describe('the recorded loop state', () => {
  it('holds no secret of the account, even when an error quotes one', async () => {
    const token = 'loop-state-secret-token-0123';
    const leaky: AnyChannel = {
      ...webhook,
      loops: () => [
        {
          name: 'leaky',
          async run() {
            throw new Error(`upstream refused Bearer ${token}`);
          },
        },
      ],
    };
    const config = {
      channels: { webhook: [{ group: 'leak', trigger: 'y', auth: { scheme: 'token', token } }] },
    };
    const leak = await startTestRelay(config, { channels: [leaky] });
    try {
      const state = await until(
        () => readLoopState(leak.relay.redis, leak.prefix, 'webhook:leak/y:leaky'),
        10_000,
        'the loop state',
      );
      expect(state.lastError).toContain('upstream refused Bearer [redacted]');
      const raw = await leak.relay.redis.hgetall(`${leak.prefix}:relay:loop-state`);
      expect(JSON.stringify(raw)).not.toContain(token);
    } finally {
      await leak.close();
    }
  });
});

describe('relay doctor on failing loops', () => {
  it('reports each failing loop as a problem with its last error and what to do, and exits 1', async () => {
    // Each failing loop has written its state (fire and forget) as failing.
    for (const id of ['slack:refused:socket-mode', 'slack:down:socket-mode']) {
      await until(
        async () => {
          const state = await readLoopState(t.relay.redis, prefix, id);
          return state && isFailing(state);
        },
        20_000,
        `${id} recorded as failing`,
      );
    }
    const out = await runCli(['doctor', '--config', configPath]);
    if (process.env.SHOW_DOCTOR) console.log(out.stdout);
    const lines = out.stdout.trim().split('\n');
    const line = (re: RegExp) => lines.find((l) => re.test(l)) ?? `(no line matching ${re})`;
    expect(out.status).toBe(1);
    expect(line(/^problem +loop slack\/refused socket-mode:/)).toMatch(
      /held by \S+, but its last round failed \(no success yet\); last error .*refused the appToken .*invalid_auth.*To do: the provider refused the credentials/,
    );
    expect(line(/^problem +loop slack\/down socket-mode:/)).toMatch(
      /its last \d+ rounds failed \(no success yet\); last error .*could not reach apps\.connections\.open.*check apiUrl.*To do: fix what the error names/,
    );
    expect(line(/^warning +loop telegram\/bot webhook-registration:/)).toContain(
      'waiting on you: publicUrl is needed',
    );
    expect(out.stdout).not.toMatch(/^ok +loop slack/m);
    expect(out.stdout).not.toContain('a-revoked-token');
  });
});
