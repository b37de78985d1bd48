import { parseDuration } from '../config/size.js';
import { RelayError } from '../errors.js';
import { openContext } from './context.js';
import { fail, printJson, table } from './output.js';

export async function rejectionsCommand(flags: {
  config?: string;
  channel?: string;
  since?: string;
  limit?: string;
  json?: boolean;
}): Promise<void> {
  try {
    const sinceMs = flags.since === undefined ? 3_600_000 : parseDuration(flags.since);
    if (sinceMs === undefined)
      throw new RelayError('bad_flag', `--since ${flags.since}: use a duration such as 15m or 2h`);
    const ctx = await openContext(flags.config);
    try {
      const list = await ctx.rejections.list({
        channel: flags.channel,
        sinceMs,
        limit: Number(flags.limit ?? 100),
      });
      if (flags.json) return printJson(list);
      if (list.length === 0) {
        process.stdout.write('no rejected requests in that window\n');
        return;
      }
      const rows = list.map((r) => [
        r.at.replace('T', ' ').slice(0, 19),
        r.reason,
        `${r.channel}/${r.account}`,
        r.ip,
        String(r.size),
        r.detail
          ? Object.entries(r.detail)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')
          : '',
        r.headers.join(','),
      ]);
      process.stdout.write(
        `${table(['TIME', 'REASON', 'CHANNEL/ACCOUNT', 'CLIENT', 'BYTES', 'DETAIL', 'HEADERS'], rows)}\n`,
      );
    } finally {
      await ctx.close();
    }
  } catch (err) {
    fail(err);
  }
}
