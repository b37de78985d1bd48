import { z } from 'zod';
import type { ChannelAdapter, InboundRequest, InboundRoute, SignedRequest } from '../../src/channel.js';
import { RelayError } from '../../src/errors.js';
import { isJson, type ParsedJson } from '../../src/request.js';
import { normalizeActivity } from './bot-normalize.js';
import { verifyBot } from './bot-verify.js';
import { type TeamsAccount, teamsAccount } from './config.js';
import { doctorTeams, teamsProof } from './doctor.js';
import { normalizeGraphItem } from './graph-normalize.js';
import { type GraphProof, graphHandshake, verifyGraph } from './graph-verify.js';
import { probeTeams } from './probe.js';
import { type LifecycleMessage, subscriptionLoop, subscriptionsLoopName } from './subscriptions.js';

const acceptsJson = (mediaType: string | undefined, req: InboundRequest) =>
  req.method === 'GET' || isJson(mediaType);

/**
 * Graph has no header signature: a request is "signed" when every notification in its body carries
 * the account's clientState (see `withClientState`). Bot Framework JWTs are signed by Microsoft and
 * cannot be produced by hand, so only the Graph route can be signed.
 */
function signTeams(account: TeamsAccount, body: Buffer): SignedRequest {
  if (account.clientState === undefined) {
    throw new RelayError(
      'cannot_sign',
      `[teams] account "${account.account}" has no clientState; Bot Framework requests carry a JWT signed by Microsoft and cannot be signed by hand`,
    );
  }
  return {
    method: 'POST',
    path: `/teams/${account.account}/notifications`,
    headers: { 'content-type': 'application/json' },
    body: withClientState(account, body),
  };
}

/** A notification body this account accepts: the first configured clientState written into every `value[]` item. */
export function withClientState(account: TeamsAccount, body: Buffer): Buffer {
  const batch = JSON.parse(body.toString('utf8')) as { value?: Array<Record<string, unknown>> };
  for (const item of batch.value ?? []) item.clientState = account.clientState?.[0];
  return Buffer.from(JSON.stringify(batch));
}

/** Graph change notifications: `verifyGraph` hands `receive` the items it trusts. */
const notificationsRoute: InboundRoute<TeamsAccount, GraphProof> = {
  path: '/teams/:account/notifications',
  methods: ['POST', 'GET'],
  accepts: acceptsJson,
  handshake: graphHandshake,
  verify: verifyGraph,
  async receive(_req, account, ctx, { items, raw }) {
    // The replica holding the subscription loop may be another one: hand lifecycle items over through Redis.
    if (account.subscriptions.length > 0 && ctx.notifyLoop) {
      for (const { item } of items) {
        const { subscriptionId, lifecycleEvent } = item;
        if (typeof subscriptionId !== 'string' || typeof lifecycleEvent !== 'string') continue;
        const message: LifecycleMessage = { subscriptionId, lifecycleEvent };
        await ctx.notifyLoop(subscriptionsLoopName, JSON.stringify(message));
      }
    }
    return {
      events: items.map(normalizeGraphItem),
      reply: (ids) => ({ status: 202, body: { ids } }),
      raw,
    };
  },
};

/** Bot Framework activities: `verifyBot` hands `receive` the activity it parsed to check the token. */
const messagesRoute: InboundRoute<TeamsAccount, ParsedJson<Record<string, unknown>>> = {
  path: '/teams/:account/messages',
  methods: ['POST'],
  accepts: (mediaType) => isJson(mediaType),
  verify: (req, account, ctx) => verifyBot(req, account, ctx.now()),
  receive: (_req, _account, _ctx, activity) => ({
    events: [normalizeActivity(activity.value)],
    reply: () => ({ status: 200 }),
    raw: activity.raw,
  }),
};

/** Microsoft Teams: Graph change notifications and Bot Framework activities. */
export const teams = {
  name: 'teams',
  accounts: z.array(teamsAccount),
  accountId: (a) => a.account,
  queueOf: (a) => a.queue,
  loops: (a) => (a.subscriptions.length > 0 ? [subscriptionLoop(a)] : []),
  probe: probeTeams,
  proofOf: teamsProof,
  doctor: doctorTeams,
  routes: [notificationsRoute, messagesRoute],
  sign: signTeams,
} satisfies ChannelAdapter<TeamsAccount>;
