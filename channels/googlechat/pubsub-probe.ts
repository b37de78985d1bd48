import { type ProbeResult, probeNone, probeOk, probeProblem } from '../../src/channel.js';
import { errorMessage } from '../../src/errors.js';
import type { GoogleChatAccount } from './config.js';
import { pubsubAuth } from './credentials.js';

/**
 * `GET {apiRoot}/v1/{subscription}` (projects.subscriptions.get) with the pull loop's credential:
 * the subscription exists and the service account may see it. Accounts without a subscription
 * receive Chat events over HTTP and call nothing.
 * https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions/get
 */
export async function probeGoogleChat(account: GoogleChatAccount, signal: AbortSignal): Promise<ProbeResult> {
  if (!account.subscription)
    return probeNone('HTTP endpoint mode needs no outbound call (each request carries a verified JWT)');
  try {
    const auth = await pubsubAuth(account);
    const res = await auth.request<{ topic?: string; ackDeadlineSeconds?: number }>({
      url: `${account.apiRoot}/v1/${account.subscription}`,
      method: 'GET',
      signal,
      timeout: 10_000,
      responseType: 'json',
    });
    return probeOk(`subscription ${account.subscription} readable (topic ${res.data?.topic ?? '?'})`);
  } catch (err) {
    const status = (err as { response?: { status?: number } }).response?.status;
    if (status === 403 || status === 401) {
      return probeProblem(
        `Pub/Sub refused ${account.subscription} (${status}): give the service account roles/pubsub.subscriber on it`,
      );
    }
    if (status === 404)
      return probeProblem(
        `no subscription ${account.subscription}: check the name (projects/P/subscriptions/S)`,
      );
    return probeProblem(errorMessage(err));
  }
}
