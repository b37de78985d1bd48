import { createHmac, randomUUID } from 'node:crypto';

/** The HMAC trigger every fault scenario sends to. */
export const trigger = { group: 'load', trigger: 'in', secret: 'fault-suite-secret-0123456789' };
export const triggerPath = `/webhook/${trigger.group}/${trigger.trigger}`;
export const triggerConfig = {
  group: trigger.group,
  trigger: trigger.trigger,
  auth: { scheme: 'hmac-sha256', secrets: [trigger.secret] },
};

/** A ~1 KB signed JSON request, as the bench sends. */
export function signedRequest(n: number): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ n, id: randomUUID(), pad: 'x'.repeat(900) });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-signature-256': createHmac('sha256', trigger.secret).update(body).digest('hex'),
    },
  };
}

export interface Outcome {
  /** HTTP status; 0 when no answer came within the client's limit (a hang), -1 on a socket error. */
  readonly status: number;
  readonly startedAt: number;
  readonly ms: number;
  readonly retryAfter: string | null;
  readonly ids: readonly string[];
  readonly error?: string;
}

export interface LoadOptions {
  readonly url: string;
  readonly concurrency: number;
  /** Each sender stops before its next request once this is true. */
  readonly stop: () => boolean;
  /** A request answering later than this counts as a hang; default 10 s. */
  readonly hangMs?: number;
  /** Hard cap on requests, so a scenario always ends; default 200,000. */
  readonly maxRequests?: number;
  /** Called with each outcome as it arrives. */
  readonly onOutcome?: (o: Outcome) => void;
}

/** `concurrency` senders posting signed requests back to back until `stop()`; every outcome is kept. */
export async function runLoad(options: LoadOptions): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const max = options.maxRequests ?? 200_000;
  let n = 0;
  const sender = async () => {
    while (!options.stop() && n < max) {
      const { body, headers } = signedRequest(n++);
      const outcome = await send(options.url + triggerPath, body, headers, options.hangMs ?? 10_000);
      outcomes.push(outcome);
      options.onOutcome?.(outcome);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, sender));
  return outcomes;
}

export async function send(
  url: string,
  body: string,
  headers: Record<string, string>,
  hangMs: number,
): Promise<Outcome> {
  const startedAt = Date.now();
  try {
    const res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(hangMs) });
    const text = await res.text();
    const ids =
      res.status >= 200 && res.status < 300 ? ((JSON.parse(text) as { ids: string[] }).ids ?? []) : [];
    return {
      status: res.status,
      startedAt,
      ms: Date.now() - startedAt,
      retryAfter: res.headers.get('retry-after'),
      ids,
    };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const hang = e.name === 'TimeoutError';
    return {
      status: hang ? 0 : -1,
      startedAt,
      ms: Date.now() - startedAt,
      retryAfter: null,
      ids: [],
      error: e.cause?.code ?? e.message,
    };
  }
}

/** Status code -> count, for failure messages and the report. */
export function histogram(outcomes: readonly Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.status > 0 ? String(o.status) : o.status === 0 ? 'hang' : `error:${o.error}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export const acceptedIds = (outcomes: readonly Outcome[]): string[] => outcomes.flatMap((o) => o.ids);

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
