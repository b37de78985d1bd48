import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Writes a secret for a `<field>File` setting: owner read/write only, trailing newline (stripped on load). */
export function writeSecretFile(path: string, value: string): string {
  const full = resolve(path);
  // An existing file keeps its mode under writeFileSync: tighten it before the secret goes in.
  if (existsSync(full)) chmodSync(full, 0o600);
  writeFileSync(full, `${value}\n`, { mode: 0o600 });
  return full;
}

/**
 * The `credentials:` block for relay.yaml. With a file, it names the file and the token is never
 * printed; without one, the refresh token is printed once, for the person who asked for it.
 */
export function credentialsSnippet(
  where: string,
  fields: ReadonlyArray<readonly [string, string]>,
  refreshToken: { readonly value: string } | { readonly file: string },
): string {
  const lines = [`# ${where}`, 'credentials:'];
  for (const [key, value] of fields) lines.push(`  ${key}: ${value}`);
  lines.push(
    'file' in refreshToken
      ? `  refreshTokenFile: ${refreshToken.file}`
      : `  refreshToken: ${refreshToken.value}`,
  );
  return `${lines.join('\n')}\n`;
}
