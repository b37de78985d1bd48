import type { LoopContext, LoopSpec } from '../../src/channel.js';
import { sleep } from '../../src/loops/sleep.js';
import type { TeamsAccount } from './config.js';
import { type GraphClient, GraphNotFoundError, graphClient } from './graph-client.js';
import { maxLifetimeMs } from './lifetime.js';
import {
  asSubscription,
  type Entry,
  type GraphSubscription,
  keyOf,
  parseState,
  renewTime,
  type State,
  serializeState,
} from './subscription-state.js';

/**
 * Graph subscription management for a Teams account: create each configured subscription
 * (https://learn.microsoft.com/graph/api/subscription-post-subscriptions), renew it before it
 * expires (PATCH, https://learn.microsoft.com/graph/api/subscription-update), and act on lifecycle
 * notifications (https://learn.microsoft.com/graph/change-notifications-lifecycle-events):
 * reauthorizationRequired → reauthorize, subscriptionRemoved → create again, missed → log and count.
 * Lifecycle notifications reach whichever replica Graph calls; the route hands them to this loop
 * through its inbox (a Redis stream), so the replica holding the loop acts on them.
 */
export const subscriptionsLoopName = 'subscriptions';

export interface SubscriptionLoopOptions {
  /** Requested lifetime instead of the resource's maximum (tests). */
  readonly lifetimeMs?: number;
  /** How often the inbox of lifecycle notifications is read; default 1 s. */
  readonly inboxPollMs?: number;
}

/** The inbox message the notification route sends for one lifecycle item. */
export interface LifecycleMessage {
  readonly subscriptionId: string;
  readonly lifecycleEvent: string;
}

export const notificationUrlOf = (publicUrl: string, account: TeamsAccount): string =>
  `${publicUrl.replace(/\/+$/, '')}/teams/${account.account}/notifications`;

export function subscriptionLoop(account: TeamsAccount, options: SubscriptionLoopOptions = {}): LoopSpec {
  return {
    name: subscriptionsLoopName,
    async run(ctx) {
      const problem = !ctx.publicUrl
        ? `publicUrl is needed to create the Graph subscriptions of teams account "${account.account}": set publicUrl in relay.yaml to the https address Graph can reach`
        : !account.credentials
          ? `teams account "${account.account}" has subscriptions but no credentials: add credentials { tenantId, clientId, clientSecret } or { accessToken }`
          : undefined;
      if (problem || !ctx.publicUrl || !account.credentials) {
        // Nothing to do until the config changes: hold the loop, keep the problem visible in /readyz.
        ctx.report(problem);
        await sleep(2 ** 31 - 1, ctx.signal);
        return;
      }
      const graph = graphClient(account, account.credentials, ctx.signal);
      await new Manager(account, ctx, graph, notificationUrlOf(ctx.publicUrl, account), options).run();
    },
  };
}

class Manager {
  #state: State = new Map();

  constructor(
    private readonly account: TeamsAccount,
    private readonly ctx: LoopContext,
    private readonly graph: GraphClient,
    private readonly url: string,
    private readonly options: SubscriptionLoopOptions,
  ) {}

