import type { AnyChannel } from '../src/channel.js';
import { gmail } from './gmail/index.js';
import { googlechat } from './googlechat/index.js';
import { outlook } from './outlook/index.js';
import { slack } from './slack/index.js';
import { teams } from './teams/index.js';
import { telegram } from './telegram/index.js';
import { webhook } from './webhook/index.js';
import { whatsapp } from './whatsapp/index.js';

/**
 * Every channel the relay knows, keyed by its key under `channels:` in relay.yaml. Removing a
 * channel is `rm -r channels/<name>` and its line here.
 */
export const channels = {
  webhook,
  whatsapp,
  slack,
  telegram,
  teams,
  googleChat: googlechat,
  gmail,
  outlook,
} as const;

export const channelList: readonly AnyChannel[] = Object.values(channels);
