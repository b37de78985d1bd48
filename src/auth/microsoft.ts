import { RelayError } from '../errors.js';
import { oauthError, postForm } from './oauth.js';

export const mailReadScope = 'https://graph.microsoft.com/Mail.Read offline_access';
const authority = (tenant: string) =>
  `https://login.microsoftonline.com/${encodeURIComponent(tenant)}/oauth2/v2.0`;

export interface DeviceFlowOptions {
  readonly tenant: string;
  readonly clientId: string;
  readonly scope?: string;
  readonly deviceCodeUrl?: string;
  readonly tokenUrl?: string;
  /** Called with the provider's instructions (URL and code to enter). */
  onPrompt(message: string): void;
  /** Length of one `interval` second; tests shorten it. Default 1000 ms. */
  readonly secondMs?: number;
}

interface DeviceCode {
  readonly device_code: string;
  readonly user_code: string;
  readonly verification_uri: string;
  readonly expires_in: number;
  readonly interval?: number;
  readonly message?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The device authorization grant (RFC 8628) as Microsoft runs it: ask `/devicecode` for a user code,
 * show it, and poll `/token` every `interval` seconds. `authorization_pending`: keep polling;
 * `slow_down`: add 5 seconds to the interval for good (RFC 8628 section 3.5); `expired_token`,
 * `authorization_declined`, `bad_verification_code`: stop.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
 */
export async function microsoftDeviceFlow(
  options: DeviceFlowOptions,
): Promise<{ refreshToken: string; scope: string }> {
  const second = options.secondMs ?? 1000;
  const scope = options.scope ?? mailReadScope;
  const start = await postForm(options.deviceCodeUrl ?? `${authority(options.tenant)}/devicecode`, {
    client_id: options.clientId,
    scope,
  });
  if (start.status !== 200 || start.body.error)
    throw new RelayError(
      'auth_refused',
      `Microsoft refused the device code request: ${oauthError(start.body, start.status)}; check --tenant and --client-id (the app registration must allow public client flows)`,
    );
  const device = start.body as unknown as DeviceCode;
  options.onPrompt(
    device.message ?? `To sign in, open ${device.verification_uri} and enter the code ${device.user_code}`,
  );
  let intervalSec = Math.max(1, device.interval ?? 5);
  const deadline = Date.now() + device.expires_in * second;
  while (Date.now() < deadline) {
    await sleep(intervalSec * second);
    const { status, body } = await postForm(options.tokenUrl ?? `${authority(options.tenant)}/token`, {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      client_id: options.clientId,
      device_code: device.device_code,
    });
    if (status === 200 && !body.error) {
      if (!body.refresh_token)
        throw new RelayError(
          'auth_no_refresh',
          'Microsoft returned no refresh token: the scope must include offline_access',
        );
      return { refreshToken: body.refresh_token, scope: body.scope ?? scope };
    }
    switch (body.error) {
      case 'authorization_pending':
        continue;
      case 'slow_down':
        intervalSec += 5;
        continue;
      case 'expired_token':
        throw new RelayError(
          'auth_expired',
          'the code expired before sign-in finished: run relay auth microsoft again and sign in within the time shown',
        );
      case 'authorization_declined':
      case 'access_denied':
        throw new RelayError(
          'auth_denied',
          'sign-in was declined: run relay auth microsoft again and accept the permissions',
        );
      default:
        throw new RelayError('auth_refused', `Microsoft refused the sign-in: ${oauthError(body, status)}`);
    }
  }
  throw new RelayError(
    'auth_expired',
    'the code expired before sign-in finished: run relay auth microsoft again',
  );
}
