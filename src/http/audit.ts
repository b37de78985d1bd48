import { createHash } from 'node:crypto';
import type { Response } from 'express';
import type { Logger } from '../log.js';

/** Names a token without revealing it: the first 8 hex digits of its SHA-256. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 8);
}

/** Set by the admin router once the bearer token is accepted: who the audit lines name. */
export function setAdminActor(res: Response, token: string): void {
  res.locals.adminActor = `admin-token:${tokenFingerprint(token)}`;
}

export type AuditAction =
  | 'trigger.create'
  | 'trigger.update'
  | 'trigger.rotate'
  | 'trigger.delete'
  | 'event.replay'
  | 'events.replay';

/**
 * One log line per admin change: what (`audit`, plus ids or the filter), when (the line's time),
 * and by whom (the admin token's fingerprint). Callers pass no secret; none is ever logged.
 */
export function audit(
  log: Logger | undefined,
  res: Response,
  action: AuditAction,
  details: Record<string, unknown>,
): void {
  log?.info(
    { audit: action, by: String(res.locals.adminActor ?? 'unknown'), ...details },
    `admin: ${action}`,
  );
}
