import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventId } from '../../src/queue/envelope.js';
import {
  eventsApiEnvelope,
  type FakeSlackSocket,
  interactiveEnvelope,
  messageEvent,
  slashCommandEnvelope,
  startFakeSlackSocket,
} from '../../test/fakes/slack-socket.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import { slack } from './index.js';
import { socketEvents } from './socket-mode.js';

const appToken = 'xapp-1-A0FAKEAPP1-1-socket-test-token';
const signingSecret = 'socket-test-signing-secret';
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const config = (apiUrl: string, token = appToken) => ({
  channels: { slack: [{ account: 'acme', signingSecret, appToken: token, apiUrl }] },
});
const idOf = (key: string) => eventId('slack', 'acme', key);

let fake: FakeSlackSocket;
let t: TestRelay;
beforeAll(async () => {
  fake = await startFakeSlackSocket(appToken);
  t = await startTestRelay(config(fake.apiUrl));
  await fake.waitForConnections(1);
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('slack socket mode: envelopes become the HTTP route’s events', () => {
  it('connects with the app-level token as a Bearer header, and says so in the loop status', async () => {
    expect(fake.opens[0]).toMatchObject({ authorization: `Bearer ${appToken}`, ok: true });
    await until(() => t.relay.loops.statuses[0]?.lastSuccess !== undefined);
    expect(t.relay.loops.statuses[0]).toMatchObject({
      loop: 'socket-mode',
      running: true,
      problem: undefined,
    });
  });

  it('events_api → slack.event with subject, time and data.message; acked once queued', async () => {
    const payload = fixture('event-message.json');
    const envelope = eventsApiEnvelope(payload);
    fake.send(envelope);
    const ack = await fake.waitForAck(envelope.envelope_id);
    expect(ack.payload).toEqual({});
    const job = await t.queue().getJob(idOf('Ev123ABC456'));
    expect(job?.name).toBe('slack.event');
    expect(job?.data).toMatchObject({
      type: 'slack.event',
      source: '/slack/acme',
      account: 'acme',
      subject: 'C123ABC456',
      time: '2012-12-14T20:38:43.000Z',
      data: { payload, message: { id: '1355517523.000005', text: 'Live long and prospect.' } },
    });
  });

  it('interactive → slack.interaction keyed on trigger_id', async () => {
    const payload = fixture('interaction-block-actions.json');
    const envelope = interactiveEnvelope(payload);
    fake.send(envelope);
    await fake.waitForAck(envelope.envelope_id);
    const job = await t.queue().getJob(idOf(String(payload.trigger_id)));
    expect(job?.data).toMatchObject({ type: 'slack.interaction', subject: 'CBR2V3XEX', data: { payload } });
  });

  it('slash_commands → slack.command with the form fields as strings', async () => {
    const payload: Record<string, unknown> = { ...fixture('command.json'), is_enterprise_install: 'false' };
    const envelope = slashCommandEnvelope(payload);
    fake.send(envelope);
    await fake.waitForAck(envelope.envelope_id);
    const job = await t.queue().getJob(idOf(String(payload.trigger_id)));
    expect(job?.data).toMatchObject({
      type: 'slack.command',
      subject: 'C2147483705',
      data: {
        payload: { command: '/weather', text: '94070', is_enterprise_install: 'false' },
        message: { conversation: 'C2147483705', sender: 'U2147483697', text: '94070', command: '/weather' },
      },
    });
  });

  it('the same envelope twice, and a retry with a new envelope id, make one job and three acks', async () => {
    const before = (await t.jobs()).length;
    const first = eventsApiEnvelope(messageEvent('redeliver'));
    fake.send(first);
    await fake.waitForAck(first.envelope_id);
    fake.send(first);
    await until(() => fake.acksOf(first.envelope_id).length === 2);
    const retry = eventsApiEnvelope(messageEvent('redeliver'), { attempt: 1, reason: 'timeout' });
    fake.send(retry);
    await fake.waitForAck(retry.envelope_id);
    expect((await t.jobs()).length).toBe(before + 1);
    expect(await t.queue().getJob(idOf('Ev0SOCKETredeliver'))).toBeTruthy();
  });

  it('one event delivered over HTTP and over the socket makes one job', async () => {
    const payload = messageEvent('both-ways');
    const body = Buffer.from(JSON.stringify(payload));
    const account = slack.accounts.parse(config(fake.apiUrl).channels.slack)[0];
    if (!account) throw new Error('no account');
    const signed = slack.sign(account, body, Date.now());
    const before = (await t.jobs()).length;
    const res = await t.post(signed.path, body, { ...signed.headers });
    expect(res.status).toBe(200);
    const envelope = eventsApiEnvelope(payload, { attempt: 1, reason: 'http_timeout' });
    fake.send(envelope);
    await fake.waitForAck(envelope.envelope_id);
    expect((await t.jobs()).length).toBe(before + 1);
    expect((await t.jobs()).filter((e) => e.id === idOf('Ev0SOCKETboth-ways'))).toHaveLength(1);
  });

  it('opens a new connection on a disconnect envelope and after a dropped socket, and keeps delivering', async () => {
    for (const [i, cut] of [() => fake.disconnect('refresh_requested'), () => fake.drop()].entries()) {
      const total = fake.connectionsTotal;
      cut();
      await fake.waitForConnections(total + 1);
      const envelope = eventsApiEnvelope(messageEvent(`after-cut-${i}`));
      fake.send(envelope);
      await fake.waitForAck(envelope.envelope_id);
      expect(await t.queue().getJob(idOf(`Ev0SOCKETafter-cut-${i}`))).toBeTruthy();
      expect(fake.openSockets()).toBe(1);
    }
    expect(t.logs.some((l) => l.includes('refresh_requested'))).toBe(true);
    expect(fake.opens.filter((o) => o.ok).length).toBe(fake.connectionsTotal);
  });

  it('never logs the app token or the WebSocket ticket', () => {
    const all = t.logs.join('\n');
    expect(all).not.toContain(appToken);
    expect(all).not.toContain('ticket=');
  });

  it('measures envelope → job latency (ack follows the write) over 200 envelopes', async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const envelope = eventsApiEnvelope(messageEvent(`latency-${i}`));
      fake.send(envelope);
      const ack = await fake.waitForAck(envelope.envelope_id);
      latencies.push(ack.at - (fake.sentAt.get(envelope.envelope_id) ?? ack.at));
    }
    expect(await t.queue().getJob(idOf('Ev0SOCKETlatency-199'))).toBeTruthy();
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    console.log(
      `slack socket mode: envelope → job (acked after the write) over ${latencies.length}: p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms`,
    );
  });

  it('disconnects when the relay stops', async () => {
    await t.relay.close();
    await until(() => fake.openSockets() === 0, 5000);
  });
});

