import type { IncomingHttpHeaders } from 'node:http';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { RejectReason } from './errors.js';
import type { TriggerListing, TriggerRecord } from './triggers/record.js';

/**
 * The one contract every channel satisfies. A channel is a name, its config schema, its inbound
 * routes and (later) its outbound loops; the host owns bodies, status codes, queues and logs.
 */

/** A request as a channel sees it: the raw bytes, read once at the edge, before anything is parsed. */
export interface InboundRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** The request target exactly as sent (path and query), for senders that sign the URL. */
  readonly target?: string;
  /** Node's headers: names lower-cased. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** `Content-Type` without parameters, lower-cased; undefined when absent. */
  readonly mediaType: string | undefined;
  readonly ip: string;
  /** Milliseconds since the epoch, when the request arrived. */
  readonly receivedAt: number;
}

export interface Reply {
  readonly status: number;
  readonly contentType?: string;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
  /** Extra response headers (Dropbox's challenge: `X-Content-Type-Options: nosniff`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Best-effort view of a chat or mail message, always derived from the payload. */
export interface EventMessage {
  readonly id?: string | undefined;
  readonly conversation?: string | undefined;
  readonly sender?: string | undefined;
  readonly text?: string | undefined;
  readonly [field: string]: unknown;
}

/** One provider event, normalized. The host turns it into a CloudEvent and a job. */
export interface ChannelEvent {
  /** `whatsapp.message`, `webhook.received`, … (contract section 4). */
  readonly type: string;
  /** Stable per provider event within the account: two deliveries of one event carry one key. Undefined: a fresh id. */
  readonly key: string | undefined;
  readonly subject?: string | undefined;
  /** ISO time of the provider event, when the provider says. */
  readonly time?: string | undefined;
  readonly payload: unknown;
  readonly message?: EventMessage | undefined;
  /** Generic triggers with a sender preset: the sender's event name, the CloudEvent's `senderevent`. */
  readonly senderevent?: string | undefined;
  /** Generic triggers only: the request's non-secret headers. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Only without `key`: a digest of the request that the sender's retry repeats exactly, so a retry
   * after a 503 within `retryWindowMs` makes no second job (src/queue/envelope.ts).
   */
  readonly retryKey?: string | undefined;
  /** The exact JSON text, when the payload holds an integer this runtime had to round (src/exact-json.ts). */
  readonly raw?: string | undefined;
}

export interface Received {
  readonly events: readonly ChannelEvent[];
  /** The answer once every event is in Redis; default 200 with an empty body. */
  reply?(ids: readonly string[]): Reply;
  /**
   * The exact JSON text, when the request's JSON holds an integer this runtime had to round
   * (`ParsedJson.raw`, src/request.ts): the host puts it in `data.raw` of each event without one.
   */
  readonly raw?: string | undefined;
}

export interface RouteContext {
  now(): number;
  /** `publicUrl` from the config, for senders that sign the URL they post to. */
  readonly publicUrl?: string | undefined;
  readonly log: Logger;
  /** Records one dropped item of an otherwise accepted request in the rejection log. */
  reject(reason: RejectReason, detail?: Record<string, string | number>): void;
  /**
   * Hands a message to one of this account's loops (`LoopContext.inbox`), whichever replica runs it.
   * Throws `UnavailableError` when Redis does not take it. Absent where no relay hosts the route.
   */
  notifyLoop?(loop: string, message: string): Promise<void>;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT';

/** `P`: what `verify` proved and hands to `receive` (Teams: the parsed activity or the trusted items); void for most. */
export interface InboundRoute<A, P = void> {
  /** express path under the public port, e.g. `/whatsapp/:account`. */
  readonly path: string;
  readonly methods: readonly HttpMethod[];
  /** The account id named by the path's params; default `params.account`. */
  accountId?(params: Readonly<Record<string, string>>): string;
  /** Which content types the route takes; false answers 415. */
  accepts(mediaType: string | undefined, req: InboundRequest): boolean;
  /** A provider handshake answered before verification (Meta `hub.challenge`, Graph `validationToken`). */
  handshake?(req: InboundRequest, account: A, ctx: RouteContext): Reply | undefined;
  /**
   * Throws `RejectedError` unless the request is authentic. Runs on the raw bytes, before any parsing,
   * unless the proof lives in the body; returns what it proved, for `receive`.
   */
  verify(req: InboundRequest, account: A, ctx: RouteContext): P | Promise<P>;
  /** Parses and normalizes a verified request. Throws `RejectedError('bad_body')` on a body it cannot read. */
  receive(req: InboundRequest, account: A, ctx: RouteContext, proof: P): Received | Promise<Received>;
}

/** Outbound loops (Socket Mode, mailbox polling, …) run under the supervisor in `src/loops/`. */
export interface LoopSpec {
  readonly name: string;
  run(ctx: LoopContext): Promise<void>;
}

export interface LoopContext {
  /** Aborted when the relay stops (or, with leases, when this replica loses the loop): return promptly. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** `publicUrl` from the config: the base of URLs handed to providers. */
  readonly publicUrl: string | undefined;
  now(): number;
  /** Resolves only once every event is in Redis: acknowledge upstream, or move a cursor, after it. */
  emit(events: readonly ChannelEvent[]): Promise<readonly string[]>;
  /** A problem worth showing in /readyz and /admin/channels (e.g. webhook drift); undefined clears it. */
  report(problem: string | undefined): void;
  /** Marks a successful round (shown as last success). */
  ok(): void;
  /**
   * The loop's position upstream, kept in Redis and fenced by the lease. Move it only after `emit`
   * resolved; `set` throws when this replica lost the lease (the loop is being stopped anyway).
   */
  readonly cursor: {
    get(): Promise<string | undefined>;
    set(value: string): Promise<void>;
  };
  /** Messages routes sent this loop with `RouteContext.notifyLoop`, oldest first; `ack` removes them once handled. */
  readonly inbox?: {
    read(): Promise<readonly { readonly id: string; readonly message: string }[]>;
    ack(ids: readonly string[]): Promise<void>;
  };
}

export interface ChannelAdapter<A = unknown> {
  /** Envelope `channel`, type prefix and metrics label: `whatsapp`, `googlechat`. */
  readonly name: string;
  /** Key under `channels:` in relay.yaml when it is not `name` (`googleChat`); read it with `configKeyOf`. */
  readonly configKey?: string;
  /** First path segment of its routes and of the envelope `source` when it is not `name` (`google-chat`); `urlNameOf`. */
  readonly urlName?: string;
  /** Schema of the channel's list of accounts; secrets parsed with `secret()` from src/config. */
  readonly accounts: z.ZodType<A[]>;
  accountId(account: A): string;
  /** The queue an account's events go to, when it names one. */
  queueOf(account: A): string | undefined;
  /** Each route with its own proof type (methods are bivariant, so any `InboundRoute<A, P>` fits). */
  readonly routes: readonly InboundRoute<A, unknown>[];
  /** Things worth a warning at every start, e.g. an unauthenticated trigger. */
  warnings?(account: A): string[];
  loops?(account: A): readonly LoopSpec[];
  /** Where a route's proof of origin travels, for `relay doctor`'s "header never arrives" diagnoses. */
  proofOf?(account: A, routePath: string): ProofInfo | undefined;
  /** Checks of the account's registration at its provider, for `relay doctor`. */
  doctor?(account: A, ctx: DoctorContext): Promise<readonly DoctorFinding[]>;
  /** One provider call with the account's credentials, for `relay check --online`. */
  probe?(account: A, signal: AbortSignal): Promise<ProbeResult>;
  /** A request this account would accept, for tests and `relay sign`: same algorithm, never restated. */
  sign?(account: A, body: Buffer, nowMs: number, publicUrl?: string): SignedRequest;
  /** Accounts created at run time (generic triggers), kept by the host in Redis; at most one channel has them. */
  readonly runtimeAccounts?: RuntimeAccounts<A>;
  /** Extra `relay <channel> …` commands (Telegram's set-webhook); load heavy modules inside the actions. */
  commands?(program: Command): void;
}

/** What a channel whose accounts can be created at run time gives the trigger store (src/triggers). */
export interface RuntimeAccounts<A> {
  /**
   * The account a stored record stands for, with the secrets valid at `now`, and when that set next
   * changes (an expiring rotation). Throws with the schema's messages when the record is invalid.
   */
  fromRecord(record: TriggerRecord, now: number): { account: A; validUntil: number };
  /** A configured account as trigger listings show it: never a secret. */
  describe(account: A): TriggerListing;
  /** The account `relay sign` signs with, given a secret Redis keeps only as a digest; throws when it is needed and wrong. */
  forSigning(account: A, secret: string | undefined): A;
}

/** The headers that carry a route's proof (empty when it lives in the body), and the secret behind it. */
export interface ProofInfo {
  /** Header names as a provider sends them (`X-Hub-Signature-256`). */
  readonly headers: readonly string[];
  /** Another header that would do instead (the generic token scheme's `X-Relay-Token`). */
  readonly alternative?: string;
  /** The config field to check when signatures fail (`appSecret`). */
  readonly secretField: string;
}

/** One line of `relay doctor`: a verdict, what was checked, and (unless ok) what to do. */
export interface DoctorFinding {
  readonly verdict: 'ok' | 'warning' | 'problem' | 'skipped';
  /** What was checked: `redis`, `telegram/support registration`, `rejections webhook/shop/orders`. */
  readonly check: string;
  readonly message: string;
}

export interface DoctorContext {
  readonly publicUrl: string | undefined;
  /** Reads a loop's cursor (`channel:account:loop`); undefined when Redis is out of reach. */
  readonly readCursor: ((loopId: string) => Promise<string | null>) | undefined;
  readonly nowMs: number;
}

/** What one provider call says about one account's credentials. */
export interface ProbeResult {
  /** `none`: this account needs no outbound call, so there is nothing to test. */
  readonly status: 'ok' | 'problem' | 'none';
  /** Never a secret: for `problem`, what is wrong and how to fix it. */
  readonly message: string;
}

export const probeOk = (message: string): ProbeResult => ({ status: 'ok', message });
export const probeProblem = (message: string): ProbeResult => ({ status: 'problem', message });
export const probeNone = (message: string): ProbeResult => ({ status: 'none', message });

export interface SignedRequest {
  readonly method: HttpMethod;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** When signing changes the body (Graph's clientState lives inside it), the body to send. */
  readonly body?: Buffer;
}

/** Any channel, for registries and hosts that only move accounts between its own methods. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds channels of different account types; each channel's own methods get its own accounts.
export type AnyChannel = ChannelAdapter<any>;

/** Key under `channels:` in relay.yaml: `whatsapp`, `googleChat`. */
export const configKeyOf = (channel: AnyChannel): string => channel.configKey ?? channel.name;
/** First path segment of the channel's routes and of its envelope `source`: `whatsapp`, `google-chat`. */
export const urlNameOf = (channel: AnyChannel): string => channel.urlName ?? channel.name;
