import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { assertStandardWebhookSecret } from '../verify/standard-webhooks.js';

/**
 * Secret fields. Each accepts one value or a list (during a rotation every listed secret is
 * accepted), or instead `<field>File: /path` (a Kubernetes secret mount, read once at start,
 * trailing newline stripped; one secret per line for a rotation). Resolved secrets are frozen
 * lists remembered here, so logs can be scrubbed of every configured secret without a second list
 * of field names.
 */
export type SecretList = readonly string[];

const secretLists = new WeakSet<SecretList>();

const oneSecret = z.string().min(1, 'must not be empty');
const secretInput = z
  .union([oneSecret, z.array(oneSecret).min(1, 'must list at least one secret')])
  .describe('a secret, or a list of secrets during a rotation');

export function secretList(value: string | readonly string[]): SecretList {
  const list = Object.freeze(typeof value === 'string' ? [value] : [...value]);
  secretLists.add(list);
  return list;
}

export function isSecretList(value: unknown): value is SecretList {
  return Array.isArray(value) && secretLists.has(value);
}

/** Every configured secret value found anywhere in `config`. */
export function collectSecrets(config: unknown, into = new Set<string>()): Set<string> {
  if (isSecretList(config)) for (const s of config) into.add(s);
  else if (Array.isArray(config)) for (const item of config) collectSecrets(item, into);
  else if (config && typeof config === 'object')
    for (const v of Object.values(config)) collectSecrets(v, into);
  return into;
}

/** The part of zod's refinement context that secret resolution needs. */
export type IssueSink = Pick<z.core.$RefinementCtx<unknown>, 'addIssue'>;

/** Reports issues under `prefix` (e.g. `credentials`), so nested fields are named by their own path. */
export function issuesUnder(ctx: IssueSink, prefix: string): IssueSink {
  return {
    addIssue: (issue) =>
      ctx.addIssue(typeof issue === 'string' ? issue : { ...issue, path: [prefix, ...(issue.path ?? [])] }),
  };
}

/** Reports each listed secret that is not a Standard Webhooks `whsec_<base64>` key, at `field`. */
export function requireStandardWebhookSecrets(
  secrets: SecretList | undefined,
  ctx: IssueSink,
  field: string,
): void {
  for (const secret of secrets ?? []) {
    try {
      assertStandardWebhookSecret(secret);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a whsec_<base64> key',
        path: [field],
        input: undefined,
      });
    }
  }
}

type FileKey<K extends string> = `${K}File`;
export type SecretShape<K extends string> = { [P in K]: z.ZodOptional<z.ZodNullable<typeof secretInput>> } & {
  [P in FileKey<K>]: z.ZodOptional<z.ZodString>;
};

/** Shape entries for secret fields: `name` and `nameFile`, both optional in the schema; `withSecrets` checks presence. */
export function secretFields<K extends string>(...names: K[]): SecretShape<K> {
  const shape: Record<string, z.ZodType> = {};
  for (const n of names) {
    // `token:` left empty in YAML (null) means not set, so `${VAR:-}` can switch a secret off.
    shape[n] = secretInput.nullish();
    shape[`${n}File`] = z.string().min(1).optional().describe(`path of a file holding ${n}`);
  }
  return shape as SecretShape<K>;
}

export type WithSecrets<T, Req extends string, Opt extends string = never> = Omit<
  T,
  Req | Opt | FileKey<Req> | FileKey<Opt>
> & { [P in Req]: SecretList } & { [P in Opt]?: SecretList };

/**
 * Resolves secret fields of a parsed object: reads `<field>File`, turns values into secret lists,
 * and reports a missing required secret or a field given twice, at the field's own path.
 */
export function resolveSecrets<
  T extends Record<string, unknown>,
  Req extends string,
  Opt extends string = never,
>(
  value: T,
  ctx: IssueSink,
  required: readonly Req[],
  optional: readonly Opt[] = [],
): WithSecrets<T, Req, Opt> {
  const out: Record<string, unknown> = { ...value };
  for (const key of [...required, ...optional] as string[]) {
    const fileKey = `${key}File`;
    const direct = (out[key] ?? undefined) as string | string[] | undefined;
    const file = out[fileKey] as string | undefined;
    delete out[fileKey];
    delete out[key];
    if (direct !== undefined && file !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `give ${key} or ${fileKey}, not both`,
        path: [fileKey],
        input: file,
      });
    } else if (file !== undefined) {
      try {
        const lines = readFileSync(file, 'utf8')
          .replace(/\r?\n$/, '')
          .split(/\r?\n/);
        if (lines.length === 0 || lines.some((l) => l === ''))
          throw Object.assign(new Error('empty'), { code: 'empty' });
        out[key] = secretList(lines);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
        ctx.addIssue({
          code: 'custom',
          message: `cannot read secret file ${file} (${code})`,
          path: [fileKey],
          input: file,
        });
      }
    } else if (direct !== undefined) {
      out[key] = secretList(direct);
    } else if ((required as readonly string[]).includes(key)) {
      ctx.addIssue({ code: 'custom', message: `required (or ${fileKey})`, path: [key], input: undefined });
    }
  }
  return out as WithSecrets<T, Req, Opt>;
}

/**
 * JSON Schema (for zod's `.meta`) saying secret `key` is given: the field itself (not null) or
 * `<key>File`. The zod side checks presence in `resolveSecrets`, which the generated JSON Schema
 * cannot see; accounts state the same rule with this so editors and `relay check` agree.
 */
export function secretGiven(key: string): Record<string, unknown> {
  return {
    anyOf: [
      { required: [key], properties: { [key]: { not: { type: 'null' } } } },
      { required: [`${key}File`] },
    ],
  };
}
