import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  readonly level?: string;
  /** Every configured secret: scrubbed from each line before it is written. */
  readonly secrets?: ReadonlySet<string>;
  readonly destination?: DestinationStream;
}

/** Secrets shorter than this are not scrubbed: replacing every short run of characters would garble logs. */
const minScrubLength = 6;

/**
 * JSON logs (pino), asynchronous so the request path never waits on stdout. Headers that carry
 * credentials are redacted by path, and as a last line of defence every configured secret value is
 * replaced wherever it appears in a line.
 */
export function createLogger(options: LogOptions = {}): Logger {
  const secrets = [...(options.secrets ?? [])]
    .filter((s) => s.length >= minScrubLength)
    .sort((a, b) => b.length - a.length);
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false, minLength: 0 });
  const settings = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: 'relay' },
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks:
      secrets.length > 0
        ? {
            streamWrite: (line: string) => {
              let out = line;
              for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
              return out;
            },
          }
        : {},
  };
  const log = pino(
    {
      ...settings,
      redact: {
        paths: [
          'headers.authorization',
          'headers.cookie',
          'headers["x-relay-token"]',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
  unredacted.set(log, pino(settings, destination));
  return log;
}

const unredacted = new WeakMap<Logger, Logger>();

/**
 * The same log (level, destination, secret scrubbing) without the redaction paths, for the one line
 * per request, whose fields are fixed and never hold headers: redaction walked every such line and
 * cost ~8 µs of each request (docs/performance.md).
 */
export function requestLogger(log: Logger): Logger {
  return unredacted.get(log) ?? log;
}
