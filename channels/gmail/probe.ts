import pino from 'pino';
import { type ProbeResult, probeOk, probeProblem } from '../../src/channel.js';
import { errorMessage } from '../../src/errors.js';
import type { GmailAccount } from './config.js';
import { gmailAuth, gmailError } from './credentials.js';
import { Mailbox } from './mailbox.js';

/**
 * `users.getProfile`, the call the poll loop makes first: it proves the credential is accepted and
 * the mailbox is readable with the gmail.readonly scope.
 * https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/getProfile
 */
export async function probeGmail(account: GmailAccount, signal: AbortSignal): Promise<ProbeResult> {
  try {
    const auth = await gmailAuth(account.credentials, account.account, pino({ enabled: false }));
    const historyId = await (await Mailbox.open(account, auth, signal)).historyId();
    return probeOk(`mailbox ${account.user} readable (history id ${historyId})`);
  } catch (err) {
    return probeProblem(errorMessage(gmailError(err, account.account)));
  }
}
