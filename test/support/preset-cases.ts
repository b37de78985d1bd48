import { createHmac } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { getHmac as shopifyHmac } from '@shopify/shopify-api/test-helpers';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';

/**
 * One row per sender preset for test/presets.test.ts: the request the sender makes, made by the
 * sender's own library where it has one (stripe, svix, @octokit/webhooks-methods,
 * @shopify/shopify-api), otherwise by the sender's documented recipe written out here from the doc
 * linked in the row (never from Relay's templated verifier). test/presets-libraries.test.ts checks
 * the linear, paddle, mux and shopify rows with the sender's library that verifies.
 */

export const now = 1_800_000_000_000;
export const nowSec = now / 1000;
export const publicUrl = 'https://relay.example.com/base';
export const stripe = new Stripe('sk_test_presets');

const mac = (alg: 'sha1' | 'sha256', secret: string, content: string, enc: 'hex' | 'base64') =>
  createHmac(alg, secret).update(content).digest(enc);

export interface Sent {
  readonly body: string;
  readonly headers: Record<string, string>;
}
export interface Env {
  readonly secret: string;
  /** The URL the sender signs (URL-signed presets). */
  readonly url: string;
}
export interface Case {
  readonly scheme: string;
  readonly secret: string;
  /** What the sender sends for delivery `id`, signed at `atSec`. */
  send(id: string, atSec: number, env: Env): Sent | Promise<Sent>;
  /** The dedupe key the preset should find for delivery `id`; undefined: the sender sends none. */
  readonly key: ((id: string) => string) | undefined;
  readonly event: string | undefined;
  /** Headers that carry the proof (removed for the "missing" case). */
  readonly proof: readonly string[];
  /** The timestamp window, where the timestamp is signed and windowed. */
  readonly windowSec?: number;
  readonly signsUrl?: boolean;
  /** A token, not a signature: a changed body still carries a valid token. */
  readonly token?: boolean;
  /** Query string the request carries (URL-signed presets). */
  readonly query?: string;
}

export const plain = 'presets-secret-0123456789';
export const whsec = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const other = 'another-secret-9876543210';
export const otherWhsec = `whsec_${Buffer.from(other).toString('base64')}`;
const iso = (sec: number) => new Date(sec * 1000).toISOString();