  async run(): Promise<void> {
    const { ctx } = this;
    this.#state = parseState(await ctx.cursor.get());
    await this.#reconcile();
    ctx.report(undefined);
    ctx.ok();
    while (!ctx.signal.aborted) {
      await this.#lifecycle();
      for (const [key, entry] of this.#state) if (entry.renewAt <= ctx.now()) await this.#renew(key, entry);
      ctx.ok();
      const nextRenew = Math.min(...[...this.#state.values()].map((e) => e.renewAt));
      const waitMs = Math.min(this.options.inboxPollMs ?? 1000, nextRenew - ctx.now());
      await sleep(Math.max(0, waitMs), ctx.signal);
    }
  }

  /** Reuse what the cursor names, adopt what Graph already has for this URL, create the rest, delete strays. */
  async #reconcile(): Promise<void> {
    const configured = new Map(this.account.subscriptions.map((s) => [keyOf(s), s]));
    for (const [key, entry] of [...this.#state]) {
      const live = configured.has(key) ? await this.#get(entry.id) : undefined;
      if (live?.notificationUrl === this.url) {
        if (live.expirationDateTime !== entry.expiresAt) {
          entry.expiresAt = live.expirationDateTime;
          entry.renewAt = renewTime(entry.expiresAt, this.ctx.now());
        }
        continue;
      }
      // Gone (404), no longer configured, or pointing at an old publicUrl.
      if (live || !configured.has(key)) await this.#delete(entry.id);
      this.#state.delete(key);
    }
    const kept = new Set([...this.#state.values()].map((e) => e.id));
    const ours = (await this.#list()).filter((s) => s.notificationUrl === this.url && !kept.has(s.id));
    for (const [key, sub] of configured) {
      if (this.#state.has(key)) continue;
      const found = ours.findIndex((s) => keyOf(s) === key);
      const adopted = found >= 0 ? ours.splice(found, 1)[0] : undefined;
      if (adopted) {
        this.ctx.log.info(
          { id: adopted.id, resource: sub.resource },
          'adopted an existing Graph subscription',
        );
        this.#put(key, sub, adopted);
      } else {
        await this.#create(key, sub);
      }
    }
    // Duplicates (a crash between create and save) and subscriptions no longer configured.
    for (const stray of ours) await this.#delete(stray.id);
    await this.#save();
  }

  async #create(key: string, sub: { resource: string; changeType: string }): Promise<Entry> {
    const lifetimeMs = this.options.lifetimeMs ?? maxLifetimeMs(sub.resource);
    const created = asSubscription(
      await this.graph.call('POST', '/subscriptions', {
        changeType: sub.changeType,
        notificationUrl: this.url,
        // Same route: it tells lifecycle items from change notifications by `lifecycleEvent`.
        lifecycleNotificationUrl: this.url,
        resource: sub.resource,
        expirationDateTime: new Date(this.ctx.now() + lifetimeMs).toISOString(),
        clientState: this.account.clientState?.[0],
      }),
    );
    this.ctx.log.info(
      { id: created.id, resource: sub.resource, expires: created.expirationDateTime },
      'created Graph subscription',
    );
    const entry = this.#put(key, sub, created);
    await this.#save();
    return entry;
  }

  #put(key: string, sub: { resource: string; changeType: string }, live: GraphSubscription): Entry {
    const entry: Entry = {
      resource: sub.resource,
      changeType: sub.changeType,
      id: live.id,
      expiresAt: live.expirationDateTime,
      renewAt: renewTime(live.expirationDateTime, this.ctx.now()),
      missed: this.#state.get(key)?.missed ?? 0,
    };
    this.#state.set(key, entry);
    return entry;
  }

  async #renew(key: string, entry: Entry): Promise<void> {
    const lifetimeMs = this.options.lifetimeMs ?? maxLifetimeMs(entry.resource);
    const asked = new Date(this.ctx.now() + lifetimeMs).toISOString();
    let renewed: GraphSubscription;
    try {
      renewed = asSubscription(
        await this.graph.call('PATCH', `/subscriptions/${encodeURIComponent(entry.id)}`, {
          expirationDateTime: asked,
        }),
      );
    } catch (err) {
      if (!(err instanceof GraphNotFoundError)) throw err;
      this.ctx.log.warn(
        { id: entry.id, resource: entry.resource },
        'Graph subscription vanished: creating it again',
      );
      await this.#create(key, entry);
      return;
    }
    // Graph may grant less than asked: the expiry it answers is the one that counts.
    entry.expiresAt = renewed.expirationDateTime;
    entry.renewAt = renewTime(entry.expiresAt, this.ctx.now());
    this.ctx.log.info({ id: entry.id, expires: entry.expiresAt }, 'renewed Graph subscription');
    await this.#save();
  }

  /** Lifecycle notifications the route put in the inbox; each is acked once handled and saved. */
  async #lifecycle(): Promise<void> {
    const inbox = this.ctx.inbox;
    if (!inbox) return;
    for (const { id, message } of await inbox.read()) {
      await this.#onLifecycle(message);
      await inbox.ack([id]);
    }
  }

  async #onLifecycle(raw: string): Promise<void> {
    let msg: Partial<LifecycleMessage>;
    try {
      msg = JSON.parse(raw) as Partial<LifecycleMessage>;
    } catch {
      return;
    }
    const found = [...this.#state].find(([, e]) => e.id === msg.subscriptionId);
    const log = this.ctx.log.child({ id: msg.subscriptionId, lifecycleEvent: msg.lifecycleEvent });
    if (!found) {
      log.info('lifecycle notification for a subscription this relay no longer holds: ignored');
      return;
    }
    const [key, entry] = found;
    if (msg.lifecycleEvent === 'reauthorizationRequired') {
      try {
        await this.graph.call('POST', `/subscriptions/${encodeURIComponent(entry.id)}/reauthorize`);
        log.info('reauthorized Graph subscription');
      } catch (err) {
        if (!(err instanceof GraphNotFoundError)) throw err;
        await this.#create(key, entry);
      }
    } else if (msg.lifecycleEvent === 'subscriptionRemoved') {
      log.warn(
        { resource: entry.resource },
        'Graph removed the subscription: creating it again; changes in between are not notified',
      );
      await this.#create(key, entry);
    } else if (msg.lifecycleEvent === 'missed') {
      entry.missed++;
      await this.#save();
      log.warn(
        { resource: entry.resource, missed: entry.missed },
        'Graph could not deliver some change notifications: resync the resource (e.g. delta query)',
      );
    } else {
      log.info('unknown lifecycle notification: ignored');
    }
  }

  async #get(id: string): Promise<GraphSubscription | undefined> {
    try {
      return asSubscription(await this.graph.call('GET', `/subscriptions/${encodeURIComponent(id)}`));
    } catch (err) {
      if (err instanceof GraphNotFoundError) return undefined;
      throw err;
    }
  }

  async #delete(id: string): Promise<void> {
    try {
      await this.graph.call('DELETE', `/subscriptions/${encodeURIComponent(id)}`);
      this.ctx.log.info({ id }, 'deleted Graph subscription');
    } catch (err) {
      if (!(err instanceof GraphNotFoundError)) throw err;
    }
  }

  /** Every subscription of this app, following `@odata.nextLink` while it stays on graphUrl. */
  async #list(): Promise<GraphSubscription[]> {
    const out: GraphSubscription[] = [];
    let path: string | undefined = '/subscriptions';
    while (path !== undefined) {
      const page = (await this.graph.call('GET', path)) as { value?: unknown[]; '@odata.nextLink'?: unknown };
      for (const item of page?.value ?? []) {
        try {
          out.push(asSubscription(item));
        } catch {
          // An item without id or expiry is not one we could reuse.
        }
      }
      const next = page?.['@odata.nextLink'];
      path =
        typeof next === 'string' && next.startsWith(this.account.graphUrl)
          ? next.slice(this.account.graphUrl.length)
          : undefined;
    }
    return out;
  }

  #save(): Promise<void> {
    return this.ctx.cursor.set(serializeState(this.#state));
  }
}
