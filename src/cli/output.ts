import { ConfigError, errorMessage, RelayError } from '../errors.js';

/** A plain table: columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Errors for people: one line (a config error lists every problem), then exit 1. */
export function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`relay: invalid configuration\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
  } else if (err instanceof RelayError) {
    process.stderr.write(`relay: ${err.message}\n`);
  } else {
    process.stderr.write(`relay: ${errorMessage(err)}\n`);
  }
  process.exit(1);
}

export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
