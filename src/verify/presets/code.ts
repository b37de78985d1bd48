import { discord } from './discord.js';
import { withHandshakes } from './handshakes.js';
import { mailgun } from './mailgun.js';
import { hmacPresets } from './rows.js';
import { sendgrid } from './sendgrid.js';
import { twilio } from './twilio.js';
import type { Preset } from './types.js';

/** Presets that need code rather than a row (Ed25519, ECDSA, form parameters, handshakes): one file each. */
export const codePresets: readonly Preset[] = [
  discord,
  sendgrid,
  twilio,
  mailgun,
  ...withHandshakes(hmacPresets),
];
