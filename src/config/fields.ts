import { z } from 'zod';

/** Account, group and trigger names (contract section 2). */
export const name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -');

/** BullMQ queue names: no `:` (it separates Redis key parts). */
export const queueName = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1-100 of A-Z a-z 0-9 _ . -');

export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
