import type { AnyChannel } from '../src/channel.js';
import { webhook } from './webhook/index.js';

/** Every channel the relay knows. Removing a channel is `rm -r channels/<name>` and its line here. */
export const channels = { webhook } as const;

export const channelList: readonly AnyChannel[] = Object.values(channels);