export const cases: readonly Case[] = [
  {
    scheme: 'github', // @octokit/webhooks-methods
    secret: plain,
    send: async (id, _at, { secret }) => {
      const body = `{"action":"opened","n":"${id}"}`;
      return {
        body,
        headers: {
          'x-hub-signature-256': await octokitSign(secret, body),
          'x-github-delivery': id,
          'x-github-event': 'issues',
        },
      };
    },
    key: (id) => id,
    event: 'issues',
    proof: ['x-hub-signature-256'],
  },
  {
    scheme: 'gitlab', // https://docs.gitlab.com/user/project/integrations/webhooks/#validate-requests-with-a-secret-token
    secret: plain,
    send: (id, _at, { secret }) => ({
      body: '{"object_kind":"push"}',
      headers: { 'x-gitlab-token': secret, 'x-gitlab-event-uuid': id, 'x-gitlab-event': 'Push Hook' },
    }),
    key: (id) => id,
    event: 'Push Hook',
    proof: ['x-gitlab-token'],
    token: true,
  },
  {
    scheme: 'stripe', // stripe.webhooks.generateTestHeaderString
    secret: 'whsec_stripe_presets_0123456789',
    send: (id, atSec, { secret }) => {
      const body = `{"id":"evt_${id}","type":"invoice.paid"}`;
      const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: atSec });
      return { body, headers: { 'stripe-signature': header } };
    },
    key: (id) => `evt_${id}`,
    event: 'invoice.paid',
    proof: ['stripe-signature'],
    windowSec: 300,
  },
  {
    scheme: 'shopify', // @shopify/shopify-api's getHmac; its webhooks.validate checks it too
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = '{"id":820982911946154500,"email":"jon@example.com"}';
      return {
        body,
        headers: {
          'x-shopify-hmac-sha256': shopifyHmac(body, secret),
          'x-shopify-webhook-id': id,
          'x-shopify-topic': 'orders/create',
          'x-shopify-shop-domain': 'relay-test.myshopify.com',
          'x-shopify-api-version': '2025-07',
        },
      };
    },
    key: (id) => id,
    event: 'orders/create',
    proof: ['x-shopify-hmac-sha256'],
  },
  ...(['svix', 'clerk', 'resend'] as const).map(
    (scheme): Case => ({
      scheme, // svix's Webhook#sign
      secret: whsec,
      send: (id, atSec, { secret }) => {
        const body = '{"type":"user.created","data":{"id":"user_1"}}';
        return {
          body,
          headers: {
            'svix-id': id,
            'svix-timestamp': String(atSec),
            'svix-signature': new SvixWebhook(secret).sign(id, new Date(atSec * 1000), body),
          },
        };
      },
      key: (id) => id,
      event: 'user.created',
      proof: ['svix-signature'],
      windowSec: 300,
    }),
  ),
  {
    scheme: 'linear', // https://linear.app/developers/webhooks#securing-webhooks (webhookTimestamp within 60 s); @linear/sdk verifies it
    secret: plain,
    send: (id, atSec, { secret }) => {
      const body = `{"type":"Issue","action":"create","webhookTimestamp":${atSec * 1000}}`;
      return {
        body,
        headers: {
          'linear-signature': mac('sha256', secret, body, 'hex'),
          'linear-delivery': id,
          'linear-event': 'Issue',
        },
      };
    },
    key: (id) => id,
    event: 'Issue',
    proof: ['linear-signature'],
    windowSec: 60,
  },
  {
    scheme: 'pagerduty', // https://developer.pagerduty.com/docs/webhooks-overview#webhook-signatures: one v1= per secret
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = `{"event":{"id":"${id}","event_type":"incident.triggered"}}`;
      const signatures = [other, secret].map((s) => `v1=${mac('sha256', s, body, 'hex')}`);
      return { body, headers: { 'x-pagerduty-signature': signatures.join(',') } };
    },
    key: (id) => id,
    event: 'incident.triggered',
    proof: ['x-pagerduty-signature'],
  },
  {
    scheme: 'paddle', // https://developer.paddle.com/webhooks/signature-verification (SDKs: 5 s); @paddle/paddle-node-sdk verifies it
    secret: 'pdl_ntfset_presets_0123456789',
    send: (id, atSec, { secret }) => {
      const body = `{"event_id":"${id}","event_type":"transaction.completed"}`;
      const h1 = mac('sha256', secret, `${atSec}:${body}`, 'hex');
      return { body, headers: { 'paddle-signature': `ts=${atSec};h1=${h1}` } };
    },
    key: (id) => id,
    event: 'transaction.completed',
    proof: ['paddle-signature'],
    windowSec: 5,
  },
  {
    scheme: 'square', // https://developer.squareup.com/docs/webhooks/step3validate: base64 HMAC of URL + body
    secret: plain,
    send: (id, _at, { secret, url }) => {
      const body = `{"event_id":"${id}","type":"payment.updated"}`;
      return {
        body,
        headers: { 'x-square-hmacsha256-signature': mac('sha256', secret, url + body, 'base64') },
      };
    },
    key: (id) => id,
    event: 'payment.updated',
    proof: ['x-square-hmacsha256-signature'],
    signsUrl: true,
  },
  {
    scheme: 'zendesk', // https://developer.zendesk.com/documentation/webhooks/verifying/: base64(HMAC(timestamp + body))
    secret: plain,
    send: (id, atSec, { secret }) => {
      const body = '{"type":"zen:event-type:ticket.created","detail":{"id":"35436"}}';
      const ts = iso(atSec).replace('.000Z', 'Z'); // as Zendesk writes it: 2021-03-25T05:09:27Z
      return {
        body,
        headers: {
          'x-zendesk-webhook-signature': mac('sha256', secret, ts + body, 'base64'),
          'x-zendesk-webhook-signature-timestamp': ts,
          'x-zendesk-webhook-invocation-id': id,
        },
      };
    },
    key: (id) => id,
    event: 'zen:event-type:ticket.created',
    proof: ['x-zendesk-webhook-signature'],
  },
  {
    scheme: 'intercom', // https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = `{"type":"notification_event","id":"${id}","topic":"conversation.user.created"}`;
      return { body, headers: { 'x-hub-signature': `sha1=${mac('sha1', secret, body, 'hex')}` } };
    },
    key: (id) => id,
    event: 'conversation.user.created',
    proof: ['x-hub-signature'],
  },
  {
    scheme: 'hubspot', // https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests#validate-the-v3-request-signature
    secret: plain,
    query: '?portal=a%3Ab',
    send: (id, atSec, { secret, url }) => {
      const body = `[{"eventId":"${id}","occurredAt":1800000000000,"subscriptionType":"contact.creation"}]`;
      const ts = String(atSec * 1000);
      // HubSpot decodes %3A and the other listed escapes in the URI before signing.
      const uri = url.replace('%3A', ':');
      return {
        body,
        headers: {
          'x-hubspot-signature-v3': mac('sha256', secret, `POST${uri}${body}${ts}`, 'base64'),
          'x-hubspot-request-timestamp': ts,
        },
      };
    },
    key: (id) => `${id}/1800000000000`,
    event: 'contact.creation',
    proof: ['x-hubspot-signature-v3'],
    windowSec: 300,
    signsUrl: true,
  },
  {
    scheme: 'zoom', // https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
    secret: plain,
    send: (id, atSec, { secret }) => {
      const body = `{"event":"meeting.started","event_ts":"${id}","payload":{}}`;
      return {
        body,
        headers: {
          'x-zm-signature': `v0=${mac('sha256', secret, `v0:${atSec}:${body}`, 'hex')}`,
          'x-zm-request-timestamp': String(atSec),
        },
      };
    },
    key: (id) => `meeting.started/${id}`,
    event: 'meeting.started',
    proof: ['x-zm-signature'],
    windowSec: 300,
  },
  {
    scheme: 'twitch', // https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message
    secret: plain,
    send: (id, atSec, { secret }) => {
      const body = '{"subscription":{"type":"channel.follow"},"event":{"user_id":"1"}}';
      const ts = iso(atSec).replace('Z', '123456Z'); // RFC3339 with nanoseconds, as Twitch writes it
      return {
        body,
        headers: {
          'twitch-eventsub-message-id': id,
          'twitch-eventsub-message-timestamp': ts,
          'twitch-eventsub-message-signature': `sha256=${mac('sha256', secret, id + ts + body, 'hex')}`,
          'twitch-eventsub-subscription-type': 'channel.follow',
        },
      };
    },
    key: (id) => id,
    event: 'channel.follow',
    proof: ['twitch-eventsub-message-signature'],
    windowSec: 600,
  },
  {
    scheme: 'typeform', // https://www.typeform.com/developers/webhooks/secure-your-webhooks/
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = `{"event_id":"${id}","event_type":"form_response"}`;
      return { body, headers: { 'typeform-signature': `sha256=${mac('sha256', secret, body, 'base64')}` } };
    },
    key: (id) => id,
    event: 'form_response',
    proof: ['typeform-signature'],
  },
  {
    scheme: 'sentry', // https://docs.sentry.io/organization/integrations/integration-platform/webhooks/#sentry-hook-signature
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = '{"action":"created","data":{"issue":{"id":"1"}}}';
      return {
        body,
        headers: {
          'sentry-hook-signature': mac('sha256', secret, body, 'hex'),
          'request-id': id,
          'sentry-hook-resource': 'issue',
        },
      };
    },
    key: (id) => id,
    event: 'issue',
    proof: ['sentry-hook-signature'],
  },
  {
    scheme: 'calendly', // https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures (3 minutes)
    secret: plain,
    send: (id, atSec, { secret }) => {
      const body = `{"event":"invitee.created","created_at":"2026-12-03T10:00:00.000000Z","payload":{"uri":"https://api.calendly.com/invitees/${id}"}}`;
      const v1 = mac('sha256', secret, `${atSec}.${body}`, 'hex');
      return { body, headers: { 'calendly-webhook-signature': `t=${atSec},v1=${v1}` } };
    },
    key: (id) => `https://api.calendly.com/invitees/${id}/invitee.created/2026-12-03T10:00:00.000000Z`,
    event: 'invitee.created',
    proof: ['calendly-webhook-signature'],
    windowSec: 180,
  },
  {
    scheme: 'docusign', // https://developers.docusign.com/platform/webhooks/connect/validate/: one header per Connect key
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = `{"event":"envelope-completed","generatedDateTime":"2026-12-03T10:00:00Z","data":{"envelopeId":"${id}"}}`;
      return {
        body,
        headers: {
          'x-docusign-signature-1': mac('sha256', other, body, 'base64'),
          'x-docusign-signature-2': mac('sha256', secret, body, 'base64'),
        },
      };
    },
    key: (id) => `${id}/envelope-completed/2026-12-03T10:00:00Z`,
    event: 'envelope-completed',
    proof: ['x-docusign-signature-1', 'x-docusign-signature-2'],
  },
  {
    scheme: 'vercel', // https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = `{"id":"${id}","type":"deployment.created"}`;
      return { body, headers: { 'x-vercel-signature': mac('sha1', secret, body, 'hex') } };
    },
    key: (id) => id,
    event: 'deployment.created',
    proof: ['x-vercel-signature'],
  },
  {
    scheme: 'jira', // https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = '{"webhookEvent":"jira:issue_created","issue":{"key":"R-1"}}';
      return {
        body,
        headers: {
          'x-hub-signature': `sha256=${mac('sha256', secret, body, 'hex')}`,
          'x-atlassian-webhook-identifier': id,
        },
      };
    },
    key: (id) => id,
    event: 'jira:issue_created',
    proof: ['x-hub-signature'],
  },
  {
    scheme: 'bitbucket', // https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = '{"push":{"changes":[]}}';
      return {
        body,
        headers: {
          'x-hub-signature': `sha256=${mac('sha256', secret, body, 'hex')}`,
          'x-request-uuid': id,
          'x-event-key': 'repo:push',
        },
      };
    },
    key: (id) => id,
    event: 'repo:push',
    proof: ['x-hub-signature'],
  },
  {
    scheme: 'dropbox', // https://www.dropbox.com/developers/reference/webhooks#notifications: no delivery id
    secret: plain,
    send: (id, _at, { secret }) => {
      const body = `{"list_folder":{"accounts":["dbid:${id}"]},"delta":{"users":[12345]}}`;
      return { body, headers: { 'x-dropbox-signature': mac('sha256', secret, body, 'hex') } };
    },
    key: undefined,
    event: undefined,
    proof: ['x-dropbox-signature'],
  },
  {
    scheme: 'box', // https://developer.box.com/guides/webhooks/v2/signatures-v2/: body then timestamp, 10 minutes
    secret: plain,
    send: (id, atSec, { secret }) => {
      const body = '{"type":"webhook_event","trigger":"FILE.UPLOADED"}';
      const ts = iso(atSec).replace('.000Z', '+00:00');
      return {
        body,
        headers: {
          'box-signature-primary': mac('sha256', other, body + ts, 'base64'),
          'box-signature-secondary': mac('sha256', secret, body + ts, 'base64'),
          'box-delivery-timestamp': ts,
          'box-delivery-id': id,
        },
      };
    },
    key: (id) => id,
    event: 'FILE.UPLOADED',
    proof: ['box-signature-primary', 'box-signature-secondary'],
    windowSec: 600,
  },
  {
    scheme: 'mux', // https://www.mux.com/docs/core/verify-webhook-signatures; @mux/mux-node verifies it
    secret: plain,
    send: (id, atSec, { secret }) => {
      const body = `{"id":"${id}","type":"video.asset.ready"}`;
      return {
        body,
        headers: { 'mux-signature': `t=${atSec},v1=${mac('sha256', secret, `${atSec}.${body}`, 'hex')}` },
      };
    },
    key: (id) => id,
    event: 'video.asset.ready',
    proof: ['mux-signature'],
    windowSec: 300,
  },
];
