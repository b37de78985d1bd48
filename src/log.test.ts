import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, requestLogger } from './log.js';

function capture(options: { level?: string; secrets?: string[] } = {}) {
  const lines: string[] = [];
  const log = createLogger({
    ...(options.level ? { level: options.level } : {}),
    secrets: new Set(options.secrets ?? []),
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { log, lines };
}

describe('the request logger', () => {
  it('writes to the same destination, and still scrubs every configured secret value', () => {
    const { log, lines } = capture({ secrets: ['hunter2-very-secret'] });
    requestLogger(log).info({ account: 'ci/hunter2-very-secret', status: 202 }, 'request');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'request', service: 'relay', account: 'ci/[redacted]', status: 202 });
  });

  it('keeps the level', () => {
    const { log, lines } = capture({ level: 'warn' });
    requestLogger(log).info({ status: 202 }, 'request');
    requestLogger(log).warn({ status: 503 }, 'answering 503');
    expect(lines).toHaveLength(1);
  });

  it('is the only logger without the header redaction; the relay log keeps it', () => {
    const { log, lines } = capture();
    log.info({ headers: { authorization: 'Bearer abc' } }, 'x');
    expect(lines[0]).toContain('"authorization":"[redacted]"');
    expect(requestLogger(log)).not.toBe(log);
    const other = pino({ enabled: false });
    expect(requestLogger(other)).toBe(other);
  });
});
