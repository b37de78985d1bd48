import { type HmacRow, hmacPreset } from './hmac-template.js';
import { tokenPreset } from './token-preset.js';
import type { Preset } from './types.js';

/**
 * Sender presets that are rows of data: each verified as its sender documents (`doc`), checked in
 * tests against the sender's own signing library or documented example.
 */
const rows: readonly HmacRow[] = [
  {
    name: 'github',
    doc: 'https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries',
    algorithm: 'sha256',
    encoding: 'hex',
    headers: ['X-Hub-Signature-256'],
    format: { kind: 'plain', prefix: 'sha256=' },
    content: '{body}',
    key: { header: 'X-GitHub-Delivery' },
    event: { header: 'X-GitHub-Event' },
  },
];

export const hmacPresets: readonly Preset[] = [
  ...rows.map(hmacPreset),
  tokenPreset({
    name: 'gitlab',
    doc: 'https://docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook',
    header: 'X-Gitlab-Token',
    key: { header: 'X-Gitlab-Event-UUID' },
    event: { header: 'X-Gitlab-Event' },
  }),
];
