import { describe, expect, it } from 'vitest';
import type { TeamsAccount } from '../channels/teams/config.js';
import { teamsSubscriptions } from '../channels/teams/doctor.js';
import { keyOf, serializeState } from '../channels/teams/subscription-state.js';

/** The doctor's Teams check reads the subscription loop's own record (its cursor) for each configured subscription. */
const now = Date.parse('2026-11-21T10:00:00.000Z');
const subs = [
  { resource: '/chats/getAllMessages', changeType: 'created' },
  { resource: '/teams/getAllMessages', changeType: 'created,updated' },
];
const account = { account: 'contoso', subscriptions: subs } as unknown as TeamsAccount;
const cursor = (expiries: string[]) =>
  serializeState(
    new Map(
      subs
        .slice(0, expiries.length)
        .map((s, i) => [
          keyOf(s),
          { ...s, id: `sub-${i}`, expiresAt: expiries[i] ?? '', renewAt: 0, missed: 0 },
        ]),
    ),
  );
const reader = (value: string | null) => async (id: string) =>
  id === 'teams:contoso:subscriptions' ? value : null;

describe('doctor: Teams subscriptions alive', () => {
  it('is ok when every configured subscription is unexpired', async () => {
    const f = await teamsSubscriptions(
      account,
      reader(cursor(['2026-11-21T12:00:00Z', '2026-11-21T11:00:00Z'])),
      now,
    );
    expect(f).toMatchObject({ verdict: 'ok', message: '2 alive, next expiry 2026-11-21T11:00:00Z' });
  });

  it('is a problem when one was never created, or has expired', async () => {
    const missing = await teamsSubscriptions(account, reader(cursor(['2026-11-21T12:00:00Z'])), now);
    expect(missing.verdict).toBe('problem');
    expect(missing.message).toContain('not created: /teams/getAllMessages');
    const expired = await teamsSubscriptions(
      account,
      reader(cursor(['2026-11-21T09:00:00Z', '2026-11-21T12:00:00Z'])),
      now,
    );
    expect(expired.message).toContain('expired: /chats/getAllMessages (2026-11-21T09:00:00Z)');
    expect((await teamsSubscriptions(account, reader(null), now)).message).toContain('not created');
  });

  it('says it needs Redis when there is none', async () => {
    expect((await teamsSubscriptions(account, undefined, now)).verdict).toBe('skipped');
  });
});
