import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { interpolate } from './interpolate.js';
import { configSchema, type RelayConfig } from './schema.js';
import { collectSecrets } from './secret.js';

export interface LoadedConfig {
  readonly config: RelayConfig;
  /** The file it came from, or `development default`. */
  readonly source: string;
  /** Every configured secret value, for scrubbing logs. */
  readonly secrets: ReadonlySet<string>;
  /** Set only for the development default: the demo trigger's token. */
  readonly demoToken?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** `--config`, then `$RELAY_CONFIG`, then `./relay.yaml`; undefined when none of them exists. */
export function resolveConfigPath(flag: string | undefined, env: Env, cwd: string): string | undefined {
  if (flag) return resolve(cwd, flag);
  if (env.RELAY_CONFIG) return resolve(cwd, env.RELAY_CONFIG);
  const local = join(cwd, 'relay.yaml');
  return existsSync(local) ? local : undefined;
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${path || '(top level)'}: ${issue.message}`;
  });
}

/** The environment's PORT, OPS_PORT and REDIS_URL win over the file (contract section 1). */
function applyEnvOverrides(raw: Record<string, unknown>, env: Env, problems: string[]): void {
  const server = { ...((raw.server as Record<string, unknown>) ?? {}) };
  const redis = { ...((raw.redis as Record<string, unknown>) ?? {}) };
  for (const [name, key] of [
    ['PORT', 'port'],
    ['OPS_PORT', 'opsPort'],
  ] as const) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (!/^\d{1,5}$/.test(value)) problems.push(`${name}: must be a port number, got "${value}"`);
    else server[key] = Number(value);
  }
  if (env.REDIS_URL) redis.url = env.REDIS_URL;
  raw.server = server;
  raw.redis = redis;
}

export function parseConfig(raw: unknown, env: Env = process.env): RelayConfig {
  const problems: string[] = [];
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(['(top level): must be a mapping of settings']);
  const copy = { ...(raw as Record<string, unknown>) };
  applyEnvOverrides(copy, env, problems);
  const result = configSchema.safeParse(copy);
  if (!result.success) problems.push(...formatIssues(result.error));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

export function loadConfigFile(path: string, env: Env = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `${path}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
  const interpolated = interpolate(text, env);
  let raw: unknown;
  try {
    raw = parseYaml(interpolated.text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? `line ${err.linePos[0].line}` : path;
    throw new ConfigError([
      ...interpolated.problems,
      `${where}: not valid YAML (${(err as Error).message.split('\n')[0]})`,
    ]);
  }
  let config: RelayConfig;
  try {
    config = parseConfig(raw, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError([...interpolated.problems, ...err.problems]);
    throw err;
  }
  if (interpolated.problems.length > 0) throw new ConfigError(interpolated.problems);
  return { config, source: path, secrets: configSecrets(config) };
}

/**
 * With no config file, `relay start` runs the generic channel with one trigger `demo/hello`. Its
 * token is kept in `.relay/demo-token` so the printed curl line keeps working across restarts.
 */
export function developmentConfig(cwd: string, env: Env = process.env): LoadedConfig {
  const tokenFile = join(cwd, '.relay', 'demo-token');
  let token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  if (!token) {
    token = randomBytes(18).toString('base64url');
    mkdirSync(dirname(tokenFile), { recursive: true });
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  }
  const config = parseConfig(
    { channels: { webhook: [{ group: 'demo', trigger: 'hello', auth: { scheme: 'token', token } }] } },
    env,
  );
  return { config, source: 'development default', secrets: configSecrets(config), demoToken: token };
}

/** Every secret the config holds, the Redis URL's password included, for the log scrubber. */
function configSecrets(config: RelayConfig): Set<string> {
  const secrets = collectSecrets(config);
  try {
    const { password } = new URL(config.redis.url);
    if (password) secrets.add(password).add(decodeURIComponent(password));
  } catch {
    // The schema accepted it as redis://…; a URL the parser refuses has no password to find.
  }
  return secrets;
}

export function loadConfig(
  flag: string | undefined,
  env: Env = process.env,
  cwd = process.cwd(),
): LoadedConfig {
  const path = resolveConfigPath(flag, env, cwd);
  if (!path) return developmentConfig(cwd, env);
  if (!existsSync(path))
    throw new ConfigError([`${path}: config file not found (pass --config FILE or set RELAY_CONFIG)`]);
  return loadConfigFile(path, env);
}
