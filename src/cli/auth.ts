import type { Command } from 'commander';
import { credentialsSnippet, writeSecretFile } from '../auth/output.js';
import { fail } from './output.js';

/**
 * `relay auth google|microsoft`: run the provider's consent flow once, by hand, and hand the
 * refresh token to the config: printed in a snippet, or written to a 0600 file for `refreshTokenFile`.
 */

const say = (line: string) => process.stdout.write(`${line}\n`);

interface Common {
  readonly write?: string;
  readonly tokenUrl?: string;
}

function deliver(
  where: string,
  fields: ReadonlyArray<readonly [string, string]>,
  refreshToken: string,
  flags: Common,
) {
  if (flags.write) {
    const file = writeSecretFile(flags.write, refreshToken);
    say(`refresh token written to ${file} (mode 0600); add to relay.yaml:`);
    process.stdout.write(credentialsSnippet(where, fields, { file }));
  } else {
    say('add to relay.yaml (this is a secret: prefer --write FILE and refreshTokenFile):');
    process.stdout.write(credentialsSnippet(where, fields, { value: refreshToken }));
  }
}

async function google(
  flags: Common & { clientId: string; clientSecret: string; authUrl?: string; scope?: string },
) {
  try {
    // The consent flows are imported when they run: every command (`relay start` too) registers these.
    const { googleConsent } = await import('../auth/google.js');
    const { refreshToken } = await googleConsent({
      clientId: flags.clientId,
      clientSecret: flags.clientSecret,
      ...(flags.authUrl ? { authUrl: flags.authUrl } : {}),
      ...(flags.tokenUrl ? { tokenUrl: flags.tokenUrl } : {}),
      ...(flags.scope ? { scope: flags.scope } : {}),
      onAuthorizationUrl: (url) => {
        say(
          'open this URL in a browser on this machine and allow access (waiting for the redirect to 127.0.0.1):',
        );
        say(url);
      },
    });
    deliver(
      'channels.gmail[].credentials',
      [
        ['clientId', flags.clientId],
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a relay.yaml ${VAR} reference, printed as is.
        ['clientSecret', '${GMAIL_CLIENT_SECRET}   # the --client-secret you used (or clientSecretFile)'],
        ...(flags.tokenUrl ? ([['tokenUrl', flags.tokenUrl]] as const) : []),
      ],
      refreshToken,
      flags,
    );
  } catch (err) {
    fail(err);
  }
}

async function microsoft(
  flags: Common & { tenant: string; clientId: string; deviceCodeUrl?: string; scope?: string },
) {
  try {
    const { microsoftDeviceFlow } = await import('../auth/microsoft.js');
    const { refreshToken } = await microsoftDeviceFlow({
      tenant: flags.tenant,
      clientId: flags.clientId,
      ...(flags.deviceCodeUrl ? { deviceCodeUrl: flags.deviceCodeUrl } : {}),
      ...(flags.tokenUrl ? { tokenUrl: flags.tokenUrl } : {}),
      ...(flags.scope ? { scope: flags.scope } : {}),
      onPrompt: (message) => say(message),
    });
    deliver(
      'channels.outlook[].credentials',
      [
        ['tenantId', flags.tenant],
        ['clientId', flags.clientId],
      ],
      refreshToken,
      flags,
    );
  } catch (err) {
    fail(err);
  }
}

export function registerAuthCommands(program: Command): void {
  const auth = program
    .command('auth')
    .description("obtain a refresh token by the provider's consent flow; print it or write it to a file");
  auth
    .command('google')
    .description('Gmail: installed-app OAuth with a loopback redirect and PKCE (scope gmail.readonly)')
    .requiredOption('--client-id <id>', 'OAuth client id of a Desktop app client')
    .requiredOption('--client-secret <secret>', 'its client secret')
    .option('--write <file>', 'write the refresh token to FILE (mode 0600) for refreshTokenFile')
    .option('--scope <scope>', 'scope to ask for (default gmail.readonly)')
    .option('--auth-url <url>', 'authorization endpoint (default Google)')
    .option('--token-url <url>', 'token endpoint (default Google)')
    .action(google);
  auth
    .command('microsoft')
    .description('Outlook: device code flow (scope Mail.Read offline_access)')
    .requiredOption('--tenant <tenant>', 'directory (tenant) id or domain, or organizations / common')
    .requiredOption('--client-id <id>', 'application (client) id; the app must allow public client flows')
    .option('--write <file>', 'write the refresh token to FILE (mode 0600) for refreshTokenFile')
    .option('--scope <scope>', 'scopes to ask for (default Mail.Read offline_access)')
    .option('--device-code-url <url>', 'device authorization endpoint (default Microsoft)')
    .option('--token-url <url>', 'token endpoint (default Microsoft)')
    .action(microsoft);
}