describe('slack socket mode: apps.connections.open failures', () => {
  const relays: TestRelay[] = [];
  afterEach(async () => {
    for (const r of relays.splice(0)) await r.close().catch(() => {});
  });

  it('a refused token is a CredentialError: re-consent needed, no retry storm, token not echoed', async () => {
    const wrong = 'xapp-1-A0FAKEAPP1-1-revoked-token';
    const opensBefore = fake.opens.length;
    const r = await startTestRelay(config(fake.apiUrl, wrong));
    relays.push(r);
    await until(() => r.relay.loops.statuses[0]?.problem !== undefined);
    expect(r.relay.loops.statuses[0]?.problem).toMatch(
      /^re-consent needed for slack account "acme": apps\.connections\.open refused the appToken of slack account "acme" \(invalid_auth\)/,
    );
    await new Promise((res) => setTimeout(res, 300));
    expect(fake.opens.length - opensBefore).toBe(1);
    expect(r.logs.join('\n')).not.toContain(wrong);
  });

  it('HTTP 429 with Retry-After and ok:false ratelimited wait as told, then connect', async () => {
    const limited = await startFakeSlackSocket(appToken);
    limited.failNextOpen({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { ok: false, error: 'ratelimited' },
    });
    limited.failNextOpen({
      status: 200,
      headers: { 'retry-after': '1' },
      body: { ok: false, error: 'ratelimited' },
    });
    try {
      const r = await startTestRelay(config(limited.apiUrl));
      relays.push(r);
      await limited.waitForConnections(1, 15_000);
      const [first, second, third] = limited.opens;
      expect(limited.opens.map((o) => o.ok)).toEqual([false, false, true]);
      expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
      expect((third?.at ?? 0) - (second?.at ?? 0)).toBeGreaterThanOrEqual(950);
      expect(r.logs.some((l) => l.includes('rate limited (HTTP 429)'))).toBe(true);
      expect(r.logs.some((l) => l.includes('answered ratelimited'))).toBe(true);
    } finally {
      await limited.close();
    }
  });
});

describe('socketEvents', () => {
  it('maps only the three envelope types, and nothing without a payload object', () => {
    expect(socketEvents('events_api', messageEvent(1))?.[0]?.key).toBe('Ev0SOCKET1');
    expect(socketEvents('slash_commands', { command: '/x', trigger_id: 'tr1' })?.[0]?.key).toBe('tr1');
    expect(socketEvents('hello', {})).toBeUndefined();
    expect(socketEvents('events_api', 'nope')).toBeUndefined();
  });
});
