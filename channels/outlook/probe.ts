import { type ProbeResult, probeOk, probeProblem } from '../../src/channel.js';
import { errorMessage } from '../../src/errors.js';
import type { OutlookAccount } from './config.js';
import { accessHint, GraphToken } from './credentials.js';

/**
 * A Graph token, then `GET /users/{user}/mailFolders/{folder}`: the folder the delta loop reads,
 * with the permission it needs (Mail.Read, application or delegated), rather than `/users/{user}`,
 * which needs User.Read.All.
 * https://learn.microsoft.com/graph/api/mailfolder-get
 */
export async function probeOutlook(account: OutlookAccount, signal: AbortSignal): Promise<ProbeResult> {
  const where = `${account.user}/${account.folder}`;
  try {
    const token = await new GraphToken(account.credentials, account.graphUrl, account.account).get(signal);
    const url = `${account.graphUrl}/users/${encodeURIComponent(account.user)}/mailFolders/${encodeURIComponent(account.folder)}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal });
    if (res.ok) {
      const folder = (await res.json().catch(() => ({}))) as {
        displayName?: string;
        totalItemCount?: number;
      };
      return probeOk(
        `folder ${folder.displayName ?? where} readable (${folder.totalItemCount ?? '?'} messages)`,
      );
    }
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    const code = body.error?.code ?? String(res.status);
    if (res.status === 401 || res.status === 403) {
      return probeProblem(`Graph refused ${where} (${code}): ${accessHint(account.credentials)}`);
    }
    if (res.status === 404) return probeProblem(`Graph has no ${where} (${code}): check user and folder`);
    return probeProblem(`Graph answered ${res.status} for ${where} (${code})`);
  } catch (err) {
    return probeProblem(errorMessage(err));
  }
}
